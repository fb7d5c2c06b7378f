"""The benchmarks' pieces still run and agree (the timings themselves are not tested)."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connection

from bench import export, token_refresh
from bench.harness import Result, format_table
from slack_installs import tokens
from slack_installs.models import Installation, OAuthAttempt, SlackApp
from slack_installs.resources import InstallationResource


def test_both_exports_cover_the_same_rows(db):
    export.seed(30)
    ours = io.StringIO()
    for chunk in InstallationResource().stream_csv(Installation.objects.all()):
        ours.write(chunk.decode())
    assert len(list(csv.reader(io.StringIO(ours.getvalue())))) == 31
    assert export.export_ours() > export.export_floor() > 0
    assert export.export_baseline() > 0
    assert Installation.objects.filter(user_tokens__isnull=False).count() == 3


def test_table_marks_missed_targets():
    table = format_table(
        [
            Result("export", "time", 1.0, 10.0, "s", 0.3),
            Result("export", "memory", 5.0, 10.0, "MiB", 0.3),
            Result("export", "tokens decrypted", 0, None, "", 0),
        ]
    )
    lines = table.splitlines()
    assert lines[2].split("|")[-2].strip() == "yes" and "0.10×" in lines[2]
    assert lines[3].split("|")[-2].strip() == "NO" and "0.50×" in lines[3]
    assert lines[4].split("|")[-2].strip() == "yes"


def test_table_marks_at_least_targets():
    table = format_table(
        [
            Result("refresh", "concurrency 8 vs 8 × serial", 90.0, 100.0, "tokens/s", 0.8, True),
            Result("refresh", "concurrency 8 vs 8 × serial", 50.0, 100.0, "tokens/s", 0.8, True),
        ]
    )
    met, missed = (line.split("|") for line in table.splitlines()[2:])
    assert (met[-3].strip(), met[-2].strip()) == ("≥ 0.8×", "yes")
    assert (missed[-3].strip(), missed[-2].strip()) == ("≥ 0.8×", "NO")


@pytest.fixture
def fake_slack_process(settings):
    """The token refresh benchmark's fake Slack (its own process), with the settings on it."""
    fake = token_refresh.FakeSlackProcess(latency=0)
    settings.SLACK_INSTALLS = {
        **settings.SLACK_INSTALLS,
        "SLACK_URL": fake.url,
        "API_URL": f"{fake.url}/api",
    }
    yield fake
    fake.stop()


# Threads of a concurrent refresh have connections of their own: they must see committed rows.
@pytest.mark.django_db(transaction=True)
def test_the_token_refresh_bench_checks_each_token_was_refreshed_once(fake_slack_process):
    fake = fake_slack_process
    app = SlackApp.objects.create(
        name="Bench refresh",
        slug="bench",
        client_id=token_refresh.CLIENT_ID,
        client_secret=token_refresh.CLIENT_SECRET,
    )
    seconds, refreshed = token_refresh.refresh_in_process(fake, app, 6, 1)
    assert refreshed == 6 and seconds > 0
    assert tokens.due_bot_tokens().count() == 0
    stored = Installation.objects.values_list("bot_token", flat=True)
    assert all(value.startswith("f1:") for value in stored)  # seeded through the ORM, encrypted

    # Two of three refreshed: the check refuses it.
    seeded_expiry = token_refresh.seed(fake, app, 3)
    for installation in Installation.objects.order_by("pk")[:2]:
        tokens.refresh_bot_token(installation)
    with pytest.raises(SystemExit, match="expected 3 refresh calls"):
        token_refresh.check_refreshed_once(fake, 3, seeded_expiry)


def test_the_token_refresh_bench_runs_with_tiny_sizes():
    """The whole benchmark, as ``python -m bench`` runs it, on SQLite (a few seconds)."""
    concurrency = "8" if token_refresh.supports_concurrency() else "1"
    workers = "2" if token_refresh.supports_enqueue() else "0"
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "token_refresh", "--no-docs"]
        + ["--tokens-serial", "4", "--tokens", "8", "--concurrency", concurrency]
        + ["--workers", workers],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    rows = [line for line in completed.stdout.splitlines() if line.startswith("| token refresh")]
    assert len(rows) == (3 if workers == "0" else 7)
    assert all("50 ms latency (SQLite" in row for row in rows)
    assert f"--concurrency {concurrency} vs {concurrency} × serial" in completed.stdout


def test_the_install_floor_stores_an_install_and_refuses_a_replay(
    client, fake_slack, fake_slack_app, settings
):
    if connection.vendor not in ("sqlite", "postgresql"):
        pytest.skip("the floor's hand-written SQL is for the bench's databases: SQLite, PostgreSQL")
    settings.ROOT_URLCONF = "bench.urls"
    app = fake_slack_app
    response = client.get(f"/floor/{app.slug}/install/")
    assert response.status_code == 302
    back = urlsplit(fake_slack.consent(response["Location"]))
    callback = f"{back.path}?{back.query}"
    assert client.get(callback).status_code == 302

    installation = Installation.objects.get(app=app)
    assert installation.bot_token.startswith("xoxb-")
    raw = Installation.objects.filter(pk=installation.pk).values_list("bot_token", flat=True)
    assert raw.get().startswith("f1:")
    attempt = OAuthAttempt.objects.get(app=app)
    assert (attempt.status, attempt.installation) == ("succeeded", installation)
    assert attempt.consumed_at is not None
    assert attempt.response["team"]["id"] and "access_token" not in attempt.response

    assert client.get(callback).status_code == 400
    assert Installation.objects.filter(app=app).count() == 1


def test_scale_runs_every_size_on_the_database_it_was_given(monkeypatch):
    import bench.__main__
    from bench import scale

    calls = []

    def fake_run_one(name, options):
        calls.append(options)
        measure = next(followed[2] for followed in scale.FOLLOWED if followed[0] == name)
        return [Result(f"{name}, 1 installs (PostgreSQL 15)", measure, 2.0, 1.0, "ms")]

    monkeypatch.setattr(bench.__main__, "run_one", fake_run_one)
    url = "postgres://postgres@127.0.0.1:5432/bench"
    results = scale.run(["--sizes", "10,20,30", "--database-url", url])
    assert len(calls) == 3 * len(scale.FOLLOWED)
    assert all(options[-2:] == ["--database-url", url] for options in calls)
    assert len(results) == 2 * len(scale.FOLLOWED)
    assert all(result.benchmark.endswith("(PostgreSQL 15)") for result in results)


def test_admin_scale_fills_every_case_and_measures_a_page(admin_client):
    from bench import admin_scale

    found = admin_scale.populate(400)
    rows = Installation.objects.all()
    assert rows.count() == 400
    assert rows.filter(revoked_at__isnull=False).exists()
    assert rows.filter(needs_reinstall_at__isnull=False).exists()
    assert rows.filter(scopes_missing=True).exists()
    assert rows.filter(is_enterprise_install=True, team_id="").exists()
    assert rows.filter(app=found["apps"][-1]).exists()
    stored = rows.filter(bot_token__isnull=False).values_list("bot_token", flat=True).first()
    assert stored.startswith("f1:")
    assert rows.filter(bot_token__isnull=False).first().bot_token.startswith("xoxb-")
    pages = dict(admin_scale.pages(found))
    figure = admin_scale.measure_page(admin_client, pages["search: team id"], repeat=1)
    assert figure["decrypted"] == 0 and figure["queries"] >= 3
    response = admin_client.get(pages["search: team-name prefix, selective"])
    assert found["name"] in {row.team_name for row in response.context["cl"].result_list}
