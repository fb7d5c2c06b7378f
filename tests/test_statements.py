"""slack_installs.statements: the install path's single-row SQL, judged by the rows it leaves.

Each statement is compared with what the ORM stores or loads for the same values, column
by column as the database driver returns them, so the tests hold on SQLite and PostgreSQL
alike (where SQLite keeps booleans as 0/1 and dates as text, both paths must agree).
"""

from __future__ import annotations

import datetime
import threading
from collections import Counter
from typing import Any

import pytest
from django.db import connection, connections
from django.db.models import Model
from django.db.models.signals import post_save, pre_save
from django.utils import timezone

from slack_installs import crypto, statements
from slack_installs.fields import Ciphertext
from slack_installs.models import Installation, OAuthAttempt, SlackApp, UserToken
from tests import slack_payloads

pytestmark = pytest.mark.django_db

CACHE = "_slack_installs_statements"
NEW_BOT_TOKEN = "xoxb-canary-new-bot-7777-ffffgggghhhh"
NEW_USER_TOKEN = "xoxp-canary-new-user-8888-iiiijjjjkkkk"
LONG_AGO = datetime.datetime(2020, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def fresh_statements():
    """Every test builds its statements itself and leaves none behind: one built while a
    test pretends the database has no RETURNING must not serve the tests after it."""
    # On the connection itself: ``django.db.connection`` is a proxy with a __dict__ of its own.
    connections["default"].__dict__.pop(CACHE, None)
    yield
    connections["default"].__dict__.pop(CACHE, None)


def cached_statements() -> dict[tuple, Any]:
    return connections["default"].__dict__[CACHE]


@pytest.fixture
def builds(monkeypatch) -> list[tuple]:
    """The cache keys of the statements (and converter lists) actually built."""
    built: list[tuple] = []
    cached = statements._cached

    def spy(conn: Any, key: tuple, build: Any) -> Any:
        def counted() -> Any:
            built.append(key)
            return build()

        return cached(conn, key, counted)

    monkeypatch.setattr(statements, "_cached", spy)
    return built


def pretend_no_returning(monkeypatch) -> None:
    """The path of databases without RETURNING (SQLite before 3.35)."""
    monkeypatch.setattr(connection.features, "can_return_columns_from_insert", False)


def raw_row(model: type[Model], pk: Any) -> dict[str, Any]:
    """Every column of row ``pk`` exactly as the driver returns it, by attname."""
    quote = connection.ops.quote_name
    fields = model._meta.concrete_fields
    columns = ", ".join(quote(field.column) for field in fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {quote(model._meta.db_table)} "  # noqa: S608
            f"WHERE {quote(model._meta.pk.column)} = %s",
            [pk],
        )
        row = cursor.fetchone()
    assert row is not None, f"no {model.__name__} row {pk}"
    return {field.attname: value for field, value in zip(fields, row, strict=True)}


def without(row: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: value for name, value in row.items() if name not in names}


def loaded_state(instance: Model) -> dict[str, tuple[type, Any]]:
    """What a loaded instance holds for each column: the value and its exact type."""
    return {
        field.attname: (type(instance.__dict__[field.attname]), instance.__dict__[field.attname])
        for field in instance._meta.concrete_fields
    }


def assert_ciphertext_of(stored: Any, plaintext: str) -> None:
    assert isinstance(stored, str)
    assert stored.startswith("f1:")
    assert plaintext not in stored
    assert crypto.decrypt(stored) == plaintext


def attempt(app: SlackApp, digest: str, **values: Any) -> OAuthAttempt:
    values.setdefault("created_at", LONG_AGO)
    values.setdefault("expires_at", LONG_AGO + datetime.timedelta(minutes=10))
    return OAuthAttempt(app=app, state_digest=digest, **values)


@pytest.fixture
def installation(slack_app) -> Installation:
    return Installation.objects.create(
        app=slack_app,
        team_id="T1",
        team_name="Acme",
        bot_id="B1",
        bot_token=slack_payloads.BOT_TOKEN,
        installed_at=LONG_AGO,
    )


# --- get_by ----------------------------------------------------------------------------


def test_get_by_loads_what_the_orm_loads(slack_app):
    SlackApp.objects.filter(pk=slack_app.pk).update(
        pipelines=["tests.steps.one", "tests.steps.two"],
        is_active=False,
        previous_signing_secret_expires_at=LONG_AGO,
    )
    loaded = statements.get_by(SlackApp, "slug", "acme")
    orm = SlackApp.objects.get(pk=slack_app.pk)

    assert loaded == orm
    assert loaded_state(loaded) == loaded_state(orm)
    assert loaded._state.adding is False
    assert loaded._state.db == "default"
    assert loaded.pipelines == ["tests.steps.one", "tests.steps.two"]
    assert loaded.is_active is False
    assert loaded.previous_signing_secret_expires_at == LONG_AGO
    assert loaded.created_at.tzinfo is not None
    assert loaded.previous_signing_secret_expires_at.tzinfo is not None
    # The instance holds the ciphertext; the attribute decrypts it on each read.
    stored = raw_row(SlackApp, slack_app.pk)["client_secret"]
    assert_ciphertext_of(stored, slack_payloads.CLIENT_SECRET)
    assert loaded.__dict__["client_secret"] == stored
    assert isinstance(loaded.__dict__["client_secret"], Ciphertext)
    assert loaded.client_secret == slack_payloads.CLIENT_SECRET
    assert loaded.previous_signing_secret is None


def test_get_by_loads_json_and_foreign_keys_of_an_attempt(slack_app, django_user_model):
    user = django_user_model.objects.create(username="installer")
    saved = attempt(slack_app, "d" * 64, user=user, response={"ok": True, "team": {"id": "T1"}})
    saved.save()

    loaded = statements.get_by(OAuthAttempt, "state_digest", "d" * 64)

    assert loaded_state(loaded) == loaded_state(OAuthAttempt.objects.get(pk=saved.pk))
    assert loaded.response == {"ok": True, "team": {"id": "T1"}}
    assert (loaded.app_id, loaded.user_id, loaded.installation_id) == (slack_app.pk, user.pk, None)


def test_get_by_a_missing_row_is_none(slack_app):
    assert statements.get_by(SlackApp, "slug", "nope") is None
    assert statements.get_by(OAuthAttempt, "state_digest", "e" * 64) is None


# --- insert ----------------------------------------------------------------------------


def test_insert_stores_what_save_stores(slack_app, django_user_model):
    user = django_user_model.objects.create(username="installer")
    values = {
        "user": user,
        "redirect_uri": "https://example.com/cb",
        "next_url": "/done/",
        "team": "T1",
        "created_at": LONG_AGO,
        "response": {"ok": False, "error": "nope", "n": [1, 2.5, None]},
    }
    saved = attempt(slack_app, "a" * 64, **values)
    saved.save()
    inserted = attempt(slack_app, "b" * 64, **values)

    statements.insert(inserted)

    assert inserted.pk is not None
    assert inserted.pk != saved.pk
    assert inserted._state.adding is False
    assert inserted._state.db == "default"
    assert without(raw_row(OAuthAttempt, inserted.pk), "id", "state_digest") == without(
        raw_row(OAuthAttempt, saved.pk), "id", "state_digest"
    )
    reloaded = OAuthAttempt.objects.get(pk=inserted.pk)
    assert reloaded.status == OAuthAttempt.Status.PENDING
    assert reloaded.response == values["response"]
    assert reloaded.created_at == LONG_AGO


def test_insert_fills_defaults_timestamps_and_encrypts(db):
    before = timezone.now()
    app = SlackApp(
        name="Canary",
        slug="canary",
        client_id="333.444",
        client_secret=slack_payloads.CLIENT_SECRET,
        signing_secret=slack_payloads.SIGNING_SECRET,
    )

    statements.insert(app)

    after = timezone.now()
    raw = raw_row(SlackApp, app.pk)
    for secret in slack_payloads.CANARIES:
        assert secret not in repr(raw)
    assert_ciphertext_of(raw["client_secret"], slack_payloads.CLIENT_SECRET)
    assert_ciphertext_of(raw["signing_secret"], slack_payloads.SIGNING_SECRET)
    assert raw["previous_signing_secret"] is None
    # The instance keeps the ciphertext it wrote, so saving it again does not re-encrypt.
    assert app.__dict__["client_secret"] == raw["client_secret"]
    assert app.client_secret == slack_payloads.CLIENT_SECRET

    reloaded = SlackApp.objects.get(pk=app.pk)
    assert reloaded.pipelines == []
    assert reloaded.is_active is True
    assert reloaded.bot_scopes == ""
    assert before <= reloaded.created_at <= after
    assert before <= reloaded.updated_at <= after
    assert (app.created_at, app.updated_at) == (reloaded.created_at, reloaded.updated_at)


def test_insert_takes_default_now_and_auto_now(slack_app):
    before = timezone.now()
    installation = Installation(
        app=slack_app, team_id="T9", bot_token=slack_payloads.BOT_TOKEN, incoming_webhook_url=""
    )

    statements.insert(installation)

    after = timezone.now()
    reloaded = Installation.objects.get(pk=installation.pk)
    assert before <= reloaded.installed_at <= after
    assert before <= reloaded.updated_at <= after
    assert reloaded.enterprise_id == ""
    assert reloaded.is_enterprise_install is False
    assert reloaded.bot_token == slack_payloads.BOT_TOKEN
    raw = raw_row(Installation, installation.pk)
    assert_ciphertext_of(raw["bot_token"], slack_payloads.BOT_TOKEN)
    assert raw["incoming_webhook_url"] is None
    assert raw["revoked_at"] is None


@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="PostgreSQL always has INSERT ... RETURNING"
)
def test_insert_without_returning_takes_the_new_rows_id(slack_app, monkeypatch):
    first = attempt(slack_app, "a" * 64)
    first.save()
    pretend_no_returning(monkeypatch)
    second = attempt(slack_app, "b" * 64)

    statements.insert(second)

    assert second.pk == first.pk + 1
    assert second._state.adding is False
    assert raw_row(OAuthAttempt, second.pk)["state_digest"] == "b" * 64
    assert "RETURNING" not in cached_statements()[("insert", OAuthAttempt, False)]


