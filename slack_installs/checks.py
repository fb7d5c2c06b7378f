"""System checks: every misconfiguration has an id, a message and a hint.

``SlackInstallsConfig.ready()`` registers them; importing this module registers nothing.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.checks import CheckMessage, Error, Warning
from django.db import DatabaseError, connections, router, transaction
from django.utils.module_loading import import_string

from . import crypto, keyrotation
from .conf import SIGN_IN_NEW_USERS_CHOICES, app_settings

GENERATE_HINT = "Run `python manage.py slack_installs_generate_key` and paste its output."


def check_encryption_keys(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    keys = app_settings.ENCRYPTION_KEYS
    if not keys:
        return [
            Error(
                "SLACK_INSTALLS['ENCRYPTION_KEYS'] is missing or empty: tokens cannot be stored.",
                hint=GENERATE_HINT + " Keys are never derived from SECRET_KEY.",
                id="slack_installs.E001",
            )
        ]
    messages: list[CheckMessage] = []
    for key_id, key in keys.items():
        if not crypto.is_valid_key_id(key_id) or not crypto.is_valid_key(key):
            messages.append(
                Error(
                    f"SLACK_INSTALLS['ENCRYPTION_KEYS'] entry {key_id!r} is malformed.",
                    hint="Key ids may use letters, digits, '.', '_' and '-'; each key must be a "
                    "Fernet key (32 url-safe base64-encoded bytes). " + GENERATE_HINT,
                    id="slack_installs.E003",
                )
            )
    active = app_settings.EXPLICIT_ACTIVE_KEY_ID
    if active is None and len(keys) > 1:
        messages.append(
            Error(
                "SLACK_INSTALLS['ACTIVE_KEY_ID'] is not set, and there are several keys.",
                hint="Set ACTIVE_KEY_ID to the id of the key that encrypts new values.",
                id="slack_installs.E002",
            )
        )
    elif active is not None and active not in keys:
        messages.append(
            Error(
                f"SLACK_INSTALLS['ACTIVE_KEY_ID'] is {active!r}, which is not a key id of "
                "ENCRYPTION_KEYS.",
                hint=f"Use one of {sorted(keys)} or add a key with id {active!r}.",
                id="slack_installs.E002",
            )
        )
    return messages


def check_pipeline_paths(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for path in app_settings.PIPELINES:
        try:
            function = import_string(path)
        except ImportError as exc:
            messages.append(
                Error(
                    f"SLACK_INSTALLS['PIPELINES'] entry {path!r} does not import: {exc}",
                    hint="Give the dotted path of a function step(request, api_data).",
                    id="slack_installs.E004",
                )
            )
            continue
        if not callable(function):
            messages.append(
                Error(
                    f"SLACK_INSTALLS['PIPELINES'] entry {path!r} is not callable.",
                    hint="Give the dotted path of a function step(request, api_data).",
                    id="slack_installs.E004",
                )
            )
    return messages


# Connection.vendor of each database the install path is tested on, and its name in messages.
# The vendor is a constant of the backend: reading it sends nothing to the server (MySQL's
# display_name does, to tell MariaDB from MySQL).
SUPPORTED_VENDORS = {"postgresql": "PostgreSQL", "mysql": "MariaDB/MySQL", "sqlite": "SQLite"}


def check_database(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The install path needs one database for its models, of a kind it is tested on.

    Not a database check: it reads the configuration and the backend's constants only, so it
    runs on every ``manage.py check`` and sends no query.
    """
    from .models import Installation, OAuthAttempt, SlackApp, UserToken

    models = (SlackApp, Installation, UserToken, OAuthAttempt)
    aliases = {router.db_for_write(model) for model in models}
    if len(aliases) > 1:
        return [
            Error(
                "Your database routers send slack_installs' models to different databases "
                f"({', '.join(sorted(aliases))}).",
                hint="An install saves its installation, user token and attempt in one "
                "transaction: route every model of the app slack_installs to one database.",
                id="slack_installs.E006",
            )
        ]
    (alias,) = aliases
    connection = connections[alias]
    vendor = connection.vendor
    if vendor == "sqlite":
        # The SQLite library the backend is linked to: no server to ask.
        library = tuple(connection.Database.sqlite_version_info)  # type: ignore[attr-defined]
        if library[:2] >= tuple(connection.features.minimum_database_version or ()):
            return []
        kind = f"SQLite {_dotted(library)}"
    elif vendor in SUPPORTED_VENDORS:
        return []
    else:
        kind = f"vendor {vendor!r}"
    return [
        Error(
            f"The database {alias!r} ({kind}) is not one slack_installs supports.",
            hint=f"Use PostgreSQL, MariaDB/MySQL, or SQLite {_dotted(_sqlite_minimum())} or "
            "later (the oldest SQLite this Django supports): slack_installs is tested on "
            "these.",
            id="slack_installs.E005",
        )
    ]


