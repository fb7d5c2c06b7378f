"""Fuzzing the views anyone can reach without logging in: callback, install, events, pages.

Hypothesis sends arbitrary query strings, headers, cookies and bodies (unicode, control
characters, huge values, numbers of thousands of digits, deep nesting), 150 examples per
property; every header and parameter we parse also has a property of its own. Whatever comes in,
the answer is never a 5xx, no installation is saved without a valid state, and nothing
unsigned changes anything. The regressions the fuzzing found close the file.
"""

from __future__ import annotations

import json
import re
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client, RequestFactory
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from slack_installs import events, oauth, testing
from slack_installs.conf import app_settings
from slack_installs.models import Installation, OAuthAttempt, UserToken
from tests import slack_payloads
from tests.installs import make_installation
from tests.slack_mocks import answer_install

pytestmark = pytest.mark.django_db

FUZZ = hypothesis_settings(
    max_examples=150,
    deadline=None,
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SIGNING_SECRET = "canary-signing-secret-6666"  # tests/conftest.py's slack_app

# --- Strategies ------------------------------------------------------------------------

any_char = st.characters(codec=None, exclude_categories=["Cs"])  # every code point but surrogates
latin1 = st.characters(min_codepoint=0, max_codepoint=0xFF)  # what WSGI strings can hold


def huge(alphabet: st.SearchStrategy[str] = any_char) -> st.SearchStrategy[str]:
    """A short piece repeated up to 20,000 times: huge values without slow generation."""
    return st.builds(
        lambda piece, times: piece * times,
        st.text(alphabet, min_size=1, max_size=4),
        st.integers(100, 20_000),
    )


# Pieces that break naive code: NUL and other controls, line breaks, escapes, open redirects.
NASTY = [
    "\x00",
    "\n",
    "\r\n",
    "\t",
    "\x7f",
    "\u2028",
    "\ufeff",
    "%00",
    "%0d%0a",
    "../",
    "//evil.example",
    "\\\\evil.example",
    "/\\evil.example",
    "javascript:alert(1)",
    "https://evil.example",
    "é",
    "💥",
]
spiced = st.builds(
    lambda before, piece, after: before + piece + after,
    st.text(any_char, max_size=8),
    st.sampled_from(NASTY),
    st.text(any_char, max_size=8),
)
ascii_digits = st.sampled_from("0123456789")
# Numbers as text: what int() is handed. Past 4,300 digits int() raises (Python's limit on
# converting digits), though isdigit() still says yes.
numbers = st.one_of(
    st.integers().map(str),
    st.from_regex(r"[0-9]{1,20}", fullmatch=True),
    huge(ascii_digits),
    st.integers(4_290, 4_310).map(lambda length: "1" * length),
)
texts = st.one_of(st.text(any_char, max_size=60), huge(), spiced, numbers)
token_like = st.from_regex(r"[A-Za-z0-9_\-]{20,100}", fullmatch=True)
CODE_SHAPE = re.compile(r"[0-9]{12}\.[0-9]{13}\.[0-9a-f]{64}")  # Slack's codes
code_like = st.from_regex(CODE_SHAPE, fullmatch=True)
param_names = st.one_of(
    st.sampled_from(["code", "state", "error", "next", "team", "app", "error_description"]),
    st.text(any_char, max_size=20),
)
query_dicts = st.dictionaries(
    param_names, st.one_of(texts, st.lists(texts, max_size=3)), max_size=6
)
# Shapes a real callback has, with states nobody issued.
valid_looking = st.fixed_dictionaries(
    {"code": code_like, "state": token_like},
    optional={"error": st.sampled_from(["access_denied", "invalid_scope", "x" * 101])},
)
raw_queries = st.one_of(
    st.text(latin1, max_size=300),
    st.builds(lambda q: "state=" + q, st.text(latin1, max_size=300)),
    huge(latin1),
)
header_names = st.one_of(
    st.sampled_from(
        [
            "Host",
            "Cookie",
            "User-Agent",
            "Referer",
            "Accept-Language",
            "Content-Type",
            "Content-Length",
            "X-Forwarded-For",
            "X-Forwarded-Proto",
            "X-Forwarded-Host",
            "X-Slack-Signature",
            "X-Slack-Request-Timestamp",
            "X-Slack-Retry-Num",
        ]
    ),
    st.from_regex(r"[A-Za-z][A-Za-z0-9\-]{0,20}", fullmatch=True),
)
header_values = st.one_of(st.text(latin1, max_size=80), huge(latin1), numbers)
headers = st.dictionaries(header_names, header_values, max_size=5)
cookies = st.one_of(
    st.none(),
    st.builds(lambda v: f"slack_installs_browser={v}", st.one_of(token_like, header_values)),
    st.text(latin1, max_size=200),
)


def wsgi_headers(given_headers: dict[str, str], cookie: str | None) -> dict[str, str]:
    """``headers`` as WSGI environ keys (what a server hands Django), cookie included."""
    environ = {}
    for name, value in given_headers.items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE" and len(value) > 10_000:
            continue  # Django 6.1 refuses it while building the request, before our code runs
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = f"HTTP_{key}"
        environ[key] = value
    if cookie is not None:
        environ["HTTP_COOKIE"] = cookie
    return environ


def fuzz_get(client: Client, path: str, query: dict | str, environ: dict, method: str = "GET"):
    """One request with the query as a dict (urlencoded) or as a raw QUERY_STRING."""
    if isinstance(query, str):
        return client.generic(method, path, QUERY_STRING=query, **environ)
    return client.generic(
        method, path, data=b"", QUERY_STRING=urlencode(query, doseq=True), **environ
    )


# --- Callback --------------------------------------------------------------------------


def test_callback_answers_every_input_without_a_5xx_and_saves_nothing(slack_app, mocked_slack):
    # Real pending attempts whose states nobody knows: the lookups run against rows.
    factory = RequestFactory()
    for _ in range(3):
        oauth.start_install(factory.get("/slack/acme/install/"), slack_app)
    pending = set(OAuthAttempt.objects.values_list("pk", "status", "consumed_at"))
    client = Client()

    @FUZZ
    @given(
        slug=st.sampled_from(["acme", "acme", "acme", "unknown-app"]),
        query=st.one_of(query_dicts, valid_looking, raw_queries),
        given_headers=headers,
        cookie=cookies,
        method=st.sampled_from(["GET"] * 8 + ["POST", "HEAD", "PUT", "OPTIONS"]),
    )
    def check(slug, query, given_headers, cookie, method):
        response = fuzz_get(
            client,
            f"/slack/{slug}/oauth/callback/",
            query,
            wsgi_headers(given_headers, cookie),
            method,
        )
        # No valid state exists: a refusal, never a redirect onwards, never a 5xx.
        assert response.status_code in (400, 404, 405), response.status_code
        assert not Installation.objects.exists()
        assert not UserToken.objects.exists()
        assert len(mocked_slack.calls) == 0, "a code was exchanged without a valid state"
        assert set(OAuthAttempt.objects.values_list("pk", "status", "consumed_at")) == pending

    check()


def test_install_and_callback_with_any_next_team_and_headers(slack_app, mocked_slack):
    answer_install(mocked_slack)
    client = Client()

    @FUZZ
    @given(
        next_url=st.one_of(
            st.none(),
            texts,
            st.builds(lambda rest: "/" + rest, st.text(any_char, max_size=80)),
            st.builds(lambda rest: "/" + rest, spiced),
            st.builds(lambda rest: "/" + rest, huge()),
        ),
        team=st.one_of(st.none(), texts, st.from_regex(r"[A-Z0-9]{2,32}", fullmatch=True)),
        extra=query_dicts,
        given_headers=headers,
        cookie=cookies,
    )
    def check(next_url, team, extra, given_headers, cookie):
        query = {**extra}
        for name, value in (("next", next_url), ("team", team)):
            if value is not None:
                query[name] = value
        environ = wsgi_headers(given_headers, cookie)
        started = fuzz_get(client, "/slack/acme/install/", query, environ)
        assert started.status_code in (302, 400), started.status_code
        if started.status_code != 302:
            return
        authorize = urlsplit(started["Location"])
        assert f"{authorize.scheme}://{authorize.netloc}" == app_settings.SLACK_URL
        state = parse_qs(authorize.query)["state"][0]
        browser = started.cookies[app_settings.BROWSER_COOKIE_NAME].value
        back = client.generic(
            "GET",
            "/slack/acme/oauth/callback/",
            QUERY_STRING=urlencode({"code": "fuzz-code", "state": state}),
            **{**environ, "HTTP_COOKIE": f"{app_settings.BROWSER_COOKIE_NAME}={browser}"},
        )
        assert back.status_code == 302, back.content[:300]
        target = urlsplit(back["Location"])
        # Wherever ``next`` pointed, the browser stays on this site.
        assert (target.scheme, target.netloc) == ("", "")
        assert back["Location"].startswith("/") and not back["Location"].startswith("//")
        assert "\\" not in back["Location"]
        attempt = OAuthAttempt.objects.get(state_digest=oauth.digest(state))
        assert attempt.status == "succeeded"

    check()
    assert Installation.objects.count() == 1


@pytest.mark.parametrize("page", ["success", "error"])
def test_success_and_error_pages_answer_every_query(client, slack_app, page):
    @FUZZ
    @given(query=st.one_of(query_dicts, raw_queries), given_headers=headers)
    def check(query, given_headers):
        response = fuzz_get(client, f"/slack/{page}/", query, wsgi_headers(given_headers, None))
        assert response.status_code in (200, 400), response.status_code

    check()


# --- Events ----------------------------------------------------------------------------

json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=False),
        st.text(any_char, max_size=30),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=12,
)
slack_ids = st.one_of(st.sampled_from(["T0001", "E0001", "U0BOT", "U0001"]), spiced, json_values)
timestamps = st.one_of(
    st.integers(min_value=10**11, max_value=10**30),  # past year 9999
    st.integers(min_value=-(10**30), max_value=-(10**11)),
    st.integers(min_value=-(2**31), max_value=2**32),
    st.sampled_from([1_700_000_000, 0, -1, 2**63]),
    json_values,
)
authorizations = st.one_of(
    json_values,
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "team_id": slack_ids,
                "enterprise_id": slack_ids,
                "is_enterprise_install": json_values,
                "user_id": slack_ids,
            },
        ),
        max_size=2,
    ),
)
inner_events = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(["app_uninstalled", "tokens_revoked"]), json_values)},
    optional={
        "tokens": st.one_of(
            json_values,
            st.fixed_dictionaries(
                {},
                optional={
                    "oauth": st.one_of(json_values, st.lists(slack_ids, max_size=3)),
                    "bot": st.one_of(json_values, st.lists(slack_ids, max_size=3)),
                },
            ),
        )
    },
)
envelopes = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(["event_callback", "url_verification"]), json_values)},
    optional={
        "event": st.one_of(inner_events, json_values),
        "team_id": slack_ids,
        "enterprise_id": slack_ids,
        "is_enterprise_install": json_values,
        "event_time": timestamps,
        "authorizations": authorizations,
        "challenge": json_values,
        "event_id": json_values,
    },
)
# Real deliveries with some fields replaced: deep enough to reach the database work.
near_real = st.builds(
    lambda payload, changes: {**payload, **changes},
    st.sampled_from(
        [
            slack_payloads.app_uninstalled(),
            slack_payloads.tokens_revoked(oauth=("U0001",), bot=("U0BOT",)),
            slack_payloads.url_verification("challenge"),
        ]
    ),
    st.fixed_dictionaries(
        # A new event_id each time: a handled one would be acknowledged without the work.
        {"event_id": st.from_regex(r"Ev[A-Z0-9]{10}", fullmatch=True)},
        optional={
            "event_time": timestamps,
            "team_id": slack_ids,
            "enterprise_id": slack_ids,
            "authorizations": authorizations,
        },
    ),
)
nested = st.builds(
    lambda depth, opener, closer: opener * depth + closer * depth,
    st.integers(1, 200_000),
    st.sampled_from([b"["]),
    st.sampled_from([b"]"]),
) | st.builds(lambda depth: b'{"a":' * depth + b"1" + b"}" * depth, st.integers(1, 200_000))
bodies = st.one_of(
    st.binary(max_size=2000),
    st.text(any_char, max_size=500).map(lambda text: text.encode("utf-8")),
    envelopes.map(lambda payload: json.dumps(payload).encode("utf-8")),
    near_real.map(lambda payload: json.dumps(payload).encode("utf-8")),
    json_values.map(lambda value: json.dumps(value).encode("utf-8")),
    nested,
    huge(latin1).map(lambda text: text.encode("latin-1")),
)
content_types = st.one_of(
    st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain", ""]),
    st.text(latin1, max_size=40),
)


