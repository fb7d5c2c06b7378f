from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import django
import pytest
from django.core.checks.registry import registry
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from slack_installs import checks, crypto

KEY = "dGVzdC1rZXktMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA="
ROOT = Path(__file__).resolve().parent.parent


def ids(messages):
    return [message.id for message in messages]


def test_valid_configuration_passes():
    assert checks.check_encryption_keys() == []
    assert checks.check_pipeline_paths() == []


@pytest.mark.parametrize("value", [{}, {"ENCRYPTION_KEYS": {}}, None])
def test_e001_no_keys(value):
    with override_settings(SLACK_INSTALLS=value):
        messages = checks.check_encryption_keys()
    assert ids(messages) == ["slack_installs.E001"]
    assert "slack_installs_generate_key" in messages[0].hint
    assert "SECRET_KEY" in messages[0].hint


def test_e002_unknown_active_key_id():
    with override_settings(SLACK_INSTALLS={"ENCRYPTION_KEYS": {"a": KEY}, "ACTIVE_KEY_ID": "b"}):
        messages = checks.check_encryption_keys()
    assert ids(messages) == ["slack_installs.E002"]
    assert "'a'" in messages[0].hint


def test_e002_several_keys_and_no_active_key_id():
    with override_settings(
        SLACK_INSTALLS={"ENCRYPTION_KEYS": {"a": KEY, "b": crypto.generate_key()}}
    ):
        assert ids(checks.check_encryption_keys()) == ["slack_installs.E002"]


@pytest.mark.parametrize("keys", [{"a": "not-a-fernet-key"}, {"bad:id": KEY}, {"a": 12345}])
def test_e003_malformed_key(keys):
    with override_settings(SLACK_INSTALLS={"ENCRYPTION_KEYS": keys}):
        messages = checks.check_encryption_keys()
    assert "slack_installs.E003" in ids(messages)
    assert all("not-a-fernet-key" not in message.msg for message in messages)


def test_e004_pipeline_path_that_does_not_import():
    settings_value = {
        "ENCRYPTION_KEYS": {"k1": KEY},
        "PIPELINES": ["nowhere.to_be.found", "slack_installs.conf.DEFAULTS"],
    }
    with override_settings(SLACK_INSTALLS=settings_value):
        messages = checks.check_pipeline_paths()
    assert ids(messages) == ["slack_installs.E004", "slack_installs.E004"]
    assert "nowhere.to_be.found" in messages[0].msg
    assert "not callable" in messages[1].msg


def test_checks_are_registered_with_django():
    from django.core import checks as django_checks

    # No database asked for: on Django 6.1 run_checks() hands every database to the checks
    # by default, and the database checks would then read them.
    with override_settings(SLACK_INSTALLS={}):
        messages = django_checks.run_checks(tags=["slack_installs"], databases=[])
    assert "slack_installs.E001" in ids(messages)


def test_importing_the_checks_module_registers_nothing(monkeypatch):
    """Registration belongs to ``AppConfig.ready()``: a fresh import of checks.py adds nothing."""
    monkeypatch.setattr(registry, "registered_checks", set(registry.registered_checks))
    monkeypatch.setattr(registry, "deployment_checks", set(registry.deployment_checks))
    before = registry.get_checks(include_deployment_checks=True)
    spec = importlib.util.find_spec("slack_installs.checks")
    module = importlib.util.module_from_spec(spec)  # a second copy, outside sys.modules
    spec.loader.exec_module(module)
    assert registry.get_checks(include_deployment_checks=True) == before


def test_ready_registers_each_check_once_with_its_tags():
    ours = [check for check in registry.get_checks() if check.__module__ == checks.__name__]
    assert sorted((check.__name__, sorted(check.tags)) for check in ours) == [
        ("check_database", ["slack_installs"]),
        ("check_encryption_keys", ["slack_installs"]),
        ("check_keys_in_use", ["database", "slack_installs"]),
        ("check_pipeline_paths", ["slack_installs"]),
        ("check_saved_pipelines", ["database", "slack_installs"]),
        ("check_sign_in", ["slack_installs"]),
    ]


def test_manage_py_check_runs_our_checks(settings):
    out = io.StringIO()
    call_command("check", stdout=out)
    assert "no issues" in out.getvalue()
    settings.SLACK_INSTALLS = {"ENCRYPTION_KEYS": {"k1": "not-a-fernet-key"}}
    with pytest.raises(SystemCheckError, match=r"slack_installs\.E003"):
        call_command("check", stdout=io.StringIO())


def test_manage_py_check_of_the_demo_site_runs_our_checks():
    # The demo as a newcomer runs it: its own settings, on its own SQLite file.
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")
    }

    def check(**extra_env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", "check"],
            cwd=ROOT,
            env={**env, **extra_env},
            capture_output=True,
            text=True,
            timeout=120,
        )

    clean = check()
    assert clean.returncode == 0, clean.stderr
    assert "System check identified no issues" in clean.stdout
    broken = check(SLACK_INSTALLS_KEY="not-a-fernet-key")
    assert broken.returncode == 1
    assert "(slack_installs.E003)" in broken.stderr
    assert "not-a-fernet-key" not in broken.stderr  # the message names the key id, not the key


