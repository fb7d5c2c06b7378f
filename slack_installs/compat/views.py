"""django-slack-oauth's views, served by the Slack app with slug ``default``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from slack_installs import views
from slack_installs.models import SlackApp

from .settings_import import DEFAULT_SLUG


# It may be the callback: exempt from ATOMIC_REQUESTS as that view is (see views.callback).
@views._non_atomic_everywhere
@require_GET
def slack_auth(request: HttpRequest) -> HttpResponse:
    """Start an install of ``default``; also take Slack's redirect back, so a Slack app
    whose Redirect URL still points at the old ``slack_auth`` URL keeps working."""
    if "state" in request.GET and ("code" in request.GET or "error" in request.GET):
        return views.callback(request, slug=DEFAULT_SLUG)
    return views.install(request, slug=DEFAULT_SLUG)


def _default_app() -> SlackApp | None:
    return SlackApp.objects.filter(slug=DEFAULT_SLUG).first()


@require_GET
def slack_success(request: HttpRequest) -> HttpResponse:
    context = {"slack_app": _default_app()}
    return render(request, "slack_installs/install_success.html", context)


@require_GET
def slack_error(request: HttpRequest) -> HttpResponse:
    code = request.GET.get("error", "")
    return views.render_error(request, code, app=_default_app(), status=200)