@pytest.fixture
def installation(slack_app):
    return make_installation(slack_app, team_id="T0001")


def post_event(client, slug, body, content_type, environ):
    return client.generic("POST", f"/slack/{slug}/events/", body, content_type, **environ)


def test_unsigned_events_never_fail_and_never_change_anything(client, installation):
    raw_before = Installation.objects.filter(pk=installation.pk).values()[0]

    @FUZZ
    @given(
        slug=st.sampled_from(["acme", "acme", "acme", "unknown-app"]),
        body=bodies,
        content_type=content_types,
        given_headers=headers,
        timestamp=st.one_of(st.none(), st.just("now"), st.text(latin1, max_size=30), numbers),
        signature=st.one_of(
            st.none(),
            st.text(latin1, max_size=80),
            st.from_regex(r"v0=[0-9a-f]{64}", fullmatch=True),
        ),
        method=st.sampled_from(["POST"] * 8 + ["GET", "PUT", "HEAD"]),
    )
    def check(slug, body, content_type, given_headers, timestamp, signature, method):
        environ = wsgi_headers(given_headers, None)
        environ.pop("CONTENT_TYPE", None)
        environ.pop("CONTENT_LENGTH", None)
        if timestamp is not None:
            environ["HTTP_X_SLACK_REQUEST_TIMESTAMP"] = (
                str(int(time.time())) if timestamp == "now" else timestamp
            )
        if signature is not None:
            environ["HTTP_X_SLACK_SIGNATURE"] = signature
        response = client.generic(method, f"/slack/{slug}/events/", body, content_type, **environ)
        assert response.status_code in (400, 403, 404, 405), response.status_code
        assert Installation.objects.filter(pk=installation.pk).values()[0] == raw_before

    check()


