"""The demo's URLconf plus django-slack-oauth's URL names, as a migrated project has them."""

from __future__ import annotations

from django.urls import include, path

from demo_site.urls import urlpatterns as demo_urlpatterns

urlpatterns = [*demo_urlpatterns, path("slack/", include("slack_installs.compat.urls"))]
