from __future__ import annotations

from importlib.util import find_spec

from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.http import HttpResponse
from django.urls import include, path

from demo_site import views

urlpatterns = [
    path("", views.home, name="home"),
    # Browsers ask every site for one: no icon, and no 404 in the browser's console.
    path("favicon.ico", lambda request: HttpResponse(status=204)),
    path("sign-out/", LogoutView.as_view(next_page="home"), name="sign_out"),
    path("admin/", admin.site.urls),
    path("slack/", include("slack_installs.urls")),
]

# The Bolt for Python example (docs/bolt.md), only when slack_bolt is installed.
if find_spec("slack_bolt") is not None:
    from demo_site import bolt_app

    urlpatterns.insert(
        0, path("slack/bolt/<slug:slug>/events/", bolt_app.events, name="bolt_events")
    )