def test_statements_send_no_model_signals(slack_app):
    """Documented in the module: the install path's only signal is installation_completed."""
    received = []

    def receiver(sender, **kwargs):
        received.append(sender)

    pre_save.connect(receiver, dispatch_uid="test_statements")
    post_save.connect(receiver, dispatch_uid="test_statements")
    try:
        inserted = attempt(slack_app, "a" * 64)
        statements.insert(inserted)
        statements.upsert(
            Installation(app=slack_app, team_id="T1"),
            unique_fields=["app", "enterprise_id", "team_id"],
            update_fields=["updated_at"],
        )
        assert statements.update(OAuthAttempt, inserted.pk, {"error": "x"}) == 1
        assert received == []
        attempt(slack_app, "b" * 64).save()  # the receivers do hear the ORM
        assert received == [OAuthAttempt, OAuthAttempt]
    finally:
        pre_save.disconnect(dispatch_uid="test_statements")
        post_save.disconnect(dispatch_uid="test_statements")
    assert OAuthAttempt.objects.count() == 2
    assert Installation.objects.count() == 1


# --- upsert ----------------------------------------------------------------------------

WORKSPACE = ["app", "enterprise_id", "team_id"]


@pytest.fixture(params=[True, False], ids=["returning", "read-back"])
def upsert(request, monkeypatch):
    """``statements.upsert`` as run where INSERT has RETURNING, and where it has not (the row
    is then read back). The test's own rows are made before it pretends."""

    def run(instance: Model, **kwargs: Any) -> Model:
        if not request.param:
            pretend_no_returning(monkeypatch)
        return statements.upsert(instance, **kwargs)

    return run


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create(username="alice")


