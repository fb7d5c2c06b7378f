"""The benchmarks' pieces still run and agree (the timings themselves are not tested)."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit

import pytest
from django.db import connection

from bench import export
from bench.harness import Result, format_table
from slack_installs.models import Installation, OAuthAttempt
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