def post_signed(client, body: bytes, content_type: str = "application/json", **environ):
    """POST ``body`` to the events view, signed with the app's signing secret."""
    timestamp = str(int(time.time()))
    environ.update(
        HTTP_X_SLACK_REQUEST_TIMESTAMP=timestamp,
        HTTP_X_SLACK_SIGNATURE=testing.signature(SIGNING_SECRET, timestamp, body),
    )
    return client.generic("POST", "/slack/acme/events/", body, content_type, **environ)


def test_signed_bodies_of_any_bytes_never_fail(client, installation):
    @FUZZ
    @given(body=bodies, content_type=content_types, retry=st.one_of(st.none(), header_values))
    def check(body, content_type, retry):
        environ = {} if retry is None else {"HTTP_X_SLACK_RETRY_NUM": retry}
        response = post_signed(client, body, content_type, **environ)
        assert response.status_code in (200, 400), (response.status_code, body[:200])
        assert Installation.objects.count() == 1

    check()


def test_signed_deliveries_shaped_like_slacks_never_fail(client, installation):
    @FUZZ
    @given(payload=st.one_of(near_real, envelopes))
    def check(payload):
        response = post_signed(client, json.dumps(payload).encode("utf-8"))
        assert response.status_code in (200, 400), (response.status_code, payload)
        assert Installation.objects.count() == 1

    check()


