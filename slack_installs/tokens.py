"""Tokens for code that talks to Slack on behalf of an installation.

Rotating tokens (Slack's token rotation) are refreshed here when they expire within
``TOKEN_REFRESH_MARGIN``. Slack's refresh tokens are single-use, so a refresh takes a
lock (the row's, or SQLite's write lock) before it reads the row and calls Slack: of
many callers, in any number of processes, the first refreshes and the others find the
new token.
A token that is not due costs one query and no lock.
"""

from __future__ import annotations

import datetime
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import DatabaseError, connections, models, router, transaction
from django.db.models import ExpressionWrapper, F, Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from . import client, crypto
from .client import expiry_of
from .conf import app_settings
from .exceptions import (
    DecryptionError,
    InstallationNotFound,
    InstallationRevoked,
    SlackAPIError,
    TokenRefreshError,
)
from .fields import has_stored_value
from .models import Installation, SlackApp, UserToken, WorkspaceAccess, column_of

if TYPE_CHECKING:
    from django.db.models.options import Options

logger = logging.getLogger(__name__)

# Slack's answer when a refresh token was already used or revoked: only a new install helps.
REINSTALL_ERRORS = frozenset({"invalid_refresh_token"})

_Row = TypeVar("_Row", bound=models.Model)  # any model with an updated_at (see locked_row)
_T = TypeVar("_T")


def _serving(
    app: SlackApp | str, team_id: str | None, enterprise_id: str | None, prefix: str = ""
) -> Q:
    """Installations of ``app`` serving a workspace: its own one or its org's org-wide one
    (without ``enterprise_id``: an org-wide one holding access to ``team_id``)."""
    if not team_id and not enterprise_id:
        raise ValueError("give team_id, enterprise_id or both")
    match = Q()
    if team_id:
        workspace = Q(**{f"{prefix}team_id": team_id})
        if enterprise_id:
            workspace &= Q(**{f"{prefix}enterprise_id": enterprise_id})
        match |= workspace
    if enterprise_id:
        match |= Q(**{f"{prefix}enterprise_id": enterprise_id, f"{prefix}team_id": ""})
    elif team_id:
        granted = WorkspaceAccess.objects.filter(
            team_id=team_id, granted_at__isnull=False, revoked_at__isnull=True
        ).values("installation")
        match |= Q(**{f"{prefix}team_id": "", f"{prefix}pk__in": granted})
    if isinstance(app, SlackApp):
        return Q(**{f"{prefix}app": app}) & match
    return Q(**{f"{prefix}app__slug": app}) & match


def installations_serving(
    app: SlackApp | str, *, team_id: str | None = None, enterprise_id: str | None = None
) -> models.QuerySet[Installation]:
    """The installations of ``app`` that serve a workspace (or an org), best first: the
    row ``get_bot_token`` picks comes first (active before revoked, the workspace's own
    before an org-wide one, the latest install first). For code that needs the row, such
    as the Bolt store; ``get_bot_token`` answers the same question in one hand-written query.
    """
    active = ExpressionWrapper(Q(revoked_at__isnull=True), output_field=models.BooleanField())
    return Installation.objects.filter(_serving(app, team_id, enterprise_id)).order_by(
        active.desc(), "-team_id", "-installed_at", "-pk"
    )


def _describe(app: SlackApp | str, team_id: str | None, enterprise_id: str | None) -> str:
    slug = getattr(app, "slug", app)
    return f"{slug!r} for team {team_id or '-'} / enterprise {enterprise_id or '-'}"


def refresh_horizon(now: datetime.datetime | None = None) -> datetime.datetime:
    """Tokens expiring before this moment are due for a refresh."""
    now = now or timezone.now()
    return now + datetime.timedelta(seconds=app_settings.TOKEN_REFRESH_MARGIN)


def is_due(expires_at: datetime.datetime | None, *, now: datetime.datetime | None = None) -> bool:
    """Tell whether a token expiring at ``expires_at`` should be refreshed now."""
    return expires_at is not None and expires_at <= refresh_horizon(now)


