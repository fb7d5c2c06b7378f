"""Template tags: ``{% load slack_installs %}``.

    {% slack_install_url "acme" %}                      -> /slack/acme/install/
    {% slack_install_url "acme" team="T0123" next="/thanks/" as url %}
    {% slack_install_button "acme" next=request.path %} -> the "Add to Slack" button
    {% slack_sign_in_url "acme" next="/account/" %}     -> /slack/acme/sign-in/?next=...
    {% slack_sign_in_button "acme" %}                   -> the "Sign in with Slack" button

An unknown or inactive app (for the sign-in tags, one without sign-in) renders nothing
and logs a warning. No ``request`` needed.
"""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from slack_installs import buttons

register = template.Library()


@register.simple_tag
def slack_install_url(slug: object, team: str | None = None, next: str | None = None) -> str:  # noqa: A002
    """The install URL of a Slack app (escaped on output like any variable)."""
    return buttons.install_url(slug, team=team, next=next)


@register.simple_tag
def slack_install_button(
    slug: object,
    team: str | None = None,
    next: str | None = None,  # noqa: A002
) -> SafeString:
    """Slack's "Add to Slack" button, linking to this site's install view."""
    return buttons.install_button(slug, team=team, next=next)


@register.simple_tag
def slack_sign_in_url(slug: object, team: str | None = None, next: str | None = None) -> str:  # noqa: A002
    """The Sign in with Slack URL of a Slack app (escaped on output like any variable)."""
    return buttons.sign_in_url(slug, team=team, next=next)


@register.simple_tag
def slack_sign_in_button(
    slug: object,
    team: str | None = None,
    next: str | None = None,  # noqa: A002
) -> SafeString:
    """Slack's "Sign in with Slack" button, linking to this site's sign-in view."""
    return buttons.sign_in_button(slug, team=team, next=next)