def test_upsert_creates_the_row_when_absent(slack_app, upsert):
    before = timezone.now()

    stored = upsert(
        Installation(app=slack_app, team_id="T1", team_name="Acme", bot_token=NEW_BOT_TOKEN),
        unique_fields=WORKSPACE,
        update_fields=["team_name", "bot_token", "updated_at"],
    )

    raw = raw_row(Installation, stored.pk)
    assert Installation.objects.get() == stored
    assert stored._state.adding is False
    assert (stored.team_id, stored.team_name, stored.app_id) == ("T1", "Acme", slack_app.pk)
    assert before <= stored.installed_at <= timezone.now()
    assert_ciphertext_of(raw["bot_token"], NEW_BOT_TOKEN)
    assert stored.__dict__["bot_token"] == raw["bot_token"]
    assert stored.bot_token == NEW_BOT_TOKEN
    assert loaded_state(stored) == loaded_state(Installation.objects.get())


def test_upsert_updates_only_update_fields_of_an_existing_row(installation, upsert, alice):
    Installation.objects.filter(pk=installation.pk).update(installed_by=alice)
    before = raw_row(Installation, installation.pk)
    start = timezone.now()

    stored = upsert(
        Installation(
            app=installation.app,
            team_id="T1",
            team_name="Acme Renamed",
            bot_token=NEW_BOT_TOKEN,
            installed_at=timezone.now(),
        ),
        unique_fields=WORKSPACE,
        update_fields=["team_name", "bot_token", "updated_at"],
    )

    after = raw_row(Installation, installation.pk)
    assert Installation.objects.count() == 1
    assert stored.pk == installation.pk
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {"team_name", "bot_token", "updated_at"}
    assert after["team_name"] == "Acme Renamed"
    assert_ciphertext_of(after["bot_token"], NEW_BOT_TOKEN)
    # The returned instance is the row as stored, not the instance that was passed in.
    assert stored.bot_id == "B1"
    assert stored.installed_by_id == alice.pk
    assert stored.installed_at == LONG_AGO
    assert stored.team_name == "Acme Renamed"
    assert start <= stored.updated_at <= timezone.now()
    assert isinstance(stored.__dict__["bot_token"], Ciphertext)
    assert stored.__dict__["bot_token"] == after["bot_token"]
    assert NEW_BOT_TOKEN not in repr(stored.__dict__)
    assert stored.bot_token == NEW_BOT_TOKEN
    assert loaded_state(stored) == loaded_state(Installation.objects.get())


