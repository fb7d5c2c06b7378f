"""slack_sdk / Bolt for Python stores backed by slack_installs' models.

``DjangoInstallationStore(app="slug")`` is slack_sdk's ``InstallationStore`` and
``DjangoOAuthStateStore(app="slug")`` its ``OAuthStateStore``, so a Bolt app runs
on the installs this app keeps, whoever made them (our install view or Bolt's
OAuth flow), and every token Bolt saves, refreshed ones included, is encrypted.

How slack_sdk's objects map onto our rows:

* one ``Installation`` row per (app, enterprise, workspace); an org-wide install
  has an empty ``team_id``. It holds the bot, the incoming webhook and the latest
  installer (``installer_user_id``, ``installed_at``);
* one ``UserToken`` row per Slack user who granted user scopes.

``enterprise_url`` and ``custom_values`` live on the installation row, so there is
one set per workspace (or org): a ``save()`` or ``save_bot()`` that may update the
row replaces the stored ``custom_values`` with the saved object's.

``save()`` of an installation newer than the row (a new install) takes over the
installer, the webhook and the bot; one with the row's ``installed_at`` (a copy
made by slack_sdk's ``TokenRotator``) only updates the tokens; an older one
never overwrites the bot. Deleting keeps the rows as the audit trail and wipes
the tokens (``revoked_at`` set), as the ``app_uninstalled`` / ``tokens_revoked``
events do in slack_installs.

Needs the extra ``bolt``: ``pip install "django-slack-installs[bolt]"``.
"""

from __future__ import annotations

import datetime
import logging
from logging import Logger
from typing import Any

from django.db import IntegrityError, connections, transaction
from django.db.models import QuerySet
from django.utils import timezone

try:
    from slack_sdk.oauth.installation_store import Bot, InstallationStore
    from slack_sdk.oauth.installation_store import Installation as SdkInstallation
    from slack_sdk.oauth.state_store import OAuthStateStore
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        'slack_installs.contrib.bolt needs slack_sdk: pip install "django-slack-installs[bolt]"'
    ) from exc

from django.views.decorators.debug import sensitive_variables

from slack_installs import oauth
from slack_installs.exceptions import InvalidState
from slack_installs.models import (
    Installation,
    InstallationEvent,
    OAuthAttempt,
    SlackApp,
    UserToken,
    web_url,
)
from slack_installs.revocation import revoke_installation, wipe_user_tokens
from slack_installs.tokens import installations_serving

__all__ = ["DjangoInstallationStore", "DjangoOAuthStateStore"]

_default_logger = logging.getLogger(__name__)

# Two installs of one workspace are never this close; a float round trip of a
# timestamp can be off by a microsecond.
_SAME_INSTANT = datetime.timedelta(milliseconds=1)


def _slug_of(app: SlackApp | str) -> str:
    slug = app.slug if isinstance(app, SlackApp) else app
    if not isinstance(slug, str) or not slug:
        raise ValueError("give the slug of a SlackApp (or the SlackApp itself)")
    return slug


def _get_app(slug: str) -> SlackApp:
    try:
        return SlackApp.objects.get(slug=slug)
    except SlackApp.DoesNotExist:
        raise SlackApp.DoesNotExist(
            f"No Slack app with slug {slug!r}: add it in the admin first"
        ) from None


def _app_pk(slug: str) -> int | None:
    # Filtering on the app's id, never through a join: PostgreSQL re-checks a
    # concurrent UPDATE's conditions on the row itself, not on a joined table.
    return SlackApp.objects.filter(slug=slug).values_list("pk", flat=True).first()