@sensitive_variables()  # tokens and secrets stay out of error reports
def get_bot_token(
    app: SlackApp | str, *, team_id: str | None = None, enterprise_id: str | None = None
) -> str:
    """Return the plaintext bot token for a workspace or org, refreshed when it is due."""
    row = _bot_token_row(app, team_id, enterprise_id)
    if row is None:
        raise InstallationNotFound(f"no installation of {_describe(app, team_id, enterprise_id)}")
    pk, stored_token, is_active, refresh_is_due, reinstall_needed, still_valid = row
    if not is_active or stored_token is None:
        raise InstallationRevoked(f"the installation {pk} has no active bot token")
    if refresh_is_due:
        if reinstall_needed:
            raise TokenRefreshError(
                f"Slack refused to refresh the bot token of installation {pk}: "
                "install the app again in that workspace."
            )
        return refreshed_unless_still_valid(
            lambda: refresh_bot_token(Installation.objects.get(pk=pk)).bot_token,
            current=lambda: crypto.decrypt(stored_token),
            still_valid=bool(still_valid),
            what=f"the bot token of installation {pk}",
        )
    return crypto.decrypt(stored_token)


def refreshed_unless_still_valid(
    refresh: Callable[[], _T], *, current: Callable[[], _T], still_valid: bool, what: str
) -> _T:
    """Refresh a due token; while it has not expired yet, a passing Slack failure (down, rate
    limited) answers with the current token instead of failing the caller."""
    try:
        return refresh()
    except SlackAPIError as exc:
        if not still_valid:
            raise
        logger.warning("Refreshing %s failed (%s); the current token still works", what, exc.code)
        return current()


def _bot_token_row(
    app: SlackApp | str, team_id: str | None, enterprise_id: str | None
) -> tuple[int, str | None, bool, bool, bool, bool] | None:
    """The hot path of every bot: one indexed SELECT (two for a workspace reached only
    through an org-wide install), no model instance, no lock.

    It finds the installation serving the workspace (see ``installations_serving``: active
    before revoked, its own before an org-wide one) and answers with its id, the stored
    bot token, whether it is active, whether its rotating token is due for a refresh,
    whether Slack already refused a refresh, and whether the token has not expired yet.
    Hand-written because the ORM's query costs more than the lookup itself
    (``python -m bench token_lookup``); it runs on the database the routers pick for
    ``Installation``, with names from the models' ``_meta``.
    """
    if not team_id and not enterprise_id:
        raise ValueError("give team_id, enterprise_id or both")
    connection = connections[router.db_for_read(Installation)]
    quote = connection.ops.quote_name
    installations, slack_apps, access = Installation._meta, SlackApp._meta, WorkspaceAccess._meta

    def column(name: str, opts: Options[Any] = installations) -> str:
        return quote(column_of(opts.model, name))

    app_id, team, enterprise, expires = (
        column(name) for name in ("app", "team_id", "enterprise_id", "bot_token_expires_at")
    )
    revoked, installed = column("revoked_at"), column("installed_at")
    now = timezone.now()
    # Names are quoted from the models' _meta; every value is a parameter.
    select = (
        f"SELECT {column('pk')}, {column('bot_token')}, {revoked} IS NULL, "  # noqa: S608
        f"{column('bot_refresh_token')} IS NOT NULL "
        f"AND {expires} IS NOT NULL AND {expires} <= %s, "
        f"{column('needs_reinstall_at')} IS NOT NULL, {expires} > %s "
        f"FROM {quote(installations.db_table)} WHERE "
    )
    select_params = [
        connection.ops.adapt_datetimefield_value(refresh_horizon(now)),
        connection.ops.adapt_datetimefield_value(now),
    ]
    app_param: Any
    if isinstance(app, SlackApp):
        of_app, app_param = f"{app_id} = %s", app.pk
    else:
        of_app = (
            f"{app_id} = (SELECT {column('pk', slack_apps)} "  # noqa: S608 (names quoted)
            f"FROM {quote(slack_apps.db_table)} WHERE {column('slug', slack_apps)} = %s)"
        )
        app_param = app
    # Active rows first; then the workspace's own row ahead of the org-wide one (team_id
    # ''); a workspace moved into a Grid org may have an old row too: the latest wins.
    order = f" ORDER BY {revoked} IS NULL DESC, {team} DESC, {installed} DESC LIMIT 1"

    def first(where: str, where_params: list[Any]) -> Any:
        with connection.cursor() as cursor:
            cursor.execute(
                f"{select}{of_app} AND {where}{order}",
                [*select_params, app_param, *where_params],
            )
            return cursor.fetchone()

    if team_id and enterprise_id:
        return first(f"{enterprise} = %s AND {team} IN (%s, '')", [enterprise_id, team_id])
    if not team_id:
        return first(f"{enterprise} = %s AND {team} = ''", [enterprise_id])
    own = first(f"{team} = %s", [team_id])
    if own is not None and own[2]:
        return own
    # Without the org's id, an org-wide install serves the workspaces it was granted
    # (team_access_granted, and no team_access_revoked since). A second query, only for a
    # workspace without an active install of its own: one UNION of both cost every
    # lookup more than this one costs the few (python -m bench token_lookup).
    org_wide = first(
        f"{team} = '' AND {column('pk')} IN ("  # noqa: S608
        f"SELECT {column('installation', access)} FROM {quote(access.db_table)} "
        f"WHERE {column('team_id', access)} = %s "
        f"AND {column('granted_at', access)} IS NOT NULL "
        f"AND {column('revoked_at', access)} IS NULL)",
        [team_id],
    )
    return org_wide if org_wide is not None and (org_wide[2] or own is None) else own


