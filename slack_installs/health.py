"""Health checks against Slack: is each active installation's bot token still alive?

``check_installations`` calls ``auth.test`` with the bot token of every active install
(the ``slack_installs_check_installs`` command and the admin's "Check with Slack"
action call it). Slack's answer decides:

* ``ok`` — alive: ``Installation.checked_at`` is set;
* ``invalid_auth``, ``token_revoked``, ``account_inactive`` — dead: the installation is
  revoked (``revocation.revoke_installation``, ``reason="health_check"``) and
  ``checked_at`` set;
* anything else (a 429, a 5xx, a timeout, ``ratelimited``, ``token_expired``) decides
  nothing: the install is skipped and left as it was. A 429 is retried after its
  ``Retry-After``, when that is no longer than ``max_wait``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from . import client, tokens
from .exceptions import DecryptionError, SlackAPIError, TokenRefreshError
from .fields import has_stored_value
from .models import Installation, SlackApp
from .revocation import revoke_installation

logger = logging.getLogger(__name__)

# auth.test's answers meaning the bot token is dead for good.
DEAD_ERRORS = frozenset({"invalid_auth", "token_revoked", "account_inactive"})
MAX_WAIT = client.MAX_RETRY_WAIT  # seconds the command waits at most for one Retry-After
BATCH_SIZE = 500

ALIVE, REVOKED, SKIPPED = "alive", "revoked", "skipped"


@dataclass(frozen=True)
class CheckOutcome:
    """What the check of one installation found.

    ``result`` is ``"alive"``, ``"revoked"`` (in a dry run: would be revoked) or
    ``"skipped"``; ``error`` is Slack's code, or why the install was not called.
    """

    installation_id: int
    label: str
    result: str
    error: str = ""


@dataclass
class CheckSummary:
    """Counts of one run: ``checked`` = ``alive`` + ``revoked`` + ``skipped``."""

    checked: int = 0
    alive: int = 0
    revoked: int = 0
    skipped: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # skipped, by reason

    def add(self, outcome: CheckOutcome) -> None:
        self.checked += 1
        if outcome.result == ALIVE:
            self.alive += 1
        elif outcome.result == REVOKED:
            self.revoked += 1
        else:
            self.skipped += 1
            self.errors[outcome.error] = self.errors.get(outcome.error, 0) + 1


def installations_to_check(
    installations: QuerySet[Installation] | None = None, *, app: SlackApp | str | None = None
) -> QuerySet[Installation]:
    """The active installations a check calls Slack for (of ``app``, or of all apps)."""
    rows = Installation.objects.all() if installations is None else installations
    if app is not None:
        rows = rows.filter(Q(app=app) if isinstance(app, SlackApp) else Q(app__slug=app))
    return rows.filter(revoked_at__isnull=True)


def check_installations(
    installations: QuerySet[Installation] | None = None,
    *,
    app: SlackApp | str | None = None,
    dry_run: bool = False,
    max_wait: float = MAX_WAIT,
    on_outcome: Callable[[CheckOutcome], None] | None = None,
    sleep: Callable[[float], object] | None = None,
    batch_size: int = BATCH_SIZE,
) -> CheckSummary:
    """Check every active installation (of ``installations``, of ``app``) with Slack.

    ``dry_run`` calls ``auth.test`` but changes nothing: no ``checked_at``, no revocation,
    no token refresh. A 429's ``Retry-After`` is waited out with ``sleep`` (``time.sleep``)
    when it is at most ``max_wait`` seconds. Installations are read ``batch_size`` at a
    time, in primary-key order, so memory stays flat however many there are. One failure
    never stops the run; ``on_outcome`` hears of each installation.
    """
    rows = installations_to_check(installations, app=app).select_related("app").order_by("pk")
    summary = CheckSummary()
    after = 0
    while True:
        batch = list(rows.filter(pk__gt=after)[:batch_size])
        for installation in batch:
            outcome = check_installation(
                installation, dry_run=dry_run, max_wait=max_wait, sleep=sleep
            )
            summary.add(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
        if len(batch) < batch_size:
            return summary
        after = batch[-1].pk


def _label(installation: Installation) -> str:
    return f"{installation} ({installation.app.slug}, #{installation.pk})"


@sensitive_variables()  # tokens and secrets stay out of error reports
def check_installation(
    installation: Installation,
    *,
    dry_run: bool = False,
    max_wait: float = MAX_WAIT,
    sleep: Callable[[float], object] | None = None,
) -> CheckOutcome:
    """Ask ``auth.test`` about one installation's bot token and act on the answer."""
    label = _label(installation)

    def outcome(result: str, error: str = "") -> CheckOutcome:
        return CheckOutcome(installation.pk, label, result, error)

    if installation.revoked_at is not None:
        return outcome(SKIPPED, "already_revoked")
    if not has_stored_value(installation, "bot_token"):
        return outcome(SKIPPED, "no_bot_token")
    try:
        installation = _with_fresh_token(installation, dry_run=dry_run)
        token = installation.bot_token
    except DecryptionError:
        return outcome(SKIPPED, "undecryptable")
    except TokenRefreshError as exc:
        return outcome(SKIPPED, getattr(exc.__cause__, "code", "") or "refresh_refused")
    except SlackAPIError as exc:
        return outcome(SKIPPED, exc.code)

    retries = 0
    while True:
        try:
            client.auth_test(token)
        except SlackAPIError as exc:
            if exc.code in DEAD_ERRORS:
                return _dead(installation, exc.code, dry_run=dry_run, outcome=outcome)
            wait = client.wait_to_retry(exc, retries=retries, max_wait=max_wait)
            if wait is not None:
                retries += 1
                (time.sleep if sleep is None else sleep)(wait)  # as Slack said: not earlier
                continue
            logger.info("Health check of installation %s skipped: %s", installation.pk, exc)
            return outcome(SKIPPED, exc.code)
        break
    if not dry_run:
        Installation.objects.filter(pk=installation.pk).update(checked_at=timezone.now())
    return outcome(ALIVE)