def _sqlite_minimum() -> tuple[int, ...]:
    """The oldest SQLite the running Django supports (3.31 on Django 5.2, 3.37 on 6.1)."""
    from django.db.backends.sqlite3.base import DatabaseWrapper

    return tuple(DatabaseWrapper.features_class.minimum_database_version or ())


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def check_keys_in_use(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    """Warn about stored values whose key id is no longer in ``ENCRYPTION_KEYS``."""
    if not databases or not app_settings.ENCRYPTION_KEYS:
        return []  # only the databases Django hands over (migrate, check --database) are read
    by_key: dict[str, Counter[str]] = {}
    for alias in databases:
        for place, counter in _unconfigured_key_usage(alias).items():
            for key_id, count in counter.items():
                by_key.setdefault(key_id, Counter())[place] += count
    messages: list[CheckMessage] = []
    for key_id, places in sorted(by_key.items()):
        where = ", ".join(f"{place}: {count}" for place, count in sorted(places.items()))
        if key_id == keyrotation.MALFORMED:
            problem = "are not in the f1:<key id>:<token> form"
            hint = "They were written around the encrypted field; restore them from a backup."
        else:
            problem = f"use key id {key_id!r}, which is not in SLACK_INSTALLS['ENCRYPTION_KEYS']"
            hint = (
                f"Put the key with id {key_id!r} back into ENCRYPTION_KEYS and run "
                "`manage.py slack_installs_rotate_keys`; drop a key only after "
                "`slack_installs_rotate_keys --verify` succeeds."
            )
        messages.append(
            Warning(
                f"{sum(places.values())} stored values {problem}, so they cannot be "
                f"decrypted ({where}).",
                hint=hint,
                id="slack_installs.W002",
            )
        )
    return messages


def check_sign_in(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``SIGN_IN_NEW_USERS`` is one of the values Sign in with Slack knows."""
    value = app_settings._get("SIGN_IN_NEW_USERS")
    if value in SIGN_IN_NEW_USERS_CHOICES:
        return []
    return [
        Error(
            f"SLACK_INSTALLS['SIGN_IN_NEW_USERS'] is {value!r}: every sign-in would fail.",
            hint="Use 'create' (a Slack user with no account here gets one) or 'deny'.",
            id="slack_installs.E007",
        )
    ]


def _unconfigured_key_usage(alias: str) -> dict[str, Counter[str]]:
    routed_here = [
        entry
        for entry in keyrotation.encrypted_models()
        if router.allow_migrate_model(alias, entry.model)
    ]
    if not routed_here:
        return {}  # the app's tables live elsewhere
    # Database checks also run before `migrate` has created the tables.
    try:
        tables = set(connections[alias].introspection.table_names())
        entries = [entry for entry in routed_here if entry.model._meta.db_table in tables]
        with transaction.atomic(using=alias):
            return keyrotation.unconfigured_key_usage(using=alias, entries=entries)
    except DatabaseError:
        return {}


def check_saved_pipelines(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    """Warn about steps saved on an app that are no longer registered (skipped at run time)."""
    if not databases:
        return []  # only the databases Django hands over (migrate, check --database) are read
    from .models import SlackApp
    from .pipelines import unregistered_steps

    messages: list[CheckMessage] = []
    for alias in databases:
        if not router.allow_migrate_model(alias, SlackApp):
            continue  # the app's tables live elsewhere
        connection = connections[alias]
        try:
            if SlackApp._meta.db_table not in connection.introspection.table_names():
                continue  # not migrated yet
            apps = list(SlackApp.objects.using(alias).values_list("slug", "pipelines"))
        except DatabaseError:
            continue
        for slug, pipelines in apps:
            for path in unregistered_steps(pipelines):
                messages.append(
                    Warning(
                        f"Slack app {slug!r} runs the pipeline step {path!r}, which is not "
                        "registered: it is skipped after each install.",
                        hint="Register it again (@slack_installs.pipelines.register or "
                        "SLACK_INSTALLS['PIPELINES']), or remove it in the app's admin page.",
                        obj=f"SlackApp {slug}",
                        id="slack_installs.W001",
                    )
                )
    return messages