@sensitive_variables()  # tokens and secrets stay out of error reports
def get_user_token(
    app: SlackApp | str,
    slack_user_id: str,
    *,
    team_id: str | None = None,
    enterprise_id: str | None = None,
) -> str:
    """Return the plaintext user token a Slack user granted, refreshed when it is due."""
    match = _serving(app, team_id, enterprise_id, prefix="installation__")
    candidates = sorted(
        UserToken.objects.filter(match, slack_user_id=slack_user_id).select_related("installation")[
            :2
        ],
        key=lambda row: row.installation.team_id == "",
    )
    if not candidates:
        raise InstallationNotFound(
            f"no user token of {slack_user_id} in {_describe(app, team_id, enterprise_id)}"
        )
    user_token = candidates[0]
    _check_user_token(user_token)
    expires_at = user_token.expires_at
    if (
        expires_at is not None
        and is_due(expires_at)
        and has_stored_value(user_token, "refresh_token")
    ):
        if user_token.installation.needs_reinstall_at is not None:
            raise TokenRefreshError(
                f"Slack refused to refresh a token of installation {user_token.installation_id}:"
                " install the app again in that workspace."
            )
        return refreshed_unless_still_valid(
            lambda: refresh_user_token(user_token).access_token,
            current=lambda: user_token.access_token,
            still_valid=expires_at > timezone.now(),
            what=f"the user token of {slack_user_id}",
        )
    return user_token.access_token


def _check_bot_token(installation: Installation) -> None:
    if installation.revoked_at is not None or not has_stored_value(installation, "bot_token"):
        raise InstallationRevoked(f"the installation {installation.pk} has no active bot token")


def _check_user_token(user_token: UserToken) -> None:
    if (
        user_token.revoked_at is not None
        or user_token.installation.revoked_at is not None
        or not has_stored_value(user_token, "access_token")
    ):
        raise InstallationRevoked(
            f"the user token of {user_token.slack_user_id} on installation "
            f"{user_token.installation_id} was revoked"
        )


@sensitive_variables()  # tokens and secrets stay out of error reports
def _redeem(app: SlackApp, refresh_token: str, token_type: str) -> dict[str, Any]:
    """Trade a refresh token for a new token; check that Slack's answer is usable."""
    answer = client.oauth_v2_access(
        client_id=app.client_id or "",
        client_secret=app.client_secret,
        grant_type="refresh_token",
        refresh_token=refresh_token,
    )
    access_token = answer.get("access_token")
    new_refresh = answer.get("refresh_token")
    if (
        answer.get("token_type", token_type) != token_type
        or not isinstance(access_token, str)
        or not access_token
        or (new_refresh is not None and not isinstance(new_refresh, str))
    ):
        raise SlackAPIError("invalid_response", method="oauth.v2.access")
    return answer


def _reinstall_error(
    installation: Installation, exc: SlackAPIError, what: str
) -> TokenRefreshError:
    Installation.objects.filter(pk=installation.pk).update(needs_reinstall_at=timezone.now())
    logger.warning(
        "Slack refused to refresh the %s of installation %s (%s): it must be installed again",
        what,
        installation.pk,
        exc.code,
    )
    return TokenRefreshError(
        f"Slack refused to refresh the {what} of installation {installation.pk} "
        f"({installation}): {exc.code}. Install the app again in that workspace."
    )