def test_the_checks_that_are_not_database_checks_send_no_query():
    # No django_db mark: a query raises RuntimeError. Django 6.1 hands every database to
    # every check, database check or not.
    from django.db import connections

    everyone = list(connections)
    assert checks.check_encryption_keys(databases=everyone) == []
    assert checks.check_pipeline_paths(databases=everyone) == []
    assert checks.check_database(databases=everyone) == []


def test_the_database_checks_read_nothing_unless_a_database_is_asked_for():
    # No django_db mark: a query raises RuntimeError.
    for databases in (None, []):
        assert checks.check_saved_pipelines(databases=databases) == []
        assert checks.check_keys_in_use(databases=databases) == []


@pytest.mark.django_db
def test_the_database_checks_skip_a_database_the_app_is_not_routed_to(
    monkeypatch, slack_app, django_assert_num_queries
):
    from django.db import router

    slack_app.pipelines = ["myproject.slack.removed_step"]
    slack_app.save()
    assert ids(checks.check_saved_pipelines(databases=["default"])) == ["slack_installs.W001"]
    monkeypatch.setattr(router, "allow_migrate_model", lambda alias, model: False)
    with django_assert_num_queries(0):
        assert checks.check_saved_pipelines(databases=["default"]) == []
        assert checks.check_keys_in_use(databases=["default"]) == []


@pytest.mark.parametrize(
    "command", [["check"], ["check", "--database", "default"], ["check", "--tag", "slack_installs"]]
)
def test_check_passes_on_a_fresh_unmigrated_database(tmp_path, command):
    fresh = tmp_path / "fresh.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "demo_site.settings",
        "DATABASE_URL": f"sqlite:///{fresh}",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    if fresh.exists():  # the database checks looked, and created nothing
        with contextlib.closing(sqlite3.connect(fresh)) as db:
            assert db.execute("SELECT name FROM sqlite_master").fetchall() == []


# Django 6.1's own model checks read every database (SQLite's JSON support, for one).
@pytest.mark.django_db(databases="__all__")
def test_deploy_checks_raise_nothing_of_ours_with_production_like_settings(settings):
    from django.core import checks as django_checks

    settings.DEBUG = False
    settings.SECRET_KEY = "x" * 60 + "production-like-secret-key"
    settings.SECURE_SSL_REDIRECT = True
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_HSTS_SECONDS = 31536000
    messages = django_checks.run_checks(include_deployment_checks=True)
    assert [m.id for m in messages if m.id.startswith("slack_installs.")] == []


def test_the_test_database_is_supported():
    assert checks.check_database() == []


class Unreadable:
    """A server attribute E005 must not touch: reading it would send a query on MySQL."""

    def __get__(self, instance, owner):
        raise AssertionError("E005 read the server (display_name queries MySQL/MariaDB)")


def fake_connection(vendor, sqlite_version=(3, 45, 1)):
    connection = type("FakeConnection", (), {"display_name": Unreadable()})()
    connection.vendor = vendor
    connection.features = SimpleNamespace(minimum_database_version=checks._sqlite_minimum())
    connection.Database = SimpleNamespace(sqlite_version_info=sqlite_version)
    return connection


@pytest.mark.parametrize("vendor", ["postgresql", "mysql", "sqlite"])
def test_e005_accepts_every_tested_database_without_reading_the_server(monkeypatch, vendor):
    monkeypatch.setattr(checks, "connections", {"default": fake_connection(vendor)})
    assert checks.check_database() == []


def test_e005_a_database_slack_installs_is_not_tested_on(monkeypatch):
    monkeypatch.setattr(checks, "connections", {"default": fake_connection("oracle")})
    messages = checks.check_database()
    assert ids(messages) == ["slack_installs.E005"]
    assert messages[0].msg == (
        "The database 'default' (vendor 'oracle') is not one slack_installs supports."
    )
    minimum = ".".join(map(str, checks._sqlite_minimum()))
    assert f"Use PostgreSQL, MariaDB/MySQL, or SQLite {minimum} or later" in messages[0].hint


def test_e005_sqlite_older_than_this_django_supports(monkeypatch):
    major, minor = checks._sqlite_minimum()
    too_old = fake_connection("sqlite", sqlite_version=(major, minor - 1, 9))
    monkeypatch.setattr(checks, "connections", {"default": too_old})
    messages = checks.check_database()
    assert ids(messages) == ["slack_installs.E005"]
    assert f"(SQLite {major}.{minor - 1}.9)" in messages[0].msg
    assert f"SQLite {major}.{minor} or later" in messages[0].hint

    oldest = fake_connection("sqlite", sqlite_version=(major, minor, 0))
    monkeypatch.setattr(checks, "connections", {"default": oldest})
    assert checks.check_database() == []


def test_e005_sqlite_minimum_is_the_running_djangos():
    # Django's own django/db/backends/sqlite3/features.py minimum_database_version.
    expected = {(5, 2): (3, 31), (6, 0): (3, 31), (6, 1): (3, 37)}[django.VERSION[:2]]
    assert checks._sqlite_minimum() == expected


def test_e006_models_routed_to_different_databases(monkeypatch):
    from django.db import router

    from slack_installs.models import OAuthAttempt

    def db_for_write(model, **hints):
        return "attempts" if model is OAuthAttempt else "default"

    monkeypatch.setattr(router, "db_for_write", db_for_write)
    messages = checks.check_database()
    assert ids(messages) == ["slack_installs.E006"]
    assert "attempts, default" in messages[0].msg
