"""What staff paste into Slack's app config, as shown on an app's admin page."""

from __future__ import annotations

import logging
from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest
from django.template import Context, Template, TemplateSyntaxError
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from .conf import app_settings
from .models import SlackApp
from .oauth import redirect_uri_for

logger = logging.getLogger(__name__)

ROTATION_PAGES = {
    "client_secret": "slack_installs_slackapp_rotate_client_secret",
    "signing_secret": "slack_installs_slackapp_rotate_signing_secret",
}


def absolute_url(request: HttpRequest, path: str) -> str:
    """``path`` on this site as Slack reaches it (``REDIRECT_BASE_URL`` behind a proxy)."""
    base = app_settings.REDIRECT_BASE_URL
    return f"{base}{path}" if base else request.build_absolute_uri(path)


def events_path(app: SlackApp) -> str:
    """The path of the app's events URL, also before the events view is installed."""
    try:
        return reverse("slack_installs:events", kwargs={"slug": app.slug})
    except NoReverseMatch:
        # DESIGN.md puts <slug>/events/ beside <slug>/install/, under the same include().
        install = reverse("slack_installs:install", kwargs={"slug": app.slug})
        return install.removesuffix("install/") + "events/"


def install_button(app: SlackApp) -> SafeString:
    """The "Add to Slack" button, as ``{% slack_install_button %}`` renders it.

    Falls back to a plain link while the tag library is not installed.
    """
    try:
        template = Template("{% load slack_installs %}{% slack_install_button slug %}")
    except TemplateSyntaxError:
        path = reverse("slack_installs:install", kwargs={"slug": app.slug})
        return format_html('<a class="button" href="{}">{}</a>', path, _("Add to Slack"))
    return template.render(Context({"slug": app.slug}))


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
        "events_url": absolute_url(request, events_path(app)),
        "install_url": absolute_url(request, install_path),
        # The tag renders nothing for an inactive app; say why instead of showing nothing.
        "button": install_button(app) if app.is_active else None,
        "active_installs": counts["active"],
        "revoked_installs": counts["revoked"],
        "installations_url": admin_url(admin_site, "slack_installs_installation_changelist"),
        "rotation_links": [
            (label, url)
            for label, url in (
                (
                    _("Rotate client secret"),
                    admin_url(admin_site, ROTATION_PAGES["client_secret"], app.pk),
                ),
                (
                    _("Rotate signing secret"),
                    admin_url(admin_site, ROTATION_PAGES["signing_secret"], app.pk),
                ),
            )
            if url
        ],
    }