def locked_row(rows: models.QuerySet[_Row], pk: int) -> _Row:
    """The row ``pk`` of ``rows``, read under a lock held until the transaction ends.

    Call it first in the transaction, so no one else can refresh the token between our
    read and our write. Where the database has row locks: ``SELECT ... FOR UPDATE OF``
    this table's row; MariaDB cannot say OF, so there the row is locked by a query of its
    own table alone.
    SQLite has none, and its deferred transactions take the write lock at the first
    write, after Slack was called: there a write that changes nothing takes it first,
    so a second caller waits here (``timeout``) and then finds the refreshed token.
    """
    alias = router.db_for_write(rows.model)
    rows = rows.using(alias)  # the transaction's database, never a read replica
    features = connections[alias].features
    if features.has_select_for_update_of:
        return rows.select_for_update(of=("self",)).get(pk=pk)
    if features.has_select_for_update:
        # MariaDB cannot say OF, and a lock taken through the joins would lock the joined
        # rows too: every refresh of one app would wait on its SlackApp row, one at a time.
        # Lock this row alone, then read it with its joins (a read that starts after the
        # lock is ours, so it sees what the previous holder committed).
        list(rows.model._base_manager.using(alias).select_for_update().filter(pk=pk).values("pk"))
        return rows.get(pk=pk)
    rows.filter(pk=pk).update(updated_at=F("updated_at"))
    return rows.get(pk=pk)


@sensitive_variables()  # tokens and secrets stay out of error reports
def refresh_bot_token(installation: Installation) -> Installation:
    """Refresh the bot token under a lock, unless another caller already did.

    Raises ``TokenRefreshError`` (and marks the installation as needing a re-install)
    when Slack rejects the refresh token, ``SlackAPIError`` for any other failure.
    """
    failure: tuple[TokenRefreshError, SlackAPIError] | None = None
    with transaction.atomic(using=router.db_for_write(Installation)):
        locked = locked_row(Installation.objects.select_related("app"), installation.pk)
        _check_bot_token(locked)
        # Whoever held the lock before us may have refreshed already.
        if not is_due(locked.bot_token_expires_at) or not has_stored_value(
            locked, "bot_refresh_token"
        ):
            return locked
        try:
            answer = _redeem(locked.app, locked.bot_refresh_token, "bot")
        except SlackAPIError as exc:
            if exc.code not in REINSTALL_ERRORS:
                raise
            # Raised once the mark is committed, so the mark survives the error.
            failure = (_reinstall_error(locked, exc, "bot token"), exc)
        else:
            locked.bot_token = answer["access_token"]
            locked.bot_refresh_token = answer.get("refresh_token") or locked.bot_refresh_token
            locked.bot_token_expires_at = expiry_of(answer.get("expires_in"))
            locked.save(
                update_fields=[
                    "bot_token",
                    "bot_refresh_token",
                    "bot_token_expires_at",
                    "updated_at",
                ]
            )
    if failure is not None:
        raise failure[0] from failure[1]
    return locked


@sensitive_variables()  # tokens and secrets stay out of error reports
def refresh_user_token(user_token: UserToken) -> UserToken:
    """Refresh a user token under a lock, unless another caller already did."""
    failure: tuple[TokenRefreshError, SlackAPIError] | None = None
    with transaction.atomic(using=router.db_for_write(UserToken)):
        locked = locked_row(UserToken.objects.select_related("installation__app"), user_token.pk)
        _check_user_token(locked)
        if not is_due(locked.expires_at) or not has_stored_value(locked, "refresh_token"):
            return locked
        try:
            answer = _redeem(locked.installation.app, locked.refresh_token, "user")
        except SlackAPIError as exc:
            if exc.code not in REINSTALL_ERRORS:
                raise
            failure = (
                _reinstall_error(locked.installation, exc, f"user token of {locked.slack_user_id}"),
                exc,
            )
        else:
            locked.access_token = answer["access_token"]
            locked.refresh_token = answer.get("refresh_token") or locked.refresh_token
            locked.expires_at = expiry_of(answer.get("expires_in"))
            locked.save(update_fields=["access_token", "refresh_token", "expires_at", "updated_at"])
    if failure is not None:
        raise failure[0] from failure[1]
    return locked


