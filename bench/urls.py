"""URLs of the install benchmark: our views, a Bolt app's OAuth endpoints and the floor's
bare views side by side."""

from __future__ import annotations

from django.urls import include, path

from bench import bolt_contender, install_floor

urlpatterns = [
    path("slack/", include("slack_installs.urls")),
    path("bolt/install/", bolt_contender.view),
    path("bolt/oauth_redirect/", bolt_contender.view),
    path("floor/<slug:slug>/install/", install_floor.install),
    path("floor/<slug:slug>/callback/", install_floor.callback),
]