def test_upsert_of_a_user_token_keeps_its_creation_and_user(installation, upsert, alice):
    token = UserToken.objects.create(
        installation=installation,
        slack_user_id="U1",
        scopes="search:read",
        access_token=slack_payloads.USER_TOKEN,
        refresh_token=slack_payloads.USER_REFRESH_TOKEN,
        user=alice,
        created_at=LONG_AGO,
    )

    stored = upsert(
        UserToken(
            installation=installation,
            slack_user_id="U1",
            scopes="search:read,users:read",
            access_token=NEW_USER_TOKEN,
            refresh_token=None,
        ),
        unique_fields=["installation", "slack_user_id"],
        update_fields=["scopes", "access_token", "refresh_token", "updated_at"],
    )

    raw = raw_row(UserToken, token.pk)
    assert UserToken.objects.count() == 1
    assert stored.pk == token.pk
    assert (stored.created_at, stored.user_id) == (LONG_AGO, alice.pk)
    assert raw["user_id"] == alice.pk
    assert raw["scopes"] == "search:read,users:read"
    assert_ciphertext_of(raw["access_token"], NEW_USER_TOKEN)
    assert raw["refresh_token"] is None
    assert stored.refresh_token is None
    assert stored.access_token == NEW_USER_TOKEN
    assert loaded_state(stored) == loaded_state(UserToken.objects.get())