# --- Every header and parameter we parse, one property each ----------------------------
# The install view's ``team`` and ``next`` have theirs above
# (test_install_and_callback_with_any_next_team_and_headers).

one_header = st.one_of(st.none(), header_values)


def test_every_events_header_we_read_takes_any_value(client, slack_app):
    """``X-Slack-Request-Timestamp``, ``X-Slack-Signature`` (also one made for whatever
    timestamp came, so the timestamp is parsed), ``X-Slack-Retry-Num`` and
    ``X-Slack-Retry-Reason``: a 200 only for a delivery signed now, else a 403."""
    body = json.dumps(slack_payloads.url_verification("fuzz")).encode()

    @FUZZ
    @given(
        timestamp=st.one_of(st.just("now"), one_header),
        signature=st.one_of(st.just("signed"), one_header),
        retry_num=one_header,
        retry_reason=one_header,
    )
    def check(timestamp, signature, retry_num, retry_reason):
        sent_now = timestamp == "now"
        timestamp = str(int(time.time())) if sent_now else timestamp
        signed = signature == "signed"
        if signed:
            signature = events.signature_for(SIGNING_SECRET, timestamp or "", body)
        environ = {
            key: value
            for key, value in (
                ("HTTP_X_SLACK_REQUEST_TIMESTAMP", timestamp),
                ("HTTP_X_SLACK_SIGNATURE", signature),
                ("HTTP_X_SLACK_RETRY_NUM", retry_num),
                ("HTTP_X_SLACK_RETRY_REASON", retry_reason),
            )
            if value is not None
        }
        response = client.generic(
            "POST", "/slack/acme/events/", body, "application/json", **environ
        )
        if sent_now and signed:
            assert (response.status_code, response.json()) == (200, {"challenge": "fuzz"})
        else:
            assert response.status_code == 403, (response.status_code, timestamp)

    check()


