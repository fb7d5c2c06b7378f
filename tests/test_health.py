"""Health checks against Slack: auth.test per active install, the command, the admin action."""

from __future__ import annotations

import io
import json

import pytest
import responses
from django.contrib.admin.models import LogEntry
from django.core.management import CommandError, call_command
from django.utils import timezone

from slack_installs import client as slack_client
from slack_installs import health
from slack_installs.fields import Ciphertext
from slack_installs.models import Installation, SlackApp, UserToken
from slack_installs.oauth import save_installation
from slack_installs.signals import installation_revoked
from tests import slack_payloads
from tests.installs import make_installation, staff_user
from tests.slack_mocks import AUTH_TEST_URL
from tests.test_events import recording

CHANGELIST = "/admin/slack_installs/installation/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def revoked():
    yield from recording(installation_revoked)


class Sleeps(list):
    """A ``sleep`` that records how long it was asked to wait, and does not."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def raw(installation: Installation) -> dict:
    return Installation.objects.filter(pk=installation.pk).values(
        "revoked_at", "bot_token", "checked_at", "incoming_webhook_url"
    )[0]


def answer_auth_test(mocked_slack, *answers) -> responses.BaseResponse:
    """Register auth.test's answers in order: a code (ok: false), an HTTP status with
    Retry-After as ``(status, retry_after)``, or ``"ok"``."""
    registered = None
    for answer in answers:
        if answer == "ok":
            registered = mocked_slack.post(AUTH_TEST_URL, json=slack_payloads.auth_test())
        elif isinstance(answer, tuple):
            status, retry_after = answer
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            registered = mocked_slack.post(
                AUTH_TEST_URL,
                json=slack_payloads.error("ratelimited"),
                status=status,
                headers=headers,
            )
        else:
            registered = mocked_slack.post(AUTH_TEST_URL, json=slack_payloads.error(answer))
    return registered


def bearer_tokens(mocked_slack) -> list[str]:
    return [call.request.headers["Authorization"] for call in mocked_slack.calls]


# --- One installation ------------------------------------------------------------------


def test_an_alive_install_gets_checked_at_and_keeps_everything(slack_app, mocked_slack, revoked):
    installation = make_installation(slack_app)
    before = raw(installation)
    answer_auth_test(mocked_slack, "ok")
    summary = health.check_installations()
    assert (summary.checked, summary.alive, summary.revoked, summary.skipped) == (1, 1, 0, 0)
    after = raw(installation)
    assert after["checked_at"] is not None
    assert {key: after[key] for key in ("revoked_at", "bot_token")} == {
        "revoked_at": None,
        "bot_token": before["bot_token"],
    }
    assert bearer_tokens(mocked_slack) == [f"Bearer {slack_payloads.BOT_TOKEN}"]
    assert revoked == []


@pytest.mark.parametrize("code", ["invalid_auth", "token_revoked", "account_inactive"])
def test_an_install_slack_says_is_dead_is_revoked(slack_app, mocked_slack, revoked, code):
    installation = make_installation(slack_app)
    answer_auth_test(mocked_slack, code)
    outcomes = []
    summary = health.check_installations(on_outcome=outcomes.append)
    assert (summary.checked, summary.alive, summary.revoked) == (1, 0, 1)
    assert outcomes == [
        health.CheckOutcome(installation.pk, outcomes[0].label, health.REVOKED, code)
    ]
    after = raw(installation)
    assert after["revoked_at"] is not None and after["checked_at"] is not None
    assert after["bot_token"] is None and after["incoming_webhook_url"] is None
    assert UserToken.objects.get().revoked_at is not None
    assert [call["reason"] for call in revoked] == ["health_check"]
    # Slack said the token is dead: it is not sent to auth.revoke.
    assert [call.request.url for call in mocked_slack.calls] == [AUTH_TEST_URL]


@pytest.mark.parametrize(
    "answer",
    [
        (500, None),
        (503, None),
        "ratelimited",
        "token_expired",
        "fatal_error",
        "not_authed",
        "internal_error",
    ],
)
def test_answers_that_decide_nothing_skip_the_install(slack_app, mocked_slack, revoked, answer):
    installation = make_installation(slack_app)
    before = raw(installation)
    answer_auth_test(mocked_slack, *([answer] * (slack_client.RATE_LIMIT_RETRIES + 1)))
    summary = health.check_installations(sleep=Sleeps())
    assert (summary.checked, summary.skipped, summary.revoked) == (1, 1, 0)
    assert raw(installation) == before  # not revoked, not even checked_at
    assert revoked == []


def test_a_timeout_skips_the_install(slack_app, mocked_slack):
    import requests

    installation = make_installation(slack_app)
    mocked_slack.post(AUTH_TEST_URL, body=requests.Timeout())
    summary = health.check_installations()
    assert summary.errors == {"timeout": 1}
    assert raw(installation)["checked_at"] is None


def test_a_429_is_retried_after_its_retry_after(slack_app, mocked_slack):
    installation = make_installation(slack_app)
    answer_auth_test(mocked_slack, (429, 7), (429, 2), "ok")
    sleeps = Sleeps()
    summary = health.check_installations(sleep=sleeps)
    assert sleeps == [7.0, 2.0]
    assert summary.alive == 1
    assert raw(installation)["checked_at"] is not None
    assert len(mocked_slack.calls) == 3


def test_ratelimited_without_retry_after_waits_a_second(slack_app, mocked_slack):
    make_installation(slack_app)
    answer_auth_test(mocked_slack, (429, None), "ratelimited", "ok")
    sleeps = Sleeps()
    assert health.check_installations(sleep=sleeps).alive == 1
    assert sleeps == [1.0, 1.0]


def test_a_429_is_given_up_after_the_retries_and_a_long_retry_after_at_once(
    slack_app, mocked_slack, revoked
):
    first = make_installation(slack_app)
    answer_auth_test(mocked_slack, *[(429, 1)] * (slack_client.RATE_LIMIT_RETRIES + 1))
    sleeps = Sleeps()
    summary = health.check_installations(sleep=sleeps)
    assert summary.errors == {"ratelimited": 1}
    assert sleeps == [1.0] * slack_client.RATE_LIMIT_RETRIES
    assert raw(first)["checked_at"] is None

    mocked_slack.reset()
    answer_auth_test(mocked_slack, (429, 30))
    sleeps = Sleeps()
    summary = health.check_installations(max_wait=5, sleep=sleeps)
    assert summary.errors == {"ratelimited": 1}
    assert sleeps == []  # never called again before the 30 s are up
    assert len(mocked_slack.calls) == 1
    assert revoked == []


def test_revoked_installs_and_installs_without_a_bot_token_are_not_called(slack_app, mocked_slack):
    make_installation(slack_app, revoked_at=timezone.now())
    no_bot = make_installation(slack_app, bot_token=None)
    summary = health.check_installations()
    assert (summary.checked, summary.skipped) == (1, 1)
    assert summary.errors == {"no_bot_token": 1}
    assert len(mocked_slack.calls) == 0
    assert raw(no_bot)["revoked_at"] is None


def test_an_undecryptable_token_is_skipped(slack_app, mocked_slack):
    installation = make_installation(slack_app)
    gone = Ciphertext("f1:gone:bm90LWEtdG9rZW4=")  # under a key no longer configured
    Installation.objects.filter(pk=installation.pk).update(bot_token=gone)
    assert health.check_installations().errors == {"undecryptable": 1}
    assert len(mocked_slack.calls) == 0


def test_a_dry_run_asks_slack_and_changes_nothing(slack_app, mocked_slack, revoked):
    dead = make_installation(slack_app)
    alive = make_installation(slack_app)
    before = (raw(dead), raw(alive))
    answer_auth_test(mocked_slack, "token_revoked", "ok")
    summary = health.check_installations(dry_run=True)
    assert (summary.alive, summary.revoked) == (1, 1)
    assert (raw(dead), raw(alive)) == before
    assert revoked == []


def test_only_the_apps_installs_and_in_batches(slack_app, mocked_slack):
    other = SlackApp.objects.create(name="O", slug="other", client_id="9.9", client_secret="s")
    mine = [make_installation(slack_app) for _ in range(5)]
    theirs = make_installation(other)
    answer_auth_test(mocked_slack, *["ok"] * 5)
    summary = health.check_installations(app="acme", batch_size=2)
    assert summary.alive == 5 and len(mocked_slack.calls) == 5
    assert all(raw(row)["checked_at"] for row in mine)
    assert raw(theirs)["checked_at"] is None
    mocked_slack.reset()
    answer_auth_test(mocked_slack, "ok")
    assert health.check_installations(app=other).alive == 1


def test_a_reinstall_while_slack_answers_keeps_the_new_tokens(slack_app, mocked_slack, revoked):
    installation = make_installation(slack_app)

    def reinstalled_meanwhile(request):
        Installation.objects.filter(pk=installation.pk).update(bot_token="xoxb-new-one")
        return 200, {}, json.dumps(slack_payloads.error("invalid_auth"))

    mocked_slack.add_callback(responses.POST, AUTH_TEST_URL, callback=reinstalled_meanwhile)
    assert health.check_installations().errors == {"reinstalled": 1}
    row = Installation.objects.get(pk=installation.pk)
    assert row.revoked_at is None and row.bot_token == "xoxb-new-one"
    assert revoked == []


# --- Against the fake Slack, through the command ---------------------------------------


@pytest.fixture
def fake_installs(slack_app, fake_slack):
    """Installs whose tokens the fake Slack knows, one per workspace of ours."""
    fake_slack.register_slack_app(slack_app)

    def install(team: str) -> Installation:
        answer = fake_slack.install(slack_app.client_id, team)
        return save_installation(slack_app, answer)

    return install


def run_command(*args: str, tty: bool = False) -> tuple[str, str]:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return tty

    out, err = Terminal(), io.StringIO()
    call_command("slack_installs_check_installs", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_revokes_what_slack_killed(fake_slack, fake_installs, revoked):
    acme = fake_installs("T0ACME0001")
    grid = fake_installs("T0GLOBEX01")
    org = fake_installs("E0GLOBEX01")
    fake_slack.revoke_token(acme.bot_token)  # token_revoked, at every method
    fake_slack.fail_auth_test(org.bot_token, "account_inactive")
    fake_slack.fail_auth_test(grid.bot_token, retry_after=1, times=1)  # then alive

    out, err = run_command()
    assert "checking 3 active installations" in out
    assert "Checked 3: 1 alive, 2 revoked, 0 skipped." in out
    assert "Revoked: Acme Corp" in out and "(token_revoked)" in out
    assert "(account_inactive)" in out
    assert err == ""
    assert "\r" not in out  # no progress line when not on a terminal
    states = dict(Installation.objects.values_list("pk", "revoked_at"))
    assert states[grid.pk] is None
    assert states[acme.pk] is not None and states[org.pk] is not None
    assert sorted(call["installation"].pk for call in revoked) == sorted([acme.pk, org.pk])
    assert {call["reason"] for call in revoked} == {"health_check"}
    statuses = [call.status for call in fake_slack.calls_to("auth.test")]
    assert statuses.count(429) == 1 and statuses.count(200) == 3

    # Already revoked installs are not called again; exit 0 with nothing to revoke too.
    before = len(fake_slack.calls_to("auth.test"))
    out, _ = run_command()
    assert "Checked 1: 1 alive, 0 revoked, 0 skipped." in out
    assert len(fake_slack.calls_to("auth.test")) == before + 1


def test_the_command_dry_run_and_app_option(fake_slack, fake_installs, slack_app):
    acme = fake_installs("T0ACME0001")
    fake_slack.fail_auth_test(acme.bot_token, "invalid_auth")
    out, _ = run_command("--dry-run", "--app", "acme")
    assert "Dry run: checking 1 active installations of 'acme'" in out
    assert "Would revoke: Acme Corp" in out
    assert "Checked 1: 0 alive, 1 would be revoked, 0 skipped." in out
    assert Installation.objects.get().revoked_at is None
    assert Installation.objects.get().checked_at is None

    with pytest.raises(CommandError, match="No Slack app with slug 'nope'"):
        run_command("--app", "nope")


def test_the_command_reports_skips_and_shows_progress_on_a_terminal(fake_slack, fake_installs):
    acme = fake_installs("T0ACME0001")
    fake_installs("T0GLOBEX01")
    fake_slack.fail_auth_test(acme.bot_token, status=503)
    out, err = run_command(tty=True)
    assert "] 1/2 checked" in out and "] 2/2 checked" in out  # the bar, redrawn in place
    assert "\r\033[K[" in out
    assert "Checked 2: 1 alive, 0 revoked, 1 skipped." in out
    assert "http_error: 1" in out  # by reason
    assert "Skipped: Acme Corp" in err
    assert Installation.objects.get(pk=acme.pk).revoked_at is None


def test_a_rotating_token_that_is_due_is_refreshed_before_the_check(slack_app, fake_slack):
    fake_slack.register_slack_app(slack_app, token_rotation=True)
    installation = save_installation(slack_app, fake_slack.install(slack_app.client_id))
    old_token = installation.bot_token
    fake_slack.expire_token(old_token)
    Installation.objects.filter(pk=installation.pk).update(bot_token_expires_at=timezone.now())

    assert health.check_installations().alive == 1
    checked = fake_slack.calls_to("auth.test")[-1]
    assert checked.token != old_token and fake_slack.is_active(checked.token)
    assert Installation.objects.get().bot_token == checked.token

    # A dry run never refreshes: the expired token says token_expired, which decides nothing.
    fake_slack.expire_token(checked.token)
    Installation.objects.update(bot_token_expires_at=timezone.now())
    assert health.check_installations(dry_run=True).errors == {"token_expired": 1}
    assert Installation.objects.get().bot_token == checked.token


def test_the_fake_slacks_auth_test_failures_for_chosen_tokens(slack_app, fake_slack, settings):
    from slack_installs import client
    from slack_installs.exceptions import SlackAPIError

    fake_slack.register_slack_app(slack_app)
    one = fake_slack.install(slack_app.client_id, "T0ACME0001")["access_token"]
    two = fake_slack.install(slack_app.client_id, "T0GLOBEX01")["access_token"]
    fake_slack.fail_auth_test(one, "invalid_auth", times=1)
    fake_slack.fail_auth_test(one, retry_after=9, times=1)
    with pytest.raises(SlackAPIError) as first:
        client.auth_test(one)
    assert (first.value.code, first.value.status) == ("invalid_auth", 200)
    with pytest.raises(SlackAPIError) as second:
        client.auth_test(one)
    assert (second.value.code, second.value.status, second.value.retry_after) == (
        "ratelimited",
        429,
        9,
    )
    assert client.auth_test(one)["ok"] is True  # used up
    assert client.auth_test(two)["ok"] is True  # another token is not touched
    fake_slack.fail_auth_test(two, "account_inactive")  # every call from now on
    for _ in range(2):
        with pytest.raises(SlackAPIError, match="account_inactive"):
            client.auth_test(two)
    assert client.chat_post_message(two, channel="C1", text="hi")["ok"] is True
    with pytest.raises(ValueError, match="say how"):
        fake_slack.fail_auth_test(one)
    fake_slack.reset()
    with pytest.raises(SlackAPIError, match="invalid_auth"):
        client.auth_test(two)  # reset forgot the token and its failures


# --- The admin action ------------------------------------------------------------------


def run_action(client, installations, action="check_with_slack"):
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [row.pk for row in installations]},
        follow=True,
    )


def test_check_with_slack_in_the_admin(admin_client, slack_app, mocked_slack, revoked):
    alive = make_installation(slack_app, team_name="Alive Inc")
    dead = make_installation(slack_app, team_name="Dead Inc")
    busy = make_installation(slack_app, team_name="Busy Inc")
    gone = make_installation(slack_app, team_name="Gone Inc", revoked_at=timezone.now())
    answer_auth_test(mocked_slack, "ok", "token_revoked", (429, 60))
    response = run_action(admin_client, [alive, dead, busy, gone])
    assert response.status_code == 200
    text = " ".join(str(message) for message in response.context["messages"])
    assert "Checked 3: 1 alive, 1 revoked, 1 skipped." in text
    assert "Dead Inc" in text and "was revoked" in text
    assert "ratelimited: 1" in text
    assert "1 selected installation was already revoked: not checked." in text
    assert len(mocked_slack.calls) == 3  # no wait for the 60 s Retry-After, no call for Gone
    assert raw(alive)["checked_at"] is not None
    assert raw(dead)["revoked_at"] is not None
    assert raw(busy)["revoked_at"] is None and raw(busy)["checked_at"] is None
    assert [call["reason"] for call in revoked] == ["health_check"]
    assert LogEntry.objects.get().object_id == str(dead.pk)


def test_check_with_slack_needs_the_change_permission(client, slack_app, mocked_slack):
    installation = make_installation(slack_app)
    client.force_login(staff_user("viewer", "view_installation"))
    page = client.get(CHANGELIST)
    assert "check_with_slack" not in page.content.decode()
    run_action(client, [installation])
    assert len(mocked_slack.calls) == 0
    assert raw(installation)["checked_at"] is None