def test_upsert_without_returning_writes_no_returning_clause(slack_app, monkeypatch):
    pretend_no_returning(monkeypatch)
    statements.upsert(
        Installation(app=slack_app, team_id="T1"),
        unique_fields=WORKSPACE,
        update_fields=["team_name"],
    )
    (sql,) = [text for key, text in cached_statements().items() if key[0] == "upsert"]
    assert "ON CONFLICT" in sql
    assert "RETURNING" not in sql


# --- update ----------------------------------------------------------------------------


def test_update_stores_what_queryset_update_stores(slack_app, installation):
    by_statement = attempt(slack_app, "a" * 64, response={"ok": True})
    by_queryset = attempt(slack_app, "b" * 64, response={"ok": True})
    by_statement.save()
    by_queryset.save()
    values = {
        "status": OAuthAttempt.Status.SUCCEEDED,
        "finished_at": LONG_AGO,
        "installation": installation,
        "response": {"ok": True, "team": {"id": "T1", "name": "Acme"}, "scopes": ["a", "b"]},
    }

    assert statements.update(OAuthAttempt, by_statement.pk, values) == 1
    OAuthAttempt.objects.filter(pk=by_queryset.pk).update(**values)

    raw = raw_row(OAuthAttempt, by_statement.pk)
    assert without(raw, "id", "state_digest") == without(
        raw_row(OAuthAttempt, by_queryset.pk), "id", "state_digest"
    )
    assert raw["installation_id"] == installation.pk
    reloaded = OAuthAttempt.objects.get(pk=by_statement.pk)
    assert reloaded.finished_at == LONG_AGO
    assert reloaded.response == values["response"]
    assert reloaded.status == "succeeded"


def test_update_of_none_writes_sql_null(slack_app, installation):
    saved = attempt(slack_app, "a" * 64, installation=installation, response={"ok": True})
    saved.save()

    assert statements.update(OAuthAttempt, saved.pk, {"response": None, "installation": None}) == 1

    raw = raw_row(OAuthAttempt, saved.pk)
    assert (raw["response"], raw["installation_id"]) == (None, None)
    assert OAuthAttempt.objects.filter(response__isnull=True).count() == 1


def test_update_encrypts_and_leaves_auto_now_alone(installation):
    """As ``QuerySet.update()``: only the values given are written."""
    before = raw_row(Installation, installation.pk)

    assert statements.update(Installation, installation.pk, {"bot_token": NEW_BOT_TOKEN}) == 1

    after = raw_row(Installation, installation.pk)
    assert_ciphertext_of(after["bot_token"], NEW_BOT_TOKEN)
    assert without(after, "bot_token") == without(before, "bot_token")
    assert Installation.objects.get().bot_token == NEW_BOT_TOKEN


def test_update_where_equal_and_is_null(slack_app):
    saved = attempt(slack_app, "a" * 64)
    saved.save()
    pending = {"status": OAuthAttempt.Status.PENDING, "consumed_at": None}
    now = timezone.now()

    def set_error(error: str, **where: Any) -> int:
        return statements.update(OAuthAttempt, saved.pk, {"error": error}, where=where)

    assert statements.update(OAuthAttempt, saved.pk, {"consumed_at": now}, where=pending) == 1
    assert OAuthAttempt.objects.get().consumed_at == now
    # Claimed once: consumed_at is no longer NULL.
    later = now + datetime.timedelta(seconds=1)
    assert statements.update(OAuthAttempt, saved.pk, {"consumed_at": later}, where=pending) == 0
    assert OAuthAttempt.objects.get().consumed_at == now
    assert set_error("x", status=OAuthAttempt.Status.DENIED) == 0
    assert set_error("y", status=OAuthAttempt.Status.PENDING) == 1
    # A datetime in a condition is prepared as the column stores it.
    assert set_error("z", consumed_at=now) == 1
    assert set_error("w", consumed_at=later) == 0
    assert OAuthAttempt.objects.get().error == "z"
    # No row of that pk.
    assert statements.update(OAuthAttempt, saved.pk + 1000, {"error": "v"}) == 0
    assert OAuthAttempt.objects.get().error == "z"


