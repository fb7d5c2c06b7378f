"""Slack's Events API: request signatures, ``url_verification``, uninstalls, revoked tokens,
and the workspaces an org-wide install reaches (``team_access_granted`` / ``_revoked``).

Slack signs each delivery with the app's signing secret: ``v0=`` + hex HMAC-SHA256
of ``v0:<timestamp>:<raw body>``. Slack retries a delivery it got no 200 for, with the
same ``event_id``: a retry of an event handled within the hour is acknowledged and not
run again, and every outcome here is idempotent besides.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
import re
import time
from typing import Any

from django.db import IntegrityError, router, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from . import secrets
from .exceptions import DecryptionError
from .models import (
    SLACK_ID,
    HandledEvent,
    Installation,
    InstallationEvent,
    OAuthAttempt,
    SlackApp,
    UserToken,
    WorkspaceAccess,
    slack_id_shape,
)
from .revocation import revoke_installation, wipe_user_tokens
from .signals import installation_revoked, slack_event_received

logger = logging.getLogger(__name__)

MAX_CLOCK_SKEW = 300  # seconds; Slack's advice against replayed requests
SIGNATURE_VERSION = "v0"
# Unix seconds in ASCII digits (ten until the year 2286). Anything longer is no timestamp,
# and converting it could raise: past 4,300 digits int() refuses, past 308 float() does.
TIMESTAMP = re.compile(r"[0-9]{1,12}")
EVENT_ID = slack_id_shape("Ev")
TEAM_ACCESS_EVENTS = frozenset({"team_access_granted", "team_access_revoked"})


class MalformedEvent(ValueError):
    """A signed body that is not the JSON object Slack sends."""


@sensitive_variables()  # tokens and secrets stay out of error reports
def signature_for(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Slack-Signature`` value Slack sends for ``body`` at ``timestamp``."""
    message = f"{SIGNATURE_VERSION}:{timestamp}:".encode() + body
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


@sensitive_variables()  # tokens and secrets stay out of error reports
def verify_request(
    app: SlackApp,
    *,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    now: float | None = None,
) -> bool:
    """Tell whether a delivery is signed by the app's signing secret (or the previous one
    within its grace period) and was sent within ``MAX_CLOCK_SKEW`` seconds of now."""
    if not timestamp or not signature or not TIMESTAMP.fullmatch(timestamp):
        return False
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > MAX_CLOCK_SKEW:
        logger.warning("Slack event for %r refused: timestamp too far from now", app.slug)
        return False
    try:
        candidates = secrets.signing_secrets(app, now=_aware(now))
    except DecryptionError as exc:
        logger.error(
            "Slack event for %r refused: its signing secret is unreadable (%s)", app.slug, exc
        )
        return False
    if not candidates:
        logger.warning("Slack event for %r refused: the app has no signing secret", app.slug)
        return False
    given = signature.encode("utf-8", "replace")
    # Every candidate is compared, so the timing says nothing about which one matched.
    matched = False
    for secret in candidates:
        expected = signature_for(secret, timestamp, body).encode("ascii")
        matched |= hmac.compare_digest(expected, given)
    if not matched:
        logger.warning("Slack event for %r refused: bad signature", app.slug)
    return matched


def _aware(epoch: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC)