def due_bot_tokens() -> models.QuerySet[Installation]:
    """Active installations whose rotating bot token expires within the margin."""
    return Installation.objects.filter(
        revoked_at__isnull=True,
        needs_reinstall_at__isnull=True,
        bot_token__isnull=False,
        bot_refresh_token__isnull=False,
        bot_token_expires_at__lte=refresh_horizon(),
    ).order_by("bot_token_expires_at", "pk")


def due_user_tokens() -> models.QuerySet[UserToken]:
    """Active user tokens that rotate and expire within the margin."""
    return UserToken.objects.filter(
        revoked_at__isnull=True,
        installation__revoked_at__isnull=True,
        installation__needs_reinstall_at__isnull=True,
        access_token__isnull=False,
        refresh_token__isnull=False,
        expires_at__lte=refresh_horizon(),
    ).order_by("expires_at", "pk")


@dataclass(frozen=True)
class RefreshOutcome:
    """What happened to one due token; ``error`` is empty when it was (or would be) refreshed."""

    kind: str
    label: str
    error: str = ""


BOT, USER = "bot", "user"
# Slack calls a refresh of every due token makes at once by default. At Slack's latency one
# call at a time refreshes some 10,000 tokens an hour, short of a million workspaces' 83,000;
# bench/token_refresh.py measures what 8 at once gives.
DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 64


@dataclass(frozen=True)
class DueToken:
    """A token due for refresh: a bot token (``pk`` of its Installation) or a user token
    (``pk`` of its UserToken). Only primary keys and names: nothing is decrypted."""

    kind: str
    pk: int
    label: str


def due_tokens() -> list[DueToken]:
    """Every bot and user token due within the margin, soonest to expire first."""
    due = [
        DueToken(
            BOT,
            installation.pk,
            f"bot token of {installation} ({installation.app.slug}, #{installation.pk})",
        )
        for installation in due_bot_tokens().select_related("app")
    ]
    for user_token in due_user_tokens().select_related("installation__app"):
        installation = user_token.installation
        label = (
            f"user token of {user_token.slack_user_id} on {installation} "
            f"({installation.app.slug}, #{installation.pk})"
        )
        due.append(DueToken(USER, user_token.pk, label))
    return due


def refresh_by_pk(kind: str, pk: int) -> None:
    """Refresh one token named by its kind and primary key (a task's arguments).

    The refresh reads the row itself, under its lock; a token no longer due costs one
    query. Raises as ``refresh_bot_token`` / ``refresh_user_token`` do.
    """
    if kind == BOT:
        refresh_bot_token(Installation(pk=pk))  # only the pk is read, under the lock
    elif kind == USER:
        refresh_user_token(UserToken(pk=pk))
    else:
        raise ValueError(f"kind must be {BOT!r} or {USER!r}, not {kind!r}")


class _RateLimitGate:
    """Shared by the threads of one run: after Slack's 429, no one calls Slack again
    before its Retry-After is over (the limit is the app's, not one thread's)."""

    def __init__(self, sleep: Callable[[float], object]) -> None:
        self._resume_at = 0.0
        self._lock = threading.Lock()
        self._sleep = sleep

    def hold(self, seconds: float) -> None:
        with self._lock:
            self._resume_at = max(self._resume_at, time.monotonic() + seconds)

    def wait(self) -> None:
        with self._lock:
            remaining = self._resume_at - time.monotonic()
        if remaining > 0:
            self._sleep(remaining)


