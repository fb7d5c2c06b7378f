"""Encryption key rotation: the library, both commands and the W002 check."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core import checks
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.test.utils import CaptureQueriesContext, isolate_apps
from django.utils import timezone

from slack_installs import crypto, keyrotation
from slack_installs.fields import Ciphertext, EncryptedTextField
from slack_installs.models import Installation, OAuthAttempt, SlackApp, UserToken

K1 = "dGVzdC1rZXktMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA="  # the key of tests/settings.py
K2 = "c2Vjb25kLWtleS0wMDAwMDAwMDAwMDAwMDAwMDAwMDA="
K0 = "b2xkLWtleS0wMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA="

EXPECTED_FIELDS = {
    "slack_installs.SlackApp": {"client_secret", "signing_secret", "previous_signing_secret"},
    "slack_installs.Installation": {"bot_token", "bot_refresh_token", "incoming_webhook_url"},
    "slack_installs.UserToken": {"access_token", "refresh_token"},
    "slack_installs.OAuthAttempt": {"code_verifier"},
    "slack_installs.ConfigurationToken": {"access_token", "refresh_token"},
}


def use_keys(settings, active: str, **keys: str) -> None:
    settings.SLACK_INSTALLS = {
        **settings.SLACK_INSTALLS,
        "ENCRYPTION_KEYS": keys,
        "ACTIVE_KEY_ID": active,
    }


def raw(model: type[models.Model], name: str, using: str = DEFAULT_DB_ALIAS) -> list[str | None]:
    """The stored column of ``using``, in primary key order, exactly as it is held."""
    quote = connections[using].ops.quote_name
    table = quote(model._meta.db_table)
    column = quote(model._meta.get_field(name).column)
    pk = quote(model._meta.pk.column)
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} ORDER BY {pk}")  # noqa: S608
        return [row[0] for row in cursor.fetchall()]


def key_ids(
    model: type[models.Model], name: str, using: str = DEFAULT_DB_ALIAS
) -> list[str | None]:
    return [None if v is None else crypto.key_id_of(v) for v in raw(model, name, using)]


def make_installations(app: SlackApp, count: int) -> list[Installation]:
    return [
        Installation.objects.create(
            app=app,
            team_id=f"T{index:04d}",
            bot_token=f"xoxb-canary-{index}",
            bot_refresh_token=f"xoxe-1-canary-{index}",
        )
        for index in range(count)
    ]


@pytest.fixture
def populated(slack_app):
    """One row of every model, every encrypted field set, all under key k1."""
    SlackApp.objects.filter(pk=slack_app.pk).update(previous_signing_secret="canary-prev-7777")
    installation = Installation.objects.create(
        app=slack_app,
        team_id="T0001",
        bot_token="xoxb-canary-bot",
        bot_refresh_token="xoxe-1-canary-refresh",
        incoming_webhook_url="https://hooks.slack.com/services/T0/B0/canaryhook",
    )
    UserToken.objects.create(
        installation=installation,
        slack_user_id="U0001",
        access_token="xoxp-canary-user",
        refresh_token="xoxe-1-canary-user-refresh",
    )
    now = timezone.now()
    OAuthAttempt.objects.create(
        app=slack_app,
        state_digest="0" * 64,
        expires_at=now,
        code_verifier="canary-pkce-verifier-8888",
    )
    return slack_app


def test_every_encrypted_field_of_every_model_is_found():
    found = {entry.label: set(entry.fields) for entry in keyrotation.encrypted_models()}
    assert found == EXPECTED_FIELDS


def test_rotation_covers_every_field_and_model(populated, settings):
    plaintexts = {
        "client_secret": "canary-client-secret-5555",
        "signing_secret": "canary-signing-secret-6666",
        "previous_signing_secret": "canary-prev-7777",
    }
    use_keys(settings, "k2", k1=K1, k2=K2)
    out = StringIO()
    call_command("slack_installs_rotate_keys", "--batch-size", "1", stdout=out)

    for label, names in EXPECTED_FIELDS.items():
        rotated = (SlackApp, Installation, UserToken, OAuthAttempt)  # the others: their tests
        model = {m._meta.label: m for m in rotated}.get(label)
        for name in names if model else ():
            assert key_ids(model, name) == ["k2"], (label, name)
    app = SlackApp.objects.get()
    for name, plaintext in plaintexts.items():
        assert getattr(app, name) == plaintext
    installation = Installation.objects.get()
    assert installation.bot_token == "xoxb-canary-bot"
    assert installation.bot_refresh_token == "xoxe-1-canary-refresh"
    assert installation.incoming_webhook_url.endswith("/canaryhook")
    user_token = UserToken.objects.get()
    assert (user_token.access_token, user_token.refresh_token) == (
        "xoxp-canary-user",
        "xoxe-1-canary-user-refresh",
    )
    output = out.getvalue()
    assert "slack_installs.Installation: 1/1 rows, re-encrypted 3 values" in output
    assert "slack_installs.SlackApp: 1/1 rows, re-encrypted 3 values" in output
    assert "slack_installs.UserToken: 1/1 rows, re-encrypted 2 values" in output
    assert "slack_installs.OAuthAttempt: 1/1 rows, re-encrypted 1 values" in output
    assert OAuthAttempt.objects.get().code_verifier == "canary-pkce-verifier-8888"
    assert "canary" not in output


def test_progress_is_shown_per_batch(slack_app, settings):
    make_installations(slack_app, 5)
    use_keys(settings, "k2", k1=K1, k2=K2)
    out = StringIO()
    call_command("slack_installs_rotate_keys", "--batch-size", "2", stdout=out)
    progress = re.findall(r"slack_installs\.Installation: (\d+)/5 rows\n", out.getvalue())
    assert progress == ["2", "4", "5"]


def test_interrupted_rotation_resumes_where_it_stopped(slack_app, settings, monkeypatch):
    make_installations(slack_app, 10)
    use_keys(settings, "k2", k1=K1, k2=K2)
    real_write = keyrotation._write
    batches = []

    def failing_write(entry, updates, using):
        if entry.model is Installation:
            if len(batches) == 2:
                raise RuntimeError("power cut")
            batches.append(updates)
        real_write(entry, updates, using)

    monkeypatch.setattr(keyrotation, "_write", failing_write)
    with pytest.raises(RuntimeError, match="power cut"):
        keyrotation.rotate_keys(batch_size=3)
    # Two batches of three were committed, the third one rolled back.
    assert key_ids(Installation, "bot_token") == ["k2"] * 6 + ["k1"] * 4
    assert key_ids(Installation, "bot_refresh_token") == ["k2"] * 6 + ["k1"] * 4

    monkeypatch.setattr(keyrotation, "_write", real_write)
    reports = {report.label: report for report in keyrotation.rotate_keys(batch_size=3)}
    # The rerun is only handed the rows still to do.
    assert reports["slack_installs.Installation"].total == 4
    assert reports["slack_installs.Installation"].values_reencrypted == 8
    assert key_ids(Installation, "bot_token") == ["k2"] * 10
    assert key_ids(Installation, "bot_refresh_token") == ["k2"] * 10
    tokens = [row.bot_token for row in Installation.objects.order_by("pk")]
    assert tokens == [f"xoxb-canary-{index}" for index in range(10)]


def test_a_finished_rotation_costs_no_writes_on_rerun(slack_app, settings):
    make_installations(slack_app, 4)
    use_keys(settings, "k2", k1=K1, k2=K2)
    keyrotation.rotate_keys(batch_size=2)
    with CaptureQueriesContext(connection) as queries:
        reports = keyrotation.rotate_keys(batch_size=2)
    assert all(report.total == 0 and report.values_reencrypted == 0 for report in reports)
    statements = [q["sql"].lstrip().upper() for q in queries.captured_queries]
    assert not [sql for sql in statements if sql.startswith("UPDATE")]


def test_undecryptable_values_are_reported_and_left_untouched(slack_app, settings):
    first, second, third = make_installations(slack_app, 3)
    # A value under a key that is gone from the settings...
    use_keys(settings, "k0", k0=K0, k1=K1)
    Installation.objects.filter(pk=second.pk).update(bot_token="xoxb-under-a-lost-key")
    # ...and one under a known key that was damaged.
    stored = raw(Installation, "bot_refresh_token")[2]
    damaged = stored[:-20] + ("A" if stored[-20] != "A" else "B") + stored[-19:]
    Installation.objects.filter(pk=third.pk).update(bot_refresh_token=Ciphertext(damaged))
    before_second = raw(Installation, "bot_token")[1]
    before_third = raw(Installation, "bot_refresh_token")[2]

    use_keys(settings, "k2", k1=K1, k2=K2)
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("slack_installs_rotate_keys", stdout=out, stderr=err)
    assert excinfo.value.returncode == 1
    assert "2 values could not be decrypted" in str(excinfo.value)

    assert raw(Installation, "bot_token")[1] == before_second
    assert raw(Installation, "bot_refresh_token")[2] == before_third
    problems = err.getvalue()
    assert f"slack_installs.Installation pk={second.pk} field bot_token" in problems
    assert "'k0'" in problems
    assert f"slack_installs.Installation pk={third.pk} field bot_refresh_token" in problems
    assert "left untouched" in problems
    # Everything else moved to the new key.
    assert key_ids(Installation, "bot_token") == ["k2", "k0", "k2"]
    assert key_ids(Installation, "bot_refresh_token") == ["k2", "k2", "k1"]
    assert Installation.objects.get(pk=first.pk).bot_token == "xoxb-canary-0"
    assert Installation.objects.get(pk=second.pk).bot_refresh_token == "xoxe-1-canary-1"


def test_dry_run_counts_and_changes_nothing(populated, settings):
    names = EXPECTED_FIELDS["slack_installs.Installation"]
    before = {name: raw(Installation, name) for name in names}
    use_keys(settings, "k2", k1=K1, k2=K2)
    out = StringIO()
    with CaptureQueriesContext(connection) as queries:
        call_command("slack_installs_rotate_keys", "--dry-run", stdout=out)
    assert {name: raw(Installation, name) for name in before} == before
    assert "Dry run" in out.getvalue()
    assert "slack_installs.Installation: 1/1 rows, would re-encrypt 3 values" in out.getvalue()
    sql = " ".join(q["sql"].upper() for q in queries.captured_queries)
    assert "UPDATE" not in sql and "FOR UPDATE" not in sql


def test_batch_size_is_checked(db):
    with pytest.raises(CommandError, match="--batch-size"):
        call_command("slack_installs_rotate_keys", "--batch-size", "0")


# Since Django 6.1.3, checks run without a database still hand every configured alias to the
# model checks (JSONField asks each database whether it supports JSON): the routed one too.
@pytest.mark.django_db(databases=["default", "routed"])
def test_verify_exits_non_zero_while_an_old_key_is_in_use(populated, settings, capsys, monkeypatch):
    use_keys(settings, "k2", k1=K1, k2=K2)
    # run_from_argv closes every connection when done; the test's own must stay open.
    monkeypatch.setattr(connections, "close_all", lambda: None)
    with pytest.raises(SystemExit) as excinfo:
        execute_from_command_line(["manage.py", "slack_installs_rotate_keys", "--verify"])
    assert excinfo.value.code == 1
    captured = capsys.readouterr()
    assert "slack_installs.Installation.bot_token: k1: 1" in captured.out
    assert "9 values are not under the active key 'k2'" in captured.err

    keyrotation.rotate_keys()
    execute_from_command_line(["manage.py", "slack_installs_rotate_keys", "--verify"])
    captured = capsys.readouterr()
    assert "Total: 9 values under the active key 'k2'" in captured.out
    assert "Every value is under the active key 'k2'." in captured.out


def test_generate_key_prints_a_usable_key(settings, capsys):
    settings.SLACK_INSTALLS = {}  # also works before any key exists (E001 must not block it)
    execute_from_command_line(["manage.py", "slack_installs_generate_key"])
    out = capsys.readouterr().out
    key_id = re.search(r"^Key id: (\S+)$", out, re.M).group(1)
    key = re.search(r"^Key:\s+(\S+)$", out, re.M).group(1)
    assert re.fullmatch(r"\d{4}-\d{2}", key_id)
    assert crypto.is_valid_key(key)
    assert f'"ACTIVE_KEY_ID": "{key_id}"' in out


def test_generate_key_never_reuses_an_id(settings):
    out = StringIO()
    call_command("slack_installs_generate_key", "--key-id", "2030-01", stdout=out)
    assert "Key id: 2030-01" in out.getvalue()
    with pytest.raises(CommandError, match="already has a key"):
        call_command("slack_installs_generate_key", "--key-id", "k1")
    with pytest.raises(CommandError, match="--key-id"):
        call_command("slack_installs_generate_key", "--key-id", "no spaces")
    from slack_installs.management.commands.slack_installs_generate_key import new_key_id

    month = new_key_id(set())
    assert new_key_id({month}) == f"{month}-2"
    assert new_key_id({month, f"{month}-2"}) == f"{month}-3"


def w002(**kwargs):
    return [m for m in checks.run_checks(**kwargs) if m.id == "slack_installs.W002"]


# Since Django 6.1.3, checks run without a database still hand every configured alias to the
# model checks (JSONField asks each database whether it supports JSON): the routed one too.
@pytest.mark.django_db(databases=["default", "routed"])
def test_w002_warns_about_values_under_a_dropped_key(populated, settings):
    assert w002(databases=["default"]) == []
    use_keys(settings, "k2", k2=K2)
    messages = w002(databases=["default"])
    assert len(messages) == 1
    assert "9 stored values use key id 'k1'" in messages[0].msg
    assert "slack_installs.Installation.bot_token: 1" in messages[0].msg
    assert "'k1'" in messages[0].hint
    # Database checks run only when asked for a database.
    assert w002() == []


def test_w002_reports_values_not_in_stored_form(slack_app):
    installation = Installation.objects.create(app=slack_app, team_id="T9", bot_token="xoxb-x")
    table = connection.ops.quote_name(Installation._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET bot_token = %s WHERE id = %s",  # noqa: S608
            ["xoxb-written-around-the-field", installation.pk],
        )
    messages = w002(databases=["default"])
    assert len(messages) == 1
    assert "1 stored values are not in the f1:<key id>:<token> form" in messages[0].msg


@isolate_apps("slack_installs")
def test_w002_is_quiet_before_migrations(db, monkeypatch):
    class NotMigrated(models.Model):
        secret = EncryptedTextField()

        class Meta:
            app_label = "slack_installs"
            db_table = "slack_installs_not_migrated_yet"

        def __str__(self) -> str:
            return "not migrated"

    entry = keyrotation.EncryptedModel(NotMigrated, ("secret",))
    monkeypatch.setattr(keyrotation, "encrypted_models", lambda: [entry])
    assert w002(databases=["default"]) == []
    # Even when the table seems to exist but the query fails, the check stays quiet.
    monkeypatch.setattr(
        type(connection.introspection),
        "table_names",
        lambda self, *args, **kwargs: ["slack_installs_not_migrated_yet"],
    )
    assert w002(databases=["default"]) == []
    # The connection is still usable afterwards (a failed query did not poison it).
    assert SlackApp.objects.count() == 0
