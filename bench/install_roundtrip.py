"""Install round trip: server time per completed install (install view, callback, save,
pipelines), against Bolt's OAuthFlow with slack_sdk's SQLAlchemy stores doing the same
install, and against the floor (bench/install_floor.py: bare views writing the same rows
with the same commits). All talk to the same in-process fake Slack over loopback; the
consent page, answered in between, is not timed."""

from __future__ import annotations

import argparse
import time
from urllib.parse import urlsplit

from bench.harness import (
    Result,
    Timing,
    create_installations,
    database_label,
    setup_django,
    sqlalchemy_url,
)
from bench.token_lookup import fill_slack_sdk_store

WORKSPACES = ["T0ACME0001", "T0GLOBEX01"]


class NetworkClock:
    """Adds up the time both contenders spend waiting on the (fake) Slack's HTTP answers.

    Subtracting it leaves the server's own work, the figure the target is about.
    """

    def __init__(self) -> None:
        self.ns = 0

    def wrap(self, owner: type, name: str) -> None:
        original = getattr(owner, name)
        clock = self

        def timed(*args, **kwargs):
            start = time.perf_counter_ns()
            try:
                return original(*args, **kwargs)
            finally:
                clock.ns += time.perf_counter_ns() - start

        setattr(owner, name, timed)

    def install(self) -> None:
        import requests
        from slack_sdk.web.base_client import BaseClient

        self.wrap(requests.Session, "request")  # ours: slack_installs.client
        self.wrap(BaseClient, "_perform_urllib_http_request")  # Bolt's WebClient


NETWORK = NetworkClock()


def _timed_get(client, url: str, samples: list[int], expected: int):
    network_before = NETWORK.ns
    start = time.perf_counter_ns()
    response = client.get(url)
    samples.append(time.perf_counter_ns() - start - (NETWORK.ns - network_before))
    if response.status_code != expected:
        raise RuntimeError(f"{url} answered {response.status_code}: {response.content[:300]!r}")
    return response


def install_once(
    client, fake, install_url: str, workspace: str, done_status: int
) -> tuple[int, int]:
    """One install through a contender: its server time in nanoseconds, and that of the page
    its callback redirects to (0 when the callback shows its own page)."""
    samples: list[int] = []
    response = _timed_get(client, install_url, samples, 302)
    back = urlsplit(fake.consent(response["Location"], workspace=workspace))
    done = _timed_get(client, f"{back.path}?{back.query}", samples, done_status)
    page: list[int] = []
    if done.status_code == 302 and done["Location"].startswith("/slack/"):
        _timed_get(client, done["Location"], page, 200)
    return sum(samples), sum(page)


def measure(installs: int, existing: int) -> list[Result]:
    from django.test import Client, override_settings

    from bench import bolt_contender
    from slack_installs.models import Installation, SlackApp
    from slack_installs.testing import FakeSlack

    NETWORK.install()
    with FakeSlack() as fake:
        app = SlackApp.objects.create(
            name="Bench",
            slug="bench",
            client_id="4000.4000",
            client_secret="ours-secret",
            bot_scopes="chat:write,commands",
            pipelines=["slack_installs.pipelines.link_django_user"],
        )
        fake.register_slack_app(app)
        floor_app = SlackApp.objects.create(
            name="Floor",
            slug="floor",
            client_id="4100.4100",
            client_secret="floor-secret",
            bot_scopes="chat:write,commands",
        )
        fake.register_slack_app(floor_app)
        fake.register_app(bolt_contender.CLIENT_ID, bolt_contender.CLIENT_SECRET)
        bolt_store = bolt_contender.configure(
            slack_url=fake.url,
            api_url=fake.api_url,
            database_url=sqlalchemy_url(),
            redirect_uri="http://testserver/bolt/oauth_redirect/",
        )
        # Both contenders install next to ``existing`` installations already stored.
        team_ids = create_installations(app, existing)
        fill_slack_sdk_store(bolt_store, team_ids)
        slack = {
            "ENCRYPTION_KEYS": {"bench": "YmVuY2gta2V5LTAwMDAwMDAwMDAwMDAwMDAwMDAwMDA="},
            "SLACK_URL": fake.url,
            "API_URL": fake.api_url,
        }
        with override_settings(SLACK_INSTALLS=slack, ROOT_URLCONF="bench.urls"):
            ours: list[int] = []
            ours_with_page: list[int] = []
            theirs: list[int] = []
            floor: list[int] = []
            client = Client()
            for index in range(installs + 10):
                workspace = WORKSPACES[index % len(WORKSPACES)]
                # Interleave so that drift on a shared machine hits all alike.
                # Ours and the floor redirect; Bolt renders its own page (200).
                our_time, page_time = install_once(
                    client, fake, "/slack/bench/install/", workspace, 302
                )
                bolt_time, _ = install_once(client, fake, "/bolt/install/", workspace, 200)
                floor_time, _ = install_once(client, fake, "/floor/floor/install/", workspace, 302)
                if index >= 10:  # the first installs warm up all three
                    ours.append(our_time)
                    ours_with_page.append(our_time + page_time)
                    theirs.append(bolt_time)
                    floor.append(floor_time)
        assert Installation.objects.filter(app=app).count() == len(WORKSPACES) + existing
        assert Installation.objects.filter(app=floor_app).count() == len(WORKSPACES)

    mine, bolt, least = Timing.of(ours), Timing.of(theirs), Timing.of(floor)
    mine_with_page = Timing.of(ours_with_page)
    label = f"install round trip, {installs} installs beside {existing:,} ({database_label()})"
    return [
        Result(
            label,
            "median server time vs Bolt's OAuthFlow",
            mine.median_us / 1000,
            bolt.median_us / 1000,
            "ms",
            1.0,
        ),
        Result(
            label,
            "p95 server time vs Bolt's OAuthFlow",
            mine.p95_us / 1000,
            bolt.p95_us / 1000,
            "ms",
        ),
        Result(
            label,
            "median with our success page too (Bolt renders its page in the callback)",
            mine_with_page.median_us / 1000,
            bolt.median_us / 1000,
            "ms",
        ),
        Result(
            label,
            "floor (bare views, same rows and commits), median vs Bolt's OAuthFlow",
            least.median_us / 1000,
            bolt.median_us / 1000,
            "ms",
        ),
        Result(
            label,
            "median server time vs the floor",
            mine.median_us / 1000,
            least.median_us / 1000,
            "ms",
        ),
    ]


def run(argv: list[str]) -> list[Result]:
    parser = argparse.ArgumentParser(prog="python -m bench install_roundtrip")
    parser.add_argument("--installs", type=int, default=200, help="timed installs per contender")
    parser.add_argument(
        "--existing", type=int, default=1000, help="installations stored before the timed ones"
    )
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: SQLite)")
    args, _ = parser.parse_known_args(argv)
    setup_django(args.database_url)
    return measure(args.installs, args.existing)
