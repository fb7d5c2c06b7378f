"""Revoking an installation: tell Slack the tokens are dead, then forget them.

Used by the admin's "revoke" action and by the events endpoint (``app_uninstalled``).
A token is wiped locally only when it is known to be dead: Slack's ``auth.revoke``
said ok, or answered that the token is already invalid. Any other failure (a
timeout, Slack being down, a rate limit) keeps the token, so the installation
does not look revoked while its token still works at Slack; the caller reports
the failure and can try again.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Model, QuerySet
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from . import client, crypto
from .exceptions import DecryptionError, SlackAPIError
from .fields import Ciphertext, has_stored_value
from .models import Installation, InstallationEvent, UserToken
from .signals import installation_revoked

logger = logging.getLogger(__name__)

# Answers of auth.revoke meaning the token no longer works, so there is nothing left to revoke.
DEAD_TOKEN_ERRORS = frozenset(
    {"invalid_auth", "token_revoked", "token_expired", "account_inactive", "not_authed"}
)


@dataclass
class RevocationResult:
    """What ``revoke_installation`` did; ``errors`` maps a token's name to Slack's error code."""

    installation: Installation
    revoked: bool = False
    already_revoked: bool = False
    reinstalled: bool = False
    errors: dict[str, str] = field(default_factory=dict)


@sensitive_variables()  # tokens and secrets stay out of error reports
def _revoke_at_slack(instance: Model, attname: str) -> str:
    """Revoke the token stored in ``attname`` at Slack.

    Return "" when the token is dead at Slack (or there is none), else why it is not:
    Slack's error code, or "undecryptable" when no configured key reads it (it cannot be
    sent to Slack, so it is not known to be dead: the key must come back first).
    """
    if not has_stored_value(instance, attname):
        return ""
    try:
        token = getattr(instance, attname)
    except DecryptionError as exc:
        logger.warning("Revoking %s of %s: %s", attname, instance._meta.model_name, exc)
        return "undecryptable"
    try:
        client.auth_revoke(token)
    except SlackAPIError as exc:
        return "" if exc.code in DEAD_TOKEN_ERRORS else exc.code
    return ""


@sensitive_variables()  # tokens and secrets stay out of error reports
def _same_value(stored: str | None, held: str | None) -> bool:
    """Whether the column still holds the value we read (``held`` may be plaintext)."""
    if stored is None or held is None or isinstance(held, Ciphertext):
        return stored == held
    try:
        return crypto.decrypt(stored) == held
    except DecryptionError:
        return False


def _event_kind(reason: str) -> str:
    """The history's name for a revocation: Slack's ``app_uninstalled`` is an uninstall, the
    rest (staff, the health check) a revocation."""
    if reason == "app_uninstalled":
        return InstallationEvent.Kind.UNINSTALLED
    return InstallationEvent.Kind.REVOKED


def _is_revoked(installation: Installation, user_tokens: list[UserToken]) -> bool:
    return (
        installation.revoked_at is not None
        and installation.__dict__.get("bot_token") is None
        and not any(token.__dict__.get("access_token") for token in user_tokens)
    )


@sensitive_variables()  # tokens and secrets stay out of error reports
def revoke_installation(
    installation: Installation, *, reason: str, call_slack: bool = True
) -> RevocationResult:
    """Revoke the bot token and the user tokens of ``installation``.

    With ``call_slack`` (the admin), each token is sent to ``auth.revoke`` first and
    wiped only once Slack confirms it is dead. Without it (Slack told us the app was
    uninstalled), everything is wiped at once. Once no token is left alive the
    installation gets ``revoked_at``, loses its webhook URL, and
    ``installation_revoked`` is sent with ``reason``.
    """
    result = RevocationResult(installation=installation)
    user_tokens = list(
        UserToken.objects.filter(installation=installation, revoked_at__isnull=True).order_by("pk")
    )
    if _is_revoked(installation, user_tokens):
        result.already_revoked = True
        return result

    # Slack is called before the transaction: no row lock is held while waiting for it.
    dead_user_tokens = user_tokens
    if call_slack:
        if error := _revoke_at_slack(installation, "bot_token"):
            result.errors["bot token"] = error
        dead_user_tokens = []
        for user_token in user_tokens:
            if error := _revoke_at_slack(user_token, "access_token"):
                result.errors[f"user token of {user_token.slack_user_id}"] = error
            else:
                dead_user_tokens.append(user_token)

    now = timezone.now()
    with transaction.atomic():
        locked = Installation.objects.select_for_update().get(pk=installation.pk)
        # A re-install while Slack was being called brought new tokens: leave those alone.
        if not _same_value(
            locked.__dict__.get("bot_token"), installation.__dict__.get("bot_token")
        ):
            result.reinstalled = True
        else:
            wiped = _wipe(
                locked,
                dead_user_tokens,
                bot_dead="bot token" not in result.errors,
                revoke=not result.errors,
                now=now,
            )
            # Not refresh_from_db(): it would decrypt every token into the instance.
            installation.__dict__.update(wiped)
            result.revoked = not result.errors
            if result.revoked and locked.revoked_at is None:
                InstallationEvent.record(installation, _event_kind(reason), at=now)

    if result.revoked:
        logger.info("Installation %s of %s revoked (%s)", installation.pk, installation.app, reason)
        installation_revoked.send(
            sender=Installation, app=installation.app, installation=installation, reason=reason
        )
    elif result.errors:
        logger.warning(
            "Installation %s of %s not revoked: Slack answered %s",
            installation.pk,
            installation.app,
            ", ".join(f"{name}: {code}" for name, code in result.errors.items()),
        )
    return result


def wipe_user_tokens(user_tokens: QuerySet[UserToken], now: datetime.datetime) -> None:
    """Forget these user tokens and mark them revoked (keeping an earlier revocation time)."""
    user_tokens.filter(revoked_at__isnull=True).update(revoked_at=now)
    user_tokens.update(access_token=None, refresh_token=None, expires_at=None, updated_at=now)


def _wipe(
    locked: Installation,
    dead_user_tokens: list[UserToken],
    *,
    bot_dead: bool,
    revoke: bool,
    now: datetime.datetime,
) -> dict[str, object]:
    """Forget the dead tokens; call holding the installation's row lock. Return what changed."""
    seen = {token.pk: token.__dict__.get("access_token") for token in dead_user_tokens}
    unchanged = [
        token.pk
        for token in UserToken.objects.select_for_update().filter(pk__in=seen)
        if token.__dict__.get("access_token") == seen[token.pk]
    ]
    wipe_user_tokens(UserToken.objects.filter(pk__in=unchanged), now)
    fields: dict[str, object] = {}
    if bot_dead:
        fields.update(bot_token=None, bot_refresh_token=None, bot_token_expires_at=None)
    if revoke:
        fields.update(incoming_webhook_url=None, revoked_at=locked.revoked_at or now)
    if fields:
        fields["updated_at"] = now
        Installation.objects.filter(pk=locked.pk).update(**fields)
    return fields
