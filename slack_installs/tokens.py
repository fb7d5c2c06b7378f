"""Tokens for code that talks to Slack on behalf of an installation."""

from __future__ import annotations

from django.db.models import Q

from .exceptions import InstallationNotFound, InstallationRevoked
from .models import Installation, SlackApp


def _installations_of(app: SlackApp | str):
    if isinstance(app, SlackApp):
        return Installation.objects.filter(app=app)
    return Installation.objects.filter(app__slug=app)


def find_installation(
    app: SlackApp | str, *, team_id: str | None = None, enterprise_id: str | None = None
) -> Installation:
    """The installation serving a workspace (or org): its own, else its org's org-wide one."""
    if not team_id and not enterprise_id:
        raise ValueError("give team_id, enterprise_id or both")
    queryset = _installations_of(app)
    match = Q()
    if team_id:
        workspace = Q(team_id=team_id)
        if enterprise_id:
            workspace &= Q(enterprise_id=enterprise_id)
        match |= workspace
    if enterprise_id:
        match |= Q(enterprise_id=enterprise_id, team_id="")
    # A workspace's own install wins over its org's org-wide install.
    candidates = sorted(queryset.filter(match)[:2], key=lambda row: row.team_id == "")
    if not candidates:
        raise InstallationNotFound(
            f"no installation of {getattr(app, 'slug', app)!r} for "
            f"team {team_id or '-'} / enterprise {enterprise_id or '-'}"
        )
    return candidates[0]


def get_bot_token(
    app: SlackApp | str, *, team_id: str | None = None, enterprise_id: str | None = None
) -> str:
    """Return the plaintext bot token for a workspace or org."""
    installation = find_installation(app, team_id=team_id, enterprise_id=enterprise_id)
    token = None if installation.revoked_at is not None else installation.bot_token
    if not token:
        raise InstallationRevoked(f"the installation {installation.pk} has no active bot token")
    return token