def test_the_callbacks_state_code_and_error_take_any_value(client, slack_app, mocked_slack):
    """``state`` (one we issued, or anything), ``code`` (Slack's shape, or anything) and
    ``error``, each absent, any text or repeated: never a 5xx; an install exactly when an
    issued state comes back without an error, and always for a code of Slack's shape."""
    answer_install(mocked_slack)
    values = st.one_of(st.none(), texts, st.lists(texts, min_size=2, max_size=3))

    @FUZZ
    @given(
        state=st.one_of(st.just("issued"), values),
        code=st.one_of(code_like, values),
        error=st.one_of(st.just("access_denied"), values),
    )
    def check(state, code, error):
        issued = state == "issued"
        if issued:
            started = client.get("/slack/acme/install/")
            state = parse_qs(urlsplit(started["Location"]).query)["state"][0]
        query = {
            name: value
            for name, value in (("state", state), ("code", code), ("error", error))
            if value is not None
        }
        exchanges = len(mocked_slack.calls)
        response = fuzz_get(client, "/slack/acme/oauth/callback/", query, {})
        assert response.status_code in (302, 400), (response.status_code, query)
        if not issued or error is not None:
            assert response.status_code == 400, query
        if not issued:
            assert len(mocked_slack.calls) == exchanges, "a code was exchanged without a state"
        elif error is None and isinstance(code, str) and CODE_SHAPE.fullmatch(code):
            assert response.status_code == 302, query
        if response.status_code == 302:
            attempt = OAuthAttempt.objects.get(state_digest=oauth.digest(state))
            assert attempt.status == "succeeded"

    check()