def test_update_where_a_related_instance_stands_for_its_pk(slack_app, installation):
    other = Installation.objects.create(app=slack_app, team_id="T2")
    saved = attempt(slack_app, "a" * 64, installation=installation)
    saved.save()

    def set_error(error: str, installation: Installation) -> int:
        where = {"installation": installation}
        return statements.update(OAuthAttempt, saved.pk, {"error": error}, where=where)

    assert set_error("x", other) == 0
    assert set_error("y", installation) == 1
    assert OAuthAttempt.objects.get().error == "y"


# --- the statement cache ---------------------------------------------------------------


def test_each_statement_is_built_once_per_connection(slack_app, builds):
    for slug in ["acme", "acme", "nope"]:
        statements.get_by(SlackApp, "slug", slug)
    for digest in ["a", "b", "c"]:
        statements.insert(attempt(slack_app, digest * 64))
    for team_id in ["T1", "T1", "T2"]:
        statements.upsert(
            Installation(app=slack_app, team_id=team_id),
            unique_fields=WORKSPACE,
            update_fields=["team_name"],
        )
    for error in ["x", "y"]:
        statements.update(OAuthAttempt, 1, {"error": error}, where={"consumed_at": None})

    # Converters: SlackApp's for get_by, Installation's for the rows upsert returns.
    assert Counter(key[0] for key in builds) == {
        "get_by": 1,
        "converters": 2,
        "insert": 1,
        "upsert": 1,
        "update": 1,
    }
    assert len(builds) == len(set(builds))
    assert set(cached_statements()) == set(builds)
    assert Installation.objects.count() == 2


def test_another_thread_builds_on_its_own_connection(db, builds):
    def look_up() -> None:
        try:
            assert statements.get_by(SlackApp, "slug", "nope") is None
        finally:
            connections.close_all()

    statements.get_by(SlackApp, "slug", "nope")
    thread = threading.Thread(target=look_up)
    thread.start()
    thread.join()
    statements.get_by(SlackApp, "slug", "nope")

    assert Counter(key[0] for key in builds) == {"get_by": 2}
    assert list(cached_statements()) == [("get_by", SlackApp, "slug")]


def test_each_shape_gets_its_own_statement(slack_app, builds):
    saved = attempt(slack_app, "a" * 64)
    saved.save()
    statements.update(OAuthAttempt, saved.pk, {"error": "x"}, where={"consumed_at": None})
    statements.update(OAuthAttempt, saved.pk, {"error": "x"}, where={"consumed_at": timezone.now()})
    statements.update(OAuthAttempt, saved.pk, {"error": "x"})
    statements.update(OAuthAttempt, saved.pk, {"error": "x", "status": "failed"})
    statements.update(OAuthAttempt, saved.pk, {"status": "failed", "error": "x"})
    for update_fields in [["team_name"], ["team_name", "bot_id"]]:
        statements.upsert(
            Installation(app=slack_app, team_id="T1", team_name="Acme", bot_id="B2"),
            unique_fields=WORKSPACE,
            update_fields=update_fields,
        )

    sql = {key: cached_statements()[key] for key in builds}
    updates = [text for key, text in sql.items() if key[0] == "update"]
    upserts = [text for key, text in sql.items() if key[0] == "upsert"]
    assert len(updates) == len(set(updates)) == 5
    assert len(upserts) == len(set(upserts)) == 2
    null_test, equal_test = updates[:2]
    assert "IS NULL" in null_test
    assert "IS NULL" not in equal_test
    sets_bot_id = f"{connection.ops.quote_name('bot_id')} = excluded."
    assert sets_bot_id not in upserts[0]
    assert sets_bot_id in upserts[1]
    # The statements built for each shape did their work.
    assert Installation.objects.values_list("team_name", "bot_id").get() == ("Acme", "B2")
