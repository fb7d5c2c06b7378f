"""django-slack-oauth's stored tokens become encrypted ``UserToken`` rows.

``slack_installs_import_settings --from-django-slack-oauth`` is a thin command over
``import_legacy_tokens``. The old tables are read where django-slack-oauth keeps them
(``legacy_tables``); the new rows are written where the routers send our models.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction

from slack_installs.fields import has_stored_value
from slack_installs.models import (
    Installation,
    InstallationEvent,
    SlackApp,
    UserToken,
    column_of,
)


@dataclass(frozen=True)
class LegacyTable:
    """One of django-slack-oauth's token tables, its columns and the database holding it."""

    name: str
    user_column: str
    order_column: str
    token_column: str = "access_token"
    extras_column: str = "extras"
    using: str = DEFAULT_DB_ALIAS


# Its tables under their known names, for a project that already dropped the app from
# INSTALLED_APPS. Newest rows first, so a user's latest token wins over older ones.
LEGACY_TABLES = (
    # 1.x: every OAuth request, with the user it was made for.
    LegacyTable("django_slack_oauth_slackoauthrequest", "associated_user_id", "id"),
    # 0.x: one SlackUser per Django user (db_table "slack_user").
    LegacyTable("slack_user", "slacker_id", "slacker_id"),
    LegacyTable("django_slack_oauth_slackuser", "slacker_id", "slacker_id"),
)

# The same tables as django-slack-oauth's models: (model, field naming the Django user).
LEGACY_MODELS = (("SlackOAuthRequest", "associated_user"), ("SlackUser", "slacker"))


def legacy_tables() -> list[LegacyTable]:
    """The tables that may hold django-slack-oauth's tokens, and where they are.

    While django-slack-oauth is installed (the migration guide keeps it until its tokens
    are copied), the routers pick each model's database and its ``_meta`` names the table
    and columns. Once it is gone, its tables are looked for under their known names in the
    default database, where a project without routers keeps everything.
    """
    try:
        config = apps.get_app_config("django_slack_oauth")
    except LookupError:
        return list(LEGACY_TABLES)
    found = []
    for model_name, user_field in LEGACY_MODELS:
        try:
            model = config.get_model(model_name)
            user, token, extras = (
                column_of(model, name) for name in (user_field, "access_token", "extras")
            )
        except (LookupError, FieldDoesNotExist):
            continue  # a release without this model, or without extras (nothing to map)
        opts = model._meta
        found.append(
            LegacyTable(
                opts.db_table,
                user,
                column_of(model, "pk"),
                token,
                extras,
                router.db_for_read(model),
            )
        )
    return found


@dataclass
class TokenImport:
    tables: list[str] = field(default_factory=list)
    imported: int = 0
    installations_created: int = 0
    unmapped: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def _existing_tables() -> list[LegacyTable]:
    found = []
    names: dict[str, set[str]] = {}
    for table in legacy_tables():
        connection = connections[table.using]
        if table.using not in names:
            names[table.using] = set(connection.introspection.table_names())
        if table.name not in names[table.using]:
            continue
        with connection.cursor() as cursor:
            columns = {
                column.name
                for column in connection.introspection.get_table_description(cursor, table.name)
            }
        if {table.token_column, table.extras_column, table.user_column} <= columns:
            found.append(table)
    return found


def _rows(table: LegacyTable) -> Iterator[tuple[Any, Any, Any, Any]]:
    connection = connections[table.using]
    quote = connection.ops.quote_name
    order = quote(table.order_column)
    query = (
        f"SELECT {order}, {quote(table.user_column)}, {quote(table.token_column)}, "  # noqa: S608
        f"{quote(table.extras_column)} FROM {quote(table.name)} ORDER BY {order} DESC"
    )
    with connection.cursor() as cursor:
        cursor.execute(query)
        yield from cursor.fetchall()


def _extras(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict):
        return value
    if value in (None, ""):
        return {}
    try:
        decoded = json.loads(value)
    except (TypeError, ValueError):
        return None
    return decoded if isinstance(decoded, dict) else None


