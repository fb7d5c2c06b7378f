"""Links that start an install or a sign-in: their URLs and Slack's buttons.

They point at this site's install or sign-in view (never at Slack), which starts an
attempt and then redirects to Slack. An unknown or inactive app, or one without its client
id and secret yet, gives nothing and a warning in the log, never an exception, so a page
never breaks over a button.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from .models import SlackApp

logger = logging.getLogger(__name__)

# The whole button is one SVG: its look lives in SVG attributes, not in a style
# attribute, so pages under a strict Content-Security-Policy show it unchanged.
# Slack's four-colour mark is drawn as a pinwheel of rounded bars and dots.
SLACK_MARK_SVG = mark_safe(  # noqa: S308 (a constant, nothing interpolated)
    '<svg x="14" y="12" width="20" height="20" viewBox="0 0 24 24">'
    '<rect x="1" y="7" width="10" height="4" rx="2" fill="#36C5F0"/>'
    '<circle cx="9" cy="3" r="2" fill="#36C5F0"/>'
    '<rect x="13" y="1" width="4" height="10" rx="2" fill="#2EB67D"/>'
    '<circle cx="21" cy="9" r="2" fill="#2EB67D"/>'
    '<rect x="13" y="13" width="10" height="4" rx="2" fill="#ECB22E"/>'
    '<circle cx="15" cy="21" r="2" fill="#ECB22E"/>'
    '<rect x="7" y="13" width="4" height="10" rx="2" fill="#E01E5A"/>'
    '<circle cx="3" cy="15" r="2" fill="#E01E5A"/>'
    "</svg>"
)


def button_svg(label: str, width: int) -> SafeString:
    """Slack's white button with its mark and ``label``, ``width`` pixels wide, as one SVG."""
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} 44" width="{width}" '
        'height="44" aria-hidden="true" focusable="false">'
        '<rect x="0.5" y="0.5" width="{inner}" height="43" rx="4" fill="#fff" stroke="#ddd"/>'
        "{mark}"
        '<text x="44" y="28" font-family="Lato, system-ui, sans-serif" font-size="16" '
        'font-weight="600" fill="#1d1c1d">{label}</text>'
        "</svg>",
        width=width,
        inner=width - 1,
        mark=SLACK_MARK_SVG,
        label=label,
    )


BUTTON_SVG = button_svg("Add to Slack", 172)
SIGN_IN_BUTTON_SVG = button_svg("Sign in with Slack", 222)


def install_url(slug: object, *, team: str | None = None, next: str | None = None) -> str:  # noqa: A002
    """The path of the install view of the active app ``slug``, or ``""`` (and a warning).

    ``team`` (a workspace id to pre-select on Slack) and ``next`` (a local URL to come
    back to) are added as query parameters when given.
    """
    app = _active_app(slug)
    return "" if app is None else _url_of(app, team=team, next=next)


def install_button(
    slug: object,
    *,
    team: str | None = None,
    next: str | None = None,  # noqa: A002
) -> SafeString:
    """Slack's "Add to Slack" button for the active app ``slug``, or ``""`` (and a warning)."""
    app = _active_app(slug)
    url = "" if app is None else _url_of(app, team=team, next=next)
    if app is None or not url:
        return SafeString("")
    return format_html(
        '<a class="slack-install-button" href="{}" title="Install {} in a Slack workspace" '
        'aria-label="Add to Slack">{}</a>',
        url,
        app.name,
        BUTTON_SVG,
    )


def _url_of(
    app: SlackApp,
    *,
    team: object,
    next: object,  # noqa: A002
    view: str = "install",
) -> str:
    try:
        path = reverse(f"slack_installs:{view}", kwargs={"slug": app.slug})
    except NoReverseMatch:
        logger.warning(
            "Cannot link to the %s of Slack app %r: include slack_installs.urls in your URLconf",
            view.replace("_", " "),
            app.slug,
        )
        return ""
    query = {key: str(value) for key, value in (("team", team), ("next", next)) if value}
    return f"{path}?{urlencode(query)}" if query else path


def _active_app(slug: object) -> SlackApp | None:
    if not isinstance(slug, str) or not slug:
        logger.warning(
            "A link to an install or a sign-in needs the slug of a Slack app, got %r", slug
        )
        return None
    app = SlackApp.objects.filter(slug=slug, is_active=True).first()
    if app is None:
        logger.warning("No active Slack app with slug %r: its link is left out", slug)
    elif not app.has_credentials:
        logger.warning("Slack app %r has no client id and secret yet: its link is left out", slug)
        return None
    return app


# --- Sign in with Slack ----------------------------------------------------------------


def sign_in_url(slug: object, *, team: str | None = None, next: str | None = None) -> str:  # noqa: A002
    """The path of the sign-in view of ``slug``, or ``""`` for an app without sign-in.

    ``team`` pre-selects a workspace on Slack; ``next`` is a local URL to land on.
    """
    app = _sign_in_app(slug)
    return "" if app is None else _url_of(app, team=team, next=next, view="sign_in")


def sign_in_button(
    slug: object,
    *,
    team: str | None = None,
    next: str | None = None,  # noqa: A002
) -> SafeString:
    """Slack's "Sign in with Slack" button for ``slug``, or ``""`` for an app without sign-in."""
    url = sign_in_url(slug, team=team, next=next)
    if not url:
        return SafeString("")
    return format_html(
        '<a class="slack-sign-in-button" href="{}" aria-label="Sign in with Slack">{}</a>',
        url,
        SIGN_IN_BUTTON_SVG,
    )


def _sign_in_app(slug: object) -> SlackApp | None:
    app = _active_app(slug)
    if app is not None and not app.sign_in_enabled:
        logger.warning("Slack app %r does not sign anyone in: the sign-in link is left out", slug)
        return None
    return app
