"""URLs of the install benchmark: our views and a Bolt app's OAuth endpoints side by side."""

from django.urls import include, path

from bench import bolt_contender

urlpatterns = [
    path("slack/", include("slack_installs.urls")),
    path("bolt/install/", bolt_contender.view),
    path("bolt/oauth_redirect/", bolt_contender.view),
]