def parse(body: bytes) -> dict[str, Any]:
    """Decode a signed body; raise ``MalformedEvent`` unless it is a JSON object."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedEvent("the body is not JSON") from None
    except RecursionError:
        # Nesting deeper than the interpreter's recursion limit: no event looks like that.
        raise MalformedEvent("the body is nested too deeply") from None
    if not isinstance(payload, dict):
        raise MalformedEvent("the body is not a JSON object")
    return payload


def _slack_id(value: Any) -> str:
    """A Slack id (team, enterprise, user), or "" for anything else, which is never queried."""
    # fullmatch: the pattern's "$" would also let a trailing newline through.
    return value if isinstance(value, str) and SLACK_ID.fullmatch(value) else ""


def _ids(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [item for item in (_slack_id(entry) for entry in value) if item]


def _workspace_of(payload: dict[str, Any]) -> tuple[str, str, bool]:
    """``(team_id, enterprise_id, org_wide)`` of the installation a delivery is for."""
    authorizations = payload.get("authorizations")
    first = authorizations[0] if isinstance(authorizations, list) and authorizations else None
    authorization = first if isinstance(first, dict) else {}
    team_id = _slack_id(authorization.get("team_id")) or _slack_id(payload.get("team_id"))
    enterprise_id = _slack_id(authorization.get("enterprise_id")) or _slack_id(
        payload.get("enterprise_id")
    )
    org_wide = authorization.get(
        "is_enterprise_install", payload.get("is_enterprise_install", False)
    )
    return team_id, enterprise_id, org_wide is True


def installation_of(app: SlackApp, payload: dict[str, Any]) -> Installation | None:
    """The installation a delivery is about, org-wide installs included, or ``None``."""
    team_id, enterprise_id, org_wide = _workspace_of(payload)
    if org_wide:
        if not enterprise_id:
            return None
        return Installation.objects.filter(app=app, enterprise_id=enterprise_id, team_id="").first()
    if not team_id:
        return None
    # Team ids are unique across Slack, so the workspace alone names the row.
    return Installation.objects.filter(app=app, team_id=team_id).first()


def org_installation_of(app: SlackApp, payload: dict[str, Any]) -> Installation | None:
    """The org-wide installation a ``team_access_*`` delivery is about, or ``None``.

    Only org-wide installs get these events, but their authorization may name a workspace
    and say ``is_enterprise_install: false`` (bolt-js#1778), and Slack's documented
    example nests the org's id in the event: the org's id is taken wherever it is.
    """
    event = payload.get("event")
    _team_id, enterprise_id, _org_wide = _workspace_of(payload)
    enterprise_id = enterprise_id or _slack_id(
        event.get("enterprise_id") if isinstance(event, dict) else None
    )
    if not enterprise_id:
        return None
    return Installation.objects.filter(app=app, enterprise_id=enterprise_id, team_id="").first()


def _event_moment(payload: dict[str, Any]) -> datetime.datetime:
    """When Slack says the event happened (``event_time``), else now."""
    event_time = payload.get("event_time")
    if isinstance(event_time, int) and not isinstance(event_time, bool):
        try:
            return _aware(event_time)
        except (OverflowError, OSError, ValueError):
            pass
    return timezone.now()


def record_team_access(
    installation: Installation, team_ids: Any, *, granted: bool, at: datetime.datetime
) -> list[str]:
    """Apply ``team_access_granted`` (``granted``) or ``team_access_revoked`` at ``at``.

    A workspace's row changes only when ``at`` is newer than both of its times, so a
    retried or late delivery never undoes a newer event; at the same second (``event_time``
    is whole seconds) a revocation wins over a grant, whatever order they came in.
    Returns the team ids whose row changed.
    """
    changed = []
    for team_id in dict.fromkeys(_ids(team_ids)):
        rows = WorkspaceAccess.objects.filter(installation=installation, team_id=team_id)
        newer = (
            Q(granted_at__isnull=True) | Q(**{f"granted_at__{'lt' if granted else 'lte'}": at})
        ) & (Q(revoked_at__isnull=True) | Q(revoked_at__lt=at))
        fields: dict[str, Any] = (
            {"granted_at": at, "revoked_at": None} if granted else {"revoked_at": at}
        )
        if rows.filter(newer).update(**fields):
            changed.append(team_id)
            continue
        if rows.exists():
            continue  # it holds a newer event
        try:
            with transaction.atomic(using=router.db_for_write(WorkspaceAccess)):
                WorkspaceAccess.objects.create(
                    installation=installation,
                    team_id=team_id,
                    granted_at=at if granted else None,
                    revoked_at=None if granted else at,
                )
            changed.append(team_id)
        except IntegrityError:
            # A concurrent delivery created the row meanwhile: apply ours on top, if newer.
            if rows.filter(newer).update(**fields):
                changed.append(team_id)
    return changed


def _serving(app: SlackApp, payload: dict[str, Any]) -> QuerySet[Installation]:
    """Installations whose tokens a ``tokens_revoked`` delivery may name."""
    team_id, enterprise_id, org_wide = _workspace_of(payload)
    match = Q(pk__in=[])
    if team_id and not org_wide:
        match |= Q(team_id=team_id)
    if enterprise_id:
        match |= Q(enterprise_id=enterprise_id, team_id="")
    return Installation.objects.filter(match, app=app)


def _installed_again_since(installation: Installation, payload: dict[str, Any]) -> bool:
    """Tell whether the app was installed again after Slack sent this (late or retried) event.

    ``event_time`` is whole seconds, truncated: an event sent in the second an install
    finished may well be about that install. Only an install finished a whole second or
    more after ``event_time`` is surely newer.
    """
    event_time = payload.get("event_time")
    if not isinstance(event_time, int) or isinstance(event_time, bool):
        return False
    try:
        newer_from = _aware(event_time + 1)
    except (OverflowError, OSError, ValueError):
        return False  # a time no datetime can hold says no more than a missing one
    return OAuthAttempt.objects.filter(
        installation=installation,
        status=OAuthAttempt.Status.SUCCEEDED,
        finished_at__gte=newer_from,
    ).exists()


def wipe_revoked_tokens(app: SlackApp, payload: dict[str, Any], tokens: Any) -> None:
    """Wipe exactly the tokens a ``tokens_revoked`` event lists (it lists user ids)."""
    tokens = tokens if isinstance(tokens, dict) else {}
    bot_user_ids, user_ids = _ids(tokens.get("bot")), _ids(tokens.get("oauth"))
    installations = [
        row for row in _serving(app, payload) if not _installed_again_since(row, payload)
    ]
    now = timezone.now()
    lost_bot: list[Installation] = []
    with transaction.atomic(using=router.db_for_write(Installation)):
        for installation in installations:
            if installation.bot_user_id and installation.bot_user_id in bot_user_ids:
                wiped = Installation.objects.filter(
                    pk=installation.pk, bot_token__isnull=False
                ).update(
                    bot_token=None,
                    bot_refresh_token=None,
                    bot_token_expires_at=None,
                    updated_at=now,
                )
                if wiped:
                    lost_bot.append(installation)
                    # Without its bot token the installation serves no one: a revocation,
                    # unless it was revoked already (and its history says so).
                    if installation.revoked_at is None:
                        InstallationEvent.record(
                            installation, InstallationEvent.Kind.REVOKED, at=now
                        )
        if user_ids:
            wipe_user_tokens(
                UserToken.objects.filter(
                    installation__in=[row.pk for row in installations], slack_user_id__in=user_ids
                ),
                now,
            )
    for installation in lost_bot:
        installation.refresh_from_db()
        installation_revoked.send(
            sender=Installation, app=app, installation=installation, reason="tokens_revoked"
        )


def handle(app: SlackApp, payload: dict[str, Any]) -> dict[str, Any] | None:
    """Act on one verified delivery; return the JSON to answer with, if any.

    ``slack_event_received`` is sent once per event, after the library's own work. A
    delivery of an ``event_id`` handled within the hour (Slack's retry) does nothing.
    The ``event_id`` is marked handled in the transaction of that work, so a failure
    (a receiver that raised: a 500, and Slack retries) leaves it unmarked.
    """
    event_id = payload.get("event_id")
    if not isinstance(event_id, str) or not EVENT_ID.fullmatch(event_id):
        return _act(app, payload)
    with transaction.atomic(using=router.db_for_write(HandledEvent)):
        if not _first_handling(app, event_id):
            logger.info("Slack event %s for %r was handled already", event_id, app.slug)
            return None
        return _act(app, payload)


def _first_handling(app: SlackApp, event_id: str) -> bool:
    """Mark ``event_id`` handled now; False when it was handled within the hour.

    The insert comes first: a concurrent delivery of the same event waits on its unique
    key until this transaction ends, then finds the row, or inserts its own if the
    handling failed and rolled back.
    """
    now = timezone.now()
    stale_from = now - HandledEvent.RETRIES_WITHIN
    try:
        with transaction.atomic(using=router.db_for_write(HandledEvent)):
            HandledEvent.objects.create(app=app, event_id=event_id, handled_at=now)
    except IntegrityError:
        # Handled before. Over an hour ago it is not a retry: the row only awaits the cleanup.
        return bool(
            HandledEvent.objects.filter(
                app=app, event_id=event_id, handled_at__lte=stale_from
            ).update(handled_at=now)
        )
    return True


def _act(app: SlackApp, payload: dict[str, Any]) -> dict[str, Any] | None:
    """The library's own work for one delivery, then ``slack_event_received``."""
    answer = None
    installation = None
    kind = payload.get("type")
    if kind == "url_verification":
        challenge = payload.get("challenge")
        if not isinstance(challenge, str) or not challenge:
            raise MalformedEvent("url_verification without a challenge")
        answer = {"challenge": challenge}
    elif kind == "event_callback":
        event = payload.get("event")
        event = event if isinstance(event, dict) else {}
        event_type = event.get("type")
        team_access = isinstance(event_type, str) and event_type in TEAM_ACCESS_EVENTS
        installation = (
            org_installation_of(app, payload) if team_access else installation_of(app, payload)
        )
        if team_access:
            if installation is None:
                logger.info("Slack app %r: %s for no org-wide install", app.slug, event_type)
            else:
                record_team_access(
                    installation,
                    event.get("team_ids"),
                    granted=event_type == "team_access_granted",
                    at=_event_moment(payload),
                )
        elif event_type == "app_uninstalled" and installation is not None:
            if not _installed_again_since(installation, payload):
                revoke_installation(installation, reason="app_uninstalled", call_slack=False)
        elif event_type == "tokens_revoked":
            wipe_revoked_tokens(app, payload, event.get("tokens"))
            if installation is not None:
                installation.refresh_from_db()
    slack_event_received.send(sender=SlackApp, app=app, payload=payload, installation=installation)
    return answer