def test_a_timestamp_of_4301_digits_is_refused_not_a_500(client, slack_app):
    """Found by the attack on the demo: 4,301 digits pass ``isdigit()``, then ``int()``
    raised (Python's limit on converting digits) and an unauthenticated request was a 500."""
    body = json.dumps(slack_payloads.url_verification("x")).encode()
    for timestamp in ("1" * 4301, "1" * 13, "0" * 4301):
        response = client.generic(
            "POST",
            "/slack/acme/events/",
            body,
            "application/json",
            HTTP_X_SLACK_REQUEST_TIMESTAMP=timestamp,
            HTTP_X_SLACK_SIGNATURE=events.signature_for(SIGNING_SECRET, timestamp, body),
        )
        assert response.status_code == 403


def test_a_signed_uninstall_with_a_timestamp_out_of_range_is_acknowledged(client, installation):
    """Found by the fuzzing above: an ``event_time`` no datetime can hold was a 500."""
    for event_time in (10**20, -(10**20), 2**63):
        body = json.dumps(slack_payloads.app_uninstalled(event_time=event_time)).encode()
        assert post_signed(client, body).status_code == 200
    installation.refresh_from_db()
    assert installation.revoked_at is not None


def test_a_signed_body_nested_too_deeply_is_a_400(client, installation):
    """Found by the fuzzing above: JSON nested past the recursion limit was a 500."""
    # 100,000 levels: past the limit of every supported Python (3.13 parses 5,000).
    depth = 100_000
    for body in (b"[" * depth + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth):
        response = post_signed(client, body)
        assert response.status_code == 400
        assert response.content == b"the body is nested too deeply"


@pytest.mark.parametrize("next_url", ["/a\x00b", "/done\n", "/\tx", "/a\x7fb", "/a\u2028b"])
def test_a_next_with_control_characters_is_dropped(client, slack_app, next_url):
    """Found by the fuzzing above: on PostgreSQL a NUL in ``next`` was a 500 (DataError)."""
    response = client.get("/slack/acme/install/", {"next": next_url})
    assert response.status_code == 302
    assert OAuthAttempt.objects.get().next_url == ""


@pytest.mark.parametrize("page", ["success", "error"])
def test_success_and_error_pages_ignore_an_app_that_is_no_slug(client, slack_app, page):
    """Found by the fuzzing above: on PostgreSQL a NUL in ``?app=`` was a 500 (DataError)."""
    for app in ("acme\x00", "\x00", "acme acme", "ac/me"):
        response = client.get(f"/slack/{page}/", {"app": app, "error": "access_denied"})
        assert response.status_code == 200
        assert "Acme Bot" not in response.content.decode()
    named = client.get(f"/slack/{page}/", {"app": "acme", "error": "access_denied"})
    assert "Acme Bot" in named.content.decode()


@pytest.mark.parametrize("field", ["team_id", "enterprise_id"])
@pytest.mark.parametrize("kind", ["app_uninstalled", "tokens_revoked"])
def test_signed_events_naming_a_workspace_with_nul_are_acknowledged(
    client, installation, field, kind
):
    """Found by the fuzzing above: on PostgreSQL a NUL in a Slack id was a 500 (DataError)."""
    payload = getattr(slack_payloads, kind)(org_wide=field == "enterprise_id")
    payload[field] = payload["authorizations"][0][field] = "T0001\x00"
    if kind == "tokens_revoked":
        payload["event"]["tokens"] = {"oauth": ["U0001\x00"], "bot": ["U0BOT\x00"]}
    assert post_signed(client, json.dumps(payload).encode()).status_code == 200
    installation.refresh_from_db()
    assert installation.revoked_at is None and installation.bot_token == slack_payloads.BOT_TOKEN