def refresh_one(
    token: DueToken,
    *,
    max_wait: float = client.MAX_RETRY_WAIT,
    sleep: Callable[[float], object] = time.sleep,
    gate: _RateLimitGate | None = None,
) -> RefreshOutcome:
    """Refresh one due token, waiting out Slack's rate limits (``gate``: shared by the
    threads of one run); Slack's refusals and failures come back in the outcome."""
    gate = gate or _RateLimitGate(sleep)
    retries = 0
    while True:
        gate.wait()
        try:
            refresh_by_pk(token.kind, token.pk)
        except TokenRefreshError as exc:
            error = f"{getattr(exc.__cause__, 'code', 'refused')}, install the app again"
        except SlackAPIError as exc:
            wait = client.wait_to_retry(exc, retries=retries, max_wait=max_wait)
            if wait is not None:
                retries += 1
                gate.hold(wait)  # the row's lock is released: we wait outside it
                continue
            error = exc.code
        except (InstallationRevoked, DecryptionError) as exc:
            error = getattr(exc, "code", "") or type(exc).__name__
        except DatabaseError:
            logger.exception("Refreshing the %s failed in the database", token.label)
            error = "database_error"
        else:
            error = ""
        return RefreshOutcome(token.kind, token.label, error)


def can_refresh_concurrently(using: str | None = None) -> bool:
    """Whether refreshes may run side by side: with row locks, outside a transaction.

    SQLite has one write lock, which each refresh takes before calling Slack (see
    ``locked_row``) and holds until it has saved: refreshes there wait on each other
    whatever the concurrency, so they run one after another. Inside a transaction they
    run one after another too: the threads' own connections could not see its
    uncommitted rows, and would wait on the locks it holds.
    """
    connection = connections[using or router.db_for_write(Installation)]
    return bool(connection.features.has_select_for_update) and not connection.in_atomic_block


def _in_threads(
    work: Callable[[DueToken], RefreshOutcome], items: list[DueToken], concurrency: int
) -> Iterator[RefreshOutcome]:
    """``work`` on every item, ``concurrency`` at a time; outcomes in the order they end.

    Each thread takes items from one queue until it is empty, then closes the database
    connections it opened (Django's connections belong to the thread that opened them).
    Outcomes are handed back to the calling thread, so callers report from there.
    """
    pending: queue.SimpleQueue[DueToken] = queue.SimpleQueue()
    for item in items:
        pending.put(item)
    finished: queue.SimpleQueue[tuple[RefreshOutcome | None, BaseException | None]]
    finished = queue.SimpleQueue()
    stop = threading.Event()

    def drain() -> None:
        try:
            while not stop.is_set():
                try:
                    item = pending.get_nowait()
                except queue.Empty:
                    return
                try:
                    finished.put((work(item), None))
                except BaseException as exc:  # handed to the caller, who re-raises it
                    finished.put((None, exc))
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="slack-refresh") as pool:
        for _ in range(min(concurrency, len(items))):
            pool.submit(drain)
        try:
            for _ in items:
                outcome, error = finished.get()
                if error is not None:
                    raise error
                assert outcome is not None
                yield outcome
        finally:
            stop.set()  # on an error (or a caller that stops early), start no more refreshes


def refresh_due_tokens(
    *,
    dry_run: bool = False,
    on_outcome: Callable[[RefreshOutcome], None] | None = None,
    concurrency: int = 1,
    max_wait: float = client.MAX_RETRY_WAIT,
    sleep: Callable[[float], object] = time.sleep,
    due: list[DueToken] | None = None,
) -> list[RefreshOutcome]:
    """Refresh every bot and user token due within the margin (the cron job's work), or the
    ``due`` ones when given (``due_tokens()`` read earlier).

    ``concurrency`` refreshes run at once, in a bounded pool of threads (on a database
    with row locks; on SQLite one at a time, see ``can_refresh_concurrently``); each token
    is still refreshed once, under its row's lock. A 429 pauses every thread for its
    Retry-After (at most ``max_wait`` seconds, ``client.RATE_LIMIT_RETRIES`` times a token).
    One failure does not stop the others; each is reported in its outcome, and
    ``on_outcome`` hears of each in the calling thread.
    """
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ValueError(f"concurrency must be between 1 and {MAX_CONCURRENCY}")
    due = due_tokens() if due is None else due
    gate = _RateLimitGate(sleep)

    def refresh(token: DueToken) -> RefreshOutcome:
        if dry_run:
            return RefreshOutcome(token.kind, token.label)
        return refresh_one(token, max_wait=max_wait, gate=gate)

    if dry_run or concurrency == 1 or len(due) < 2 or not can_refresh_concurrently():
        results: Iterable[RefreshOutcome] = map(refresh, due)
    else:
        results = _in_threads(refresh, due, concurrency)
    outcomes = []
    for outcome in results:
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return outcomes