@sensitive_variables()  # tokens and secrets stay out of error reports
def _with_fresh_token(installation: Installation, *, dry_run: bool) -> Installation:
    """The installation with a usable bot token: a rotating one that is due is refreshed
    first (not in a dry run, nor once Slack refused a refresh), as ``get_bot_token`` does."""
    expires_at = installation.bot_token_expires_at
    if (
        dry_run
        or installation.needs_reinstall_at is not None
        or not has_stored_value(installation, "bot_refresh_token")
        or not tokens.is_due(expires_at)
    ):
        return installation
    return tokens.refreshed_unless_still_valid(
        lambda: tokens.refresh_bot_token(installation),
        current=lambda: installation,
        still_valid=expires_at is not None and expires_at > timezone.now(),
        what=f"the bot token of installation {installation.pk}",
    )


def _dead(
    installation: Installation,
    code: str,
    *,
    dry_run: bool,
    outcome: Callable[[str, str], CheckOutcome],
) -> CheckOutcome:
    """Revoke an installation whose bot token Slack says is dead (``code``)."""
    if dry_run:
        return outcome(REVOKED, code)
    # Slack told us: nothing to revoke there. A re-install while auth.test was under way
    # brought new tokens, which revoke_installation keeps.
    result = revoke_installation(installation, reason="health_check", call_slack=False)
    if result.reinstalled:
        return outcome(SKIPPED, "reinstalled")
    if result.already_revoked:
        return outcome(SKIPPED, "already_revoked")
    Installation.objects.filter(pk=installation.pk).update(checked_at=timezone.now())
    logger.warning("Installation %s revoked: auth.test answered %s", installation.pk, code)
    return outcome(REVOKED, code)
