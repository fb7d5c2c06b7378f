"""What staff paste into Slack's app config, as shown on an app's admin page."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from .buttons import install_button, sign_in_button
from .models import SlackApp
from .oauth import absolute_url, redirect_uri_for
from .signin import sign_in_redirect_uri


def admin_url(admin_site: str, name: str, *args: Any) -> str | None:
    """The URL of an admin page, or None while no such page is installed."""
    try:
        return reverse(f"{admin_site}:{name}", args=args)
    except NoReverseMatch:
        return None


def setup_context(
    request: HttpRequest, app: SlackApp, *, admin_site: str = "admin"
) -> dict[str, Any]:
    """Everything the app's change page shows above the form."""
    counts = app.installations.aggregate(
        active=Count("pk", filter=Q(revoked_at__isnull=True)),
        revoked=Count("pk", filter=Q(revoked_at__isnull=False)),
    )
    install_path = reverse("slack_installs:install", kwargs={"slug": app.slug})
    return {
        "redirect_url": redirect_uri_for(request, app),
        "redirect_overridden": bool(app.redirect_uri),
        "events_url": absolute_url(
            request, reverse("slack_installs:events", kwargs={"slug": app.slug})
        ),
        "install_url": absolute_url(request, install_path),
        # The tag renders nothing for an inactive app; say why instead of showing nothing.
        "button": install_button(app.slug) if app.is_active and app.has_credentials else None,
        # Slack must list it among the app's Redirect URLs, beside the install callback.
        "sign_in_redirect_url": sign_in_redirect_uri(request, app),
        "sign_in_url": absolute_url(
            request, reverse("slack_installs:sign_in", kwargs={"slug": app.slug})
        ),
        "sign_in_button": sign_in_button(app.slug)
        if app.is_active and app.sign_in_enabled
        else None,
        "active_installs": counts["active"],
        "revoked_installs": counts["revoked"],
        "installations_url": admin_url(admin_site, "slack_installs_installation_changelist"),
    }