def _nested_id(extras: dict[str, Any], flat: str, nested: str) -> str:
    # oauth.access answers carry team_id / user_id; users.identity ones team.id / user.id.
    value = extras.get(flat)
    if not value and isinstance(extras.get(nested), dict):
        value = extras[nested].get("id")
    return str(value or "")[:32]


def import_legacy_tokens(app: SlackApp) -> TokenImport:
    """Copy django-slack-oauth's stored tokens into ``UserToken`` rows of ``app``.

    A workspace without an installation of ``app`` gets a minimal one (with the
    classic bot token, if the old answer had one). A user who already has a token
    keeps it. Everything is written in one transaction, on the database the routers
    pick for ``UserToken``.
    """
    report = TokenImport()
    users = get_user_model()
    created_here: set[int] = set()  # installations this import made, and may fill in
    seen: set[tuple[int, str]] = set()
    with transaction.atomic(using=router.db_for_write(UserToken)):
        for table in _existing_tables():
            report.tables.append(table.name)
            for row_id, django_user_id, token, raw_extras in _rows(table):
                where = f"{table.name} row {row_id}"
                extras = _extras(raw_extras)
                if extras is None:
                    report.unmapped.append(f"{where}: extras is not a JSON object")
                    continue
                team_id = _nested_id(extras, "team_id", "team")
                slack_user_id = _nested_id(extras, "user_id", "user")
                if not token:
                    report.unmapped.append(f"{where}: no access token")
                    continue
                if not team_id or not slack_user_id:
                    report.unmapped.append(f"{where}: extras names no team_id or no user_id")
                    continue
                installation, created = Installation.objects.get_or_create(
                    app=app,
                    enterprise_id=str(extras.get("enterprise_id") or "")[:32],
                    team_id=team_id,
                    defaults={"installer_user_id": slack_user_id},
                )
                if created:
                    report.installations_created += 1
                    created_here.add(installation.pk)
                    InstallationEvent.record(
                        installation, InstallationEvent.Kind.INSTALLED, at=installation.installed_at
                    )
                if installation.pk in created_here:
                    _fill_in(installation, extras, slack_user_id)
                if (installation.pk, slack_user_id) in seen:
                    report.kept.append(f"{where}: an older token of {slack_user_id}")
                    continue
                seen.add((installation.pk, slack_user_id))
                user = users.objects.filter(pk=django_user_id).first() if django_user_id else None
                _, made = UserToken.objects.get_or_create(
                    installation=installation,
                    slack_user_id=slack_user_id,
                    defaults={
                        "access_token": str(token),
                        "scopes": str(extras.get("scope") or "")[:5000],
                        "user": user,
                    },
                )
                if made:
                    report.imported += 1
                else:
                    report.kept.append(f"{where}: {slack_user_id} in {team_id} already has one")
        app.update_scopes_missing()  # the imported rows' scopes against the app's
    return report


def _fill_in(installation: Installation, extras: dict[str, Any], slack_user_id: str) -> None:
    """Complete an installation this import made with what a v1 answer knows: the team
    name, the classic bot's token (under ``bot``; its installer becomes the
    installation's) and the incoming webhook."""
    bot = extras.get("bot")
    bot = bot if isinstance(bot, dict) else {}
    webhook = extras.get("incoming_webhook")
    webhook = webhook if isinstance(webhook, dict) else {}
    changed = False
    if not installation.team_name and extras.get("team_name"):
        installation.team_name = str(extras["team_name"])[:200]
        changed = True
    if not has_stored_value(installation, "bot_token") and bot.get("bot_access_token"):
        installation.bot_token = str(bot["bot_access_token"])
        installation.bot_user_id = str(bot.get("bot_user_id") or "")[:32]
        installation.installer_user_id = slack_user_id
        changed = True
    if not has_stored_value(installation, "incoming_webhook_url") and webhook.get("url"):
        installation.incoming_webhook_url = str(webhook["url"])
        installation.incoming_webhook_channel = str(webhook.get("channel") or "")[:200]
        installation.incoming_webhook_channel_id = str(webhook.get("channel_id") or "")[:32]
        changed = True
    if changed:
        installation.save()
