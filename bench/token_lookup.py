"""Token lookup, the hot path of every bot: ``get_bot_token`` over many installations.

Baselines, same database engine, same rows, same run:
- slack_sdk's ``SQLAlchemyInstallationStore.find_bot`` (tokens in plaintext);
- the floor: one indexed SELECT through the DB-API driver plus one Fernet decrypt.
"""

from __future__ import annotations

import argparse
import datetime
import random
import time
from typing import Any

from bench.harness import (
    Result,
    create_installations,
    database_label,
    setup_django,
    sqlalchemy_url,
    time_calls,
)

CLIENT_ID = "1000.2000"


def populate(rows: int) -> list[str]:
    """``rows`` installations of the benchmark's app, every tenth workspace also of another."""
    from slack_installs.models import SlackApp

    app = SlackApp.objects.create(
        name="Bench", slug="bench", client_id=CLIENT_ID, client_secret="s", bot_scopes="chat:write"
    )
    other = SlackApp.objects.create(
        name="Other", slug="other", client_id="9.9", client_secret="s", bot_scopes="chat:write"
    )
    return create_installations(app, rows, also_for=other)


def slack_sdk_store(team_ids: list[str]) -> Any:
    """slack_sdk's SQLAlchemy store on the same database, holding the same bots."""
    import sqlalchemy
    from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore

    engine = sqlalchemy.create_engine(sqlalchemy_url())
    store = SQLAlchemyInstallationStore(client_id=CLIENT_ID, engine=engine)
    store.create_tables()
    fill_slack_sdk_store(store, team_ids)
    return store


def fill_slack_sdk_store(store: Any, team_ids: list[str]) -> None:
    """Bulk-insert one bot per team id into a ``SQLAlchemyInstallationStore``."""
    installed_at = datetime.datetime.fromtimestamp(time.time())
    rows = [
        {
            "client_id": store.client_id,
            "app_id": "A1",
            "enterprise_id": None,
            "team_id": team_id,
            "team_name": f"Team {index}",
            "bot_token": f"xoxb-{index}-bench-token-abcdefghijklmnop",
            "bot_id": "B0BOT",
            "bot_user_id": "U0BOT",
            "bot_scopes": "chat:write",
            "is_enterprise_install": False,
            "installed_at": installed_at,
        }
        for index, team_id in enumerate(team_ids)
    ]
    with store.engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            connection.execute(store.bots.insert(), rows[start : start + 5000])


def floor_lookup() -> Any:
    """One indexed SELECT with the raw DB-API cursor, then one decrypt."""
    from django.db import connection

    from slack_installs import crypto
    from slack_installs.models import SlackApp

    connection.ensure_connection()
    raw = connection.connection
    app_id = SlackApp.objects.get(slug="bench").pk
    placeholder = "?" if connection.vendor == "sqlite" else "%s"
    sql = (
        "SELECT bot_token FROM slack_installs_installation "
        f"WHERE app_id = {placeholder} AND enterprise_id = '' AND team_id = {placeholder}"
    )

    def lookup(team_id: str) -> str:
        cursor = raw.cursor()
        cursor.execute(sql, (app_id, team_id))
        return crypto.decrypt(cursor.fetchone()[0])

    return lookup


def measure(rows: int, lookups: int) -> list[Result]:
    from slack_installs.tokens import get_bot_token

    team_ids = populate(rows)
    store = slack_sdk_store(team_ids)
    sample = random.Random(7).choices(team_ids, k=lookups)

    ours = time_calls(lambda team: get_bot_token("bench", team_id=team), sample)
    theirs = time_calls(lambda team: store.find_bot(enterprise_id=None, team_id=team), sample)
    floor = time_calls(floor_lookup(), sample)
    assert get_bot_token("bench", team_id=team_ids[3]).startswith("xoxb-3-")
    assert store.find_bot(enterprise_id=None, team_id=team_ids[3]).bot_token.startswith("xoxb-3-")

    label = f"token lookup, {rows:,} installs ({database_label()})"
    return [
        Result(label, "median vs slack_sdk find_bot", ours.median_us, theirs.median_us, "µs", 0.5),
        Result(label, "p95 vs slack_sdk find_bot", ours.p95_us, theirs.p95_us, "µs", 0.5),
        Result(
            label, "median vs floor (one SELECT + decrypt)", ours.median_us, floor.median_us, "µs"
        ),
    ]


def run(argv: list[str]) -> list[Result]:
    parser = argparse.ArgumentParser(prog="python -m bench token_lookup")
    parser.add_argument("--rows", type=int, default=10_000, help="installations to create")
    parser.add_argument("--lookups", type=int, default=5_000, help="timed lookups per contender")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: SQLite)")
    args, _ = parser.parse_known_args(argv)
    setup_django(args.database_url)
    return measure(args.rows, args.lookups)
