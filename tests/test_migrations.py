"""Migrations: they match the models, and 0003 is additive (existing rows keep working)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("slack_installs", "0002_admin")]
AFTER = [("slack_installs", "0003_installation_enterprise_url_custom_values")]


def test_the_models_need_no_new_migration(db):
    out = io.StringIO()
    call_command("makemigrations", "slack_installs", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_0003_gives_existing_installations_an_empty_url_and_no_custom_values():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps
        app = old.get_model("slack_installs", "SlackApp").objects.create(
            name="Old", slug="old", client_id="1.1", client_secret="s"
        )
        installation = old.get_model("slack_installs", "Installation").objects.create(
            app_id=app.pk, enterprise_id="E0001", team_id="", is_enterprise_install=True
        )
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps
        migrated = new.get_model("slack_installs", "Installation").objects.get(pk=installation.pk)
        assert (migrated.enterprise_url, migrated.custom_values) == ("", {})

        executor = MigrationExecutor(connection)
        executor.migrate(BEFORE)  # and back: the two columns go, the row stays
        back = executor.loader.project_state(BEFORE).apps
        assert back.get_model("slack_installs", "Installation").objects.count() == 1
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes("slack_installs"))
