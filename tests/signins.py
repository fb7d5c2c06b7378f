"""Sign in with Slack for tests: a test RSA key, id_tokens signed with it, Slack's answers
registered with ``responses``, and walking our views as a browser would."""

from __future__ import annotations

import functools
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import responses
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.cache import cache

from slack_installs.models import SlackApp

SLACK_URL = "https://slack.test"  # tests/settings.py
JWKS_URL = f"{SLACK_URL}/openid/connect/keys"
TOKEN_URL = f"{SLACK_URL}/api/openid.connect.token"
USER_INFO_URL = f"{SLACK_URL}/api/openid.connect.userInfo"
KID = "test-key-1"
TEAM_ID = "T0SIGNIN01"
USER_ID = "U0SIGNIN01"
ACCESS_TOKEN = "xoxp-canary-signin-7777-gggghhhhiiii"


@pytest.fixture
def empty_cache():
    """Django's cache emptied before and after: the key set is cached across requests."""
    cache.clear()
    yield
    cache.clear()


@functools.cache
def rsa_key(name: str = "main") -> rsa.RSAPrivateKey:
    """A test RSA key per ``name``, made once per test run."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(name: str = "main", kid: str = KID, **extra: Any) -> dict[str, Any]:
    public = jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key(name).public_key(), as_dict=True)
    return {**public, "kid": kid, "alg": "RS256", "use": "sig", **extra}


def jwks(*keys: dict[str, Any]) -> dict[str, Any]:
    return {"keys": list(keys) or [jwk()]}


def claims(nonce: str, /, **overrides: Any) -> dict[str, Any]:
    """The claims of an id_token Slack would send for ``nonce`` (``None`` drops a claim)."""
    now = int(time.time())
    values: dict[str, Any] = {
        "iss": "https://slack.com",
        "sub": USER_ID,
        "aud": "111.222",  # tests/conftest.py's slack_app
        "exp": now + 300,
        "iat": now,
        "auth_time": now,
        "nonce": nonce,
        "https://slack.com/team_id": TEAM_ID,
        "https://slack.com/user_id": USER_ID,
        "email": "ada@acme.example.com",
        "email_verified": True,
        "name": "Ada Lovelace",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "https://slack.com/user_image_192": "https://avatars.example.com/ada_192.png",
        "https://slack.com/team_name": "Acme Sign-in",
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def id_token(
    nonce: str,
    /,
    *,
    key: str = "main",
    kid: str | None = KID,
    algorithm: str = "RS256",
    **overrides: Any,
) -> str:
    headers = {"kid": kid} if kid is not None else {}
    signing_key: Any = {"RS256": rsa_key(key), "HS256": "a-shared-secret-of-at-least-32-bytes"}.get(
        algorithm, ""
    )
    return jwt.encode(claims(nonce, **overrides), signing_key, algorithm=algorithm, headers=headers)


def answer_sign_in(
    mocked_slack: responses.RequestsMock,
    token: str | None,
    *,
    keys: dict[str, Any] | None = None,
    user_info: dict[str, Any] | None = None,
) -> dict[str, responses.BaseResponse]:
    """Register Slack's answers to one sign-in: the token exchange, the key set, userInfo."""
    answer: dict[str, Any] = {"ok": True, "access_token": ACCESS_TOKEN, "token_type": "Bearer"}
    if token is not None:
        answer["id_token"] = token
    return {
        "token": mocked_slack.add(responses.POST, TOKEN_URL, json=answer),
        "keys": mocked_slack.add(responses.GET, JWKS_URL, json=keys or jwks()),
        "user_info": mocked_slack.add(
            responses.POST,
            USER_INFO_URL,
            json=user_info
            or {
                "ok": True,
                "sub": USER_ID,
                "https://slack.com/team_id": TEAM_ID,
                "https://slack.com/team_name": "Acme from userInfo",
            },
        ),
    }


def enable_sign_in(app: SlackApp, **fields: Any) -> SlackApp:
    app.sign_in_enabled = True
    for name, value in fields.items():
        setattr(app, name, value)
    app.save()
    return app


def start_sign_in(client, slug: str = "acme", **params: str) -> dict[str, str]:
    """GET the sign-in view of ``slug``; return the authorize URL's parameters."""
    response = client.get(f"/slack/{slug}/sign-in/", params)
    assert response.status_code == 302, response
    query = parse_qs(urlsplit(response["Location"]).query)
    return {name: values[0] for name, values in query.items()}


def sign_in(client, mocked_slack, *, slug: str = "acme", token_overrides=None, **answer: Any):
    """One whole sign-in through our views against ``responses``; return the callback's answer.

    ``token_overrides`` go to ``id_token`` (claims, key, kid); ``answer`` to ``answer_sign_in``.
    """
    params = start_sign_in(client, slug)
    token = id_token(params["nonce"], **(token_overrides or {}))
    answer_sign_in(mocked_slack, token, **answer)
    return client.get(
        f"/slack/{slug}/sign-in/callback/", {"code": "1234.5678.abcd", "state": params["state"]}
    )


def sign_in_through_fake(client, fake_slack, slug: str = "acme", **consent: Any):
    """Our sign-in view → the fake Slack's authorize page → our callback; return its answer.

    The Django test client plays the browser; ``consent`` goes to ``fake_slack.consent``
    (``allow``, ``workspace``). Register the app with the fake Slack first.
    """
    started = client.get(f"/slack/{slug}/sign-in/")
    assert started.status_code == 302, started
    assert started["Location"].startswith(f"{fake_slack.url}/openid/connect/authorize?")
    back = urlsplit(fake_slack.consent(started["Location"], **consent))
    assert back.path == f"/slack/{slug}/sign-in/callback/", back
    return client.get(f"{back.path}?{back.query}")