def _to_datetime(value: Any) -> datetime.datetime | None:
    """An aware UTC datetime from slack_sdk's epoch seconds (or a datetime)."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value if timezone.is_aware(value) else value.replace(tzinfo=datetime.UTC)
    return datetime.datetime.fromtimestamp(float(value), tz=datetime.UTC)


def _to_epoch(value: datetime.datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def _clip(value: str | None, limit: int) -> str:
    return (value or "")[:limit]  # Slack's names and ids fit; a stray one must not crash a save


def _scopes(value: Any) -> str:
    if not value:
        return ""
    return value if isinstance(value, str) else ",".join(value)


def _row_key(
    enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
) -> tuple[str, str]:
    """Our (enterprise_id, team_id) for slack_sdk's ids: org-wide installs have no team.

    Like slack_sdk's own stores, ``team_id=None`` or ``is_enterprise_install`` means
    the org-wide install; a team id stored on one is dropped (python-slack-sdk#1639).
    """
    for value in (enterprise_id, team_id):
        if value is not None and (not isinstance(value, str) or len(value) > 32):
            raise ValueError(f"{value!r} is not a Slack team or enterprise id")
    if is_enterprise_install or team_id is None:
        return enterprise_id or "", ""
    return enterprise_id or "", team_id


def _bot_fields(row: Installation) -> dict[str, Any]:
    """What slack_sdk's ``Bot`` and ``Installation`` share, read from our row."""
    return {
        "app_id": row.app.app_id or None,
        "enterprise_id": row.enterprise_id or None,
        "enterprise_name": row.enterprise_name or None,
        "team_id": row.team_id or None,
        "team_name": row.team_name or None,
        "bot_token": row.bot_token,
        "bot_id": row.bot_id or None,
        "bot_user_id": row.bot_user_id or None,
        "bot_scopes": row.bot_scopes,
        "bot_refresh_token": row.bot_refresh_token,
        "bot_token_expires_at": _to_epoch(row.bot_token_expires_at),
        "is_enterprise_install": row.is_enterprise_install,
        "installed_at": row.installed_at.timestamp(),
        "custom_values": dict(row.custom_values or {}),
    }


class DjangoInstallationStore(InstallationStore):
    """slack_sdk's ``InstallationStore`` over the installations of one ``SlackApp``."""

    def __init__(self, app: SlackApp | str, *, logger: Logger | None = None) -> None:
        # Kept as a slug and looked up on each call: a Bolt app is often built at
        # import time, before the database can be queried.
        self.app_slug = _slug_of(app)
        self._logger = logger or _default_logger

    @property
    def logger(self) -> Logger:
        return self._logger

    def _rows(self, enterprise_id: str, team_id: str) -> QuerySet[Installation]:
        return Installation.objects.filter(
            app_id=_app_pk(self.app_slug), enterprise_id=enterprise_id, team_id=team_id
        )

    # --- saving ----------------------------------------------------------------------

    @sensitive_variables()  # tokens and secrets stay out of error reports
    def save(self, installation: SdkInstallation) -> None:
        """Save a new install or refreshed tokens (see the module docstring)."""
        key = _row_key(
            installation.enterprise_id, installation.team_id, installation.is_enterprise_install
        )
        with transaction.atomic():
            row, newness = self._locked_row(key, _to_datetime(installation.installed_at))
            if newness >= 0:
                self._set_names(row, installation)
                self._set_custom_values(row, installation)
                # Only an http(s) URL is kept: it becomes a link on our success page.
                row.enterprise_url = web_url(installation.enterprise_url) or row.enterprise_url
            if newness > 0:
                row.installer_user_id = _clip(installation.user_id, 32)
                if installation.incoming_webhook_url:
                    row.incoming_webhook_url = installation.incoming_webhook_url
                    row.incoming_webhook_channel = _clip(installation.incoming_webhook_channel, 200)
                    row.incoming_webhook_channel_id = _clip(
                        installation.incoming_webhook_channel_id, 32
                    )
                    row.incoming_webhook_configuration_url = web_url(
                        installation.incoming_webhook_configuration_url, 500
                    )
            if installation.bot_token and newness >= 0:
                self._set_bot(row, installation)
            row.save()
            if installation.user_token and installation.user_id:
                UserToken.objects.update_or_create(
                    installation=row,
                    slack_user_id=_clip(installation.user_id, 32),
                    defaults={
                        "scopes": _scopes(installation.user_scopes),
                        "access_token": installation.user_token,
                        "refresh_token": installation.user_refresh_token or None,
                        "expires_at": _to_datetime(installation.user_token_expires_at),
                        "revoked_at": None,
                    },
                )
            row.update_scopes_missing()

    @sensitive_variables()  # tokens and secrets stay out of error reports
    def save_bot(self, bot: Bot) -> None:
        """Save a bot (e.g. refreshed by ``TokenRotator``) on its workspace's row."""
        if not bot.bot_token:
            return
        key = _row_key(bot.enterprise_id, bot.team_id, bot.is_enterprise_install)
        with transaction.atomic():
            row, newness = self._locked_row(key, _to_datetime(bot.installed_at))
            if newness < 0:
                self.logger.info("Not saving a bot older than the stored one (%s)", key)
                return
            self._set_names(row, bot)
            self._set_custom_values(row, bot)
            self._set_bot(row, bot)
            row.save()
            row.update_scopes_missing()

    def _locked_row(
        self, key: tuple[str, str], installed_at: datetime.datetime | None
    ) -> tuple[Installation, int]:
        """The row of ``key``, locked, and whether the saved object is newer (1), the
        same install (0) or older (-1). A new row counts as newer."""
        enterprise_id, team_id = key
        if not enterprise_id and not team_id:
            raise ValueError("an installation needs a team_id or an enterprise_id")
        installed_at = installed_at or timezone.now()
        queryset = self._rows(enterprise_id, team_id).select_for_update()
        # Lock the installation only, so its app row stays free for other workspaces, where
        # the database can say so: MariaDB has FOR UPDATE but not FOR UPDATE OF.
        if connections[queryset.db].features.has_select_for_update_of:
            queryset = queryset.select_for_update(of=("self",))
        row = queryset.first()
        if row is None:
            try:
                with transaction.atomic():
                    row = Installation.objects.create(
                        app=_get_app(self.app_slug),
                        enterprise_id=enterprise_id,
                        team_id=team_id,
                        is_enterprise_install=not team_id,
                        installed_at=installed_at,
                    )
                    InstallationEvent.record(row, InstallationEvent.Kind.INSTALLED, at=installed_at)
                return row, 1
            except IntegrityError:
                row = queryset.get()  # another worker created it meanwhile
        if installed_at - row.installed_at > _SAME_INSTANT:
            row.installed_at = installed_at
            row.revoked_at = None
            row.needs_reinstall_at = None
            InstallationEvent.record(row, InstallationEvent.Kind.REINSTALLED, at=installed_at)
            return row, 1
        return row, -1 if row.installed_at - installed_at > _SAME_INSTANT else 0

    @staticmethod
    def _set_names(row: Installation, source: SdkInstallation | Bot) -> None:
        row.enterprise_name = _clip(source.enterprise_name, 200) or row.enterprise_name
        if row.team_id:
            row.team_name = _clip(source.team_name, 200) or row.team_name

    @staticmethod
    def _set_custom_values(row: Installation, source: SdkInstallation | Bot) -> None:
        # The saved object holds the values it was read with (slack_sdk copies them when
        # it rotates tokens), so it replaces them; it must hold only what JSON can store.
        values = source.custom_values
        if not isinstance(values, dict):
            raise TypeError("custom_values must be a dict")
        row.custom_values = dict(values)

    @staticmethod
    @sensitive_variables()  # tokens and secrets stay out of error reports
    def _set_bot(row: Installation, source: SdkInstallation | Bot) -> None:
        row.bot_token = source.bot_token
        row.bot_id = _clip(source.bot_id, 32) or row.bot_id
        row.bot_user_id = _clip(source.bot_user_id, 32) or row.bot_user_id
        row.bot_scopes = _scopes(source.bot_scopes)
        row.bot_refresh_token = source.bot_refresh_token or None
        row.bot_token_expires_at = _to_datetime(source.bot_token_expires_at)
        row.needs_reinstall_at = None

    # --- finding ---------------------------------------------------------------------

    def _active_row(
        self, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None
    ) -> Installation | None:
        """The active installation serving the workspace, by ``get_bot_token``'s rule: the
        workspace's own, else its org's org-wide one; without an enterprise id, an
        org-wide one that holds access to the workspace (``team_access_granted``)."""
        enterprise, team = _row_key(enterprise_id, team_id, is_enterprise_install)
        if not enterprise and not team:
            return None
        serving = installations_serving(
            self.app_slug, team_id=team or None, enterprise_id=enterprise or None
        )
        return serving.filter(revoked_at__isnull=True).select_related("app").first()

    @sensitive_variables()  # tokens and secrets stay out of error reports
    def find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        row = self._active_row(enterprise_id, team_id, is_enterprise_install)
        fields = _bot_fields(row) if row is not None else None
        if fields is None or not fields["bot_token"]:
            return None
        return Bot(**fields)

    @sensitive_variables()  # tokens and secrets stay out of error reports
    def find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> SdkInstallation | None:
        """The workspace's (or org's) installation with the latest bot, and the user
        token of ``user_id`` (default: the latest installer)."""
        row = self._active_row(enterprise_id, team_id, is_enterprise_install)
        if row is None:
            return None
        if user_id is None:
            user_id = row.installer_user_id
        user_token = (
            UserToken.objects.filter(installation=row, slack_user_id=user_id).first()
            if user_id
            else None
        )
        if user_token is not None and user_token.revoked_at is not None:
            if user_id != row.installer_user_id:
                return None
            user_token = None
        elif user_token is None and user_id != row.installer_user_id:
            return None  # this user never installed nor authorized the app here

        fields = _bot_fields(row)
        return SdkInstallation(
            **fields,
            user_id=user_id,
            user_token=user_token.access_token if user_token else None,
            user_scopes=user_token.scopes if user_token else "",
            user_refresh_token=user_token.refresh_token if user_token else None,
            user_token_expires_at=_to_epoch(user_token.expires_at) if user_token else None,
            incoming_webhook_url=row.incoming_webhook_url,
            incoming_webhook_channel=row.incoming_webhook_channel or None,
            incoming_webhook_channel_id=row.incoming_webhook_channel_id or None,
            incoming_webhook_configuration_url=row.incoming_webhook_configuration_url or None,
            enterprise_url=row.enterprise_url or None,
            token_type="bot" if fields["bot_token"] else None,
        )

    # --- deleting --------------------------------------------------------------------

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """Wipe the bot token (Bolt calls this on ``tokens_revoked`` for the bot); an active
        installation that loses it gets a ``revoked`` event, as in ``events``."""
        now = timezone.now()
        rows = self._rows(*_row_key(enterprise_id, team_id)).filter(bot_token__isnull=False)
        with transaction.atomic():
            losing = list(rows.select_for_update().filter(revoked_at__isnull=True).only("app"))
            rows.update(
                bot_token=None, bot_refresh_token=None, bot_token_expires_at=None, updated_at=now
            )
            for row in losing:
                InstallationEvent.record(row, InstallationEvent.Kind.REVOKED, at=now)

    def delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        """Revoke the user tokens of ``user_id`` (or of everyone, and the webhook)."""
        now = timezone.now()
        rows = self._rows(*_row_key(enterprise_id, team_id))
        tokens = UserToken.objects.filter(installation__in=rows)
        if user_id is not None:
            tokens = tokens.filter(slack_user_id=user_id)
        wipe_user_tokens(tokens, now)
        if user_id is None:
            rows.update(incoming_webhook_url=None, updated_at=now)

    def delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """Revoke the installation: every token wiped, ``revoked_at`` set (Bolt calls
        this on ``app_uninstalled``); sends ``installation_revoked`` once."""
        for row in self._rows(*_row_key(enterprise_id, team_id)).select_related("app"):
            revoke_installation(row, reason="app_uninstalled", call_slack=False)


class DjangoOAuthStateStore(OAuthStateStore):
    """slack_sdk's ``OAuthStateStore`` on slack_installs' state service: single use, expiring.

    States are issued and claimed by ``slack_installs.oauth`` like those of our own
    install view, but bound to no browser (Bolt checks its own state cookie). So this
    store accepts only states it issued itself, never one of the native views', and the
    native callback refuses its states.
    """

    def __init__(
        self,
        app: SlackApp | str,
        expiration_seconds: int | None = None,
        *,
        logger: Logger | None = None,
    ) -> None:
        self.app_slug = _slug_of(app)
        self.expiration_seconds = expiration_seconds
        self._logger = logger or _default_logger

    @property
    def logger(self) -> Logger:
        return self._logger

    def issue(self, *args: Any, **kwargs: Any) -> str:
        """Record a pending attempt and return its new random state."""
        _attempt, state = oauth.issue_attempt(
            _get_app(self.app_slug), browser_id=None, ttl=self.expiration_seconds
        )
        return state

    def consume(self, state: str) -> bool:
        """True exactly once for a state this store issued, before it expires."""
        app = SlackApp.objects.filter(slug=self.app_slug).first()
        if app is None:
            return False
        try:
            oauth.claim_attempt(app, state, kind=OAuthAttempt.Kind.INSTALL, browser_id=None)
        except InvalidState as exc:
            self.logger.info("Refused an OAuth state: %s", exc)
            return False
        return True
