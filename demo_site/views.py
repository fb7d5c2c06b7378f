"""The demo's home page: an "Add to Slack" button per active app, and the installs so far."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from slack_installs.conf import app_settings
from slack_installs.models import Installation, SlackApp


def home(request: HttpRequest) -> HttpResponse:
    context = {
        "apps": SlackApp.objects.filter(is_active=True),
        "installations": Installation.objects.select_related("app")[:50],
        "slack_url": app_settings.SLACK_URL,
    }
    return render(request, "home.html", context)
