"""The demo's home page: an "Add to Slack" button per active app, the installs so far,
and who is signed in (with a "Sign in with Slack" button while nobody is)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from slack_installs.conf import app_settings
from slack_installs.models import Installation, SlackApp, SlackIdentity


def home(request: HttpRequest) -> HttpResponse:
    apps = SlackApp.objects.filter(is_active=True)
    identity = (
        SlackIdentity.objects.filter(user=request.user).first()
        if request.user.is_authenticated
        else None
    )
    context = {
        "apps": apps,
        "sign_in_apps": apps.filter(sign_in_enabled=True),
        "identity": identity,
        "installations": Installation.objects.select_related("app")[:50],
        "slack_url": app_settings.SLACK_URL,
    }
    return render(request, "home.html", context)
