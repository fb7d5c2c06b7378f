"""The fake Slack's Sign in with Slack (OpenID Connect).

``OpenIDConnect`` is the sign-in part of ``FakeSlack``: the authorize page at
``/openid/connect/authorize`` (a person picks a workspace and allows or cancels, as on
the install consent page), ``openid.connect.token`` answering with an RS256 ``id_token``,
the key set at ``/openid/connect/keys``, ``openid.connect.userInfo`` and the discovery
document. The signing key is made once per fake (at the first sign-in) and kept.

Knobs for tests: ``sign_in_as()`` says who signs in in a workspace,
``tamper_next_id_token()`` spoils the next ``id_token`` in one of ``TAMPERINGS``, and
``rotate_signing_key()`` replaces the key as Slack does now and then.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from . import pages, wire
from .records import FakeApp, FakeSlackError, IssuedToken, Workspace
from .webapi import digits, spend_code

if TYPE_CHECKING:
    from jwt.algorithms import RSAAlgorithm

CODE_LIFETIME = 600  # seconds a sign-in code can be exchanged
ID_TOKEN_LIFETIME = 300  # seconds, as Slack's
SCOPES = ("openid", "email", "profile")
TAMPERINGS = (
    "signature",  # signed by another key under the published kid
    "issuer",  # iss is not Slack
    "audience",  # aud is another app's client id
    "expired",  # exp (and iat) an hour ago
    "nonce",  # not the nonce the sign-in sent
    "unknown_kid",  # signed by a key the key set does not publish
    "unsigned",  # alg "none", no signature at all
)
IMAGE_SIZES = (24, 32, 48, 72, 192, 512)


@dataclass(frozen=True)
class SignInUser:
    """Who signs in with Slack in one workspace of the fake."""

    user_id: str
    email: str
    email_verified: bool = True
    name: str = ""
    given_name: str = ""
    family_name: str = ""


@dataclass
class SignInGrant:
    code: str
    client_id: str
    redirect_uri: str
    workspace: Workspace
    user: SignInUser
    nonce: str
    code_challenge: str
    scopes: tuple[str, ...]
    expires_at: float
    used: bool = False


@dataclass
class SigningKey:
    """An RSA key that signs the fake's ``id_token`` values, and its key id."""

    kid: str = field(default_factory=lambda: f"fake-{secrets.token_hex(6)}")
    private_key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    def jwk(self) -> dict[str, Any]:
        """The public half as a JSON Web Key."""
        algorithm: type[RSAAlgorithm] = jwt.get_algorithm_by_name("RS256")  # type: ignore[assignment]
        public = algorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "alg": "RS256", "use": "sig"}

    def sign(self, claims: dict[str, Any], kid: str | None = None) -> str:
        return jwt.encode(
            claims, self.private_key, algorithm="RS256", headers={"kid": kid or self.kid}
        )


def default_user(workspace: Workspace) -> SignInUser:
    """The person who signs in in ``workspace`` unless ``sign_in_as`` says otherwise."""
    return SignInUser(
        user_id=workspace.installer_id,
        email=f"{workspace.installer_id.lower()}@{workspace.domain}.example.com",
        name=f"Pat of {workspace.team_name}",
        given_name="Pat",
        family_name=workspace.team_name,
    )


def at_hash(access_token: str) -> str:
    """OpenID Connect's ``at_hash``: the left half of the token's SHA-256, base64url."""
    half = hashlib.sha256(access_token.encode("ascii")).digest()[:16]
    return base64.urlsafe_b64encode(half).rstrip(b"=").decode("ascii")


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OpenIDConnect:
    """The sign-in part of ``FakeSlack``, which owns the state and the app registry."""

    # Provided by FakeSlack: its URL and workspaces, the app lookup, the lock, token issuing,
    # client checks and failure injection.
    if TYPE_CHECKING:

        @property
        def url(self) -> str: ...

    workspaces: tuple[Workspace, ...]
    app: Callable[[str], FakeApp | None]
    workspace: Callable[[str | Workspace | None], Workspace]
    _lock: threading.RLock
    _tokens: dict[str, IssuedToken]
    _issue: Callable[..., IssuedToken]
    _client: Callable[[wire.ApiRequest], FakeApp]
    _access_token: Callable[[wire.ApiRequest], IssuedToken]
    _serve: Callable[..., wire.Answer]
    _redirect: Callable[[str], wire.Answer]
    _client_and_redirect: Callable[[dict[str, Any]], tuple[Any, str] | wire.Answer]

    oidc_issuer = "https://slack.com"  # Slack's; a test may set the fake's own

    def _reset_oidc_state(self) -> None:
        self._oidc_codes: dict[str, SignInGrant] = {}
        self._oidc_users_by_token: dict[str, SignInUser] = {}
        self._sign_in_users: dict[str, SignInUser] = {}
        self._tamperings: list[str] = []

    # --- Knobs ----------------------------------------------------------------------------

    def sign_in_as(
        self,
        user_id: str,
        *,
        workspace: str | Workspace | None = None,
        email: str | None = None,
        email_verified: bool = True,
        name: str = "",
    ) -> SignInUser:
        """Make ``user_id`` the person who signs in in ``workspace`` (default the first)."""
        ws = self.workspace(workspace)
        if ws.org_wide:
            raise FakeSlackError("a sign-in is into a workspace, not a whole organization")
        user = SignInUser(
            user_id=user_id,
            email=email if email is not None else f"{user_id.lower()}@{ws.domain}.example.com",
            email_verified=email_verified,
            name=name or f"Member {user_id}",
        )
        with self._lock:
            self._sign_in_users[ws.key] = user
        return user

    def tamper_next_id_token(self, how: str, *, times: int = 1) -> None:
        """Spoil the next ``times`` ``id_token`` values in one way of ``TAMPERINGS``."""
        if how not in TAMPERINGS:
            raise ValueError(f"tamper with one of {', '.join(TAMPERINGS)}, not {how!r}")
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._tamperings.extend([how] * times)

    def rotate_signing_key(self, *, keep_old: bool = False) -> str:
        """Sign with a new key from now on; return its kid.

        ``keep_old`` keeps publishing the old key too (as Slack does for a while), else
        the key set holds the new key alone.
        """
        with self._lock:
            current = self._signing_keys()
            self._oidc_keys = [SigningKey(), *(current if keep_old else [])]
            return self._oidc_keys[0].kid

    @property
    def signing_kids(self) -> list[str]:
        """The kids of the published keys, the one that signs first."""
        with self._lock:
            return [key.kid for key in self._signing_keys()]

    def jwks(self) -> dict[str, Any]:
        """The key set served at ``/openid/connect/keys``."""
        with self._lock:
            return {"keys": [key.jwk() for key in self._signing_keys()]}

    def _signing_keys(self) -> list[SigningKey]:
        # Made at the first sign-in, not at start: most tests of the fake never sign in, and
        # an RSA key takes a while to make.
        if not getattr(self, "_oidc_keys", None):
            self._oidc_keys = [SigningKey()]
        return self._oidc_keys

    # --- Pages ----------------------------------------------------------------------------

    def _openid_page(self, environ: dict[str, Any], path: str, verb: str) -> wire.Answer | None:
        """The answer of an OpenID Connect page, or None when ``path`` is none of them."""
        if path == "/openid/connect/authorize" and verb == "GET":
            params = dict(wire.parse_params({"QUERY_STRING": environ.get("QUERY_STRING", "")}, b""))
            return self._sign_in_authorize(params, None)
        if path == "/openid/connect/authorize" and verb == "POST":
            form = wire.parse_params({}, wire.read_body(environ))
            return self._sign_in_authorize(form, str(form.get("decision") or ""))
        if path == "/openid/connect/keys" and verb == "GET":
            request = wire.ApiRequest(params={})
            return self._serve("openid.connect.keys", request, self.jwks)
        if path == "/.well-known/openid-configuration" and verb == "GET":
            return wire.json_answer(self._discovery())
        return None

    def _discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.oidc_issuer,
            "authorization_endpoint": f"{self.url}/openid/connect/authorize",
            "token_endpoint": f"{self.url}/api/openid.connect.token",
            "userinfo_endpoint": f"{self.url}/api/openid.connect.userInfo",
            "jwks_uri": f"{self.url}/openid/connect/keys",
            "scopes_supported": list(SCOPES),
            "response_types_supported": ["code"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }

    def _sign_in_user(self, workspace: Workspace) -> SignInUser:
        return self._sign_in_users.get(workspace.key) or default_user(workspace)

    def _sign_in_authorize(self, params: dict[str, Any], decision: str | None) -> wire.Answer:
        checked = self._client_and_redirect(params)
        if isinstance(checked, wire.Answer):
            return checked
        app, redirect_uri = checked
        scopes = wire.split_scopes(params.get("scope"))
        if params.get("response_type") != "code" or "openid" not in scopes:
            return wire.html_answer(
                pages.error_page(
                    "Invalid request",
                    "Sign in with Slack needs response_type=code and the scope openid.",
                ),
                400,
            )
        if any(scope not in SCOPES for scope in scopes):
            return wire.html_answer(
                pages.error_page("Invalid scope", "Ask only for openid, email and profile."), 400
            )
        challenge = str(params.get("code_challenge") or "")
        if challenge and params.get("code_challenge_method") != "S256":
            return wire.html_answer(
                pages.error_page("Invalid request", "code_challenge_method must be S256."), 400
            )
        workspaces = [ws for ws in self.workspaces if not ws.org_wide]
        state = params.get("state")
        if decision is None:
            with self._lock:
                choices = [
                    (ws.key, f"{ws.label}, as {self._sign_in_user(ws).name}") for ws in workspaces
                ]
            return wire.html_answer(
                sign_in_page(
                    app_name=app.name,
                    hidden={
                        name: str(params[name])
                        for name in (
                            "response_type",
                            "client_id",
                            "scope",
                            "redirect_uri",
                            "state",
                            "nonce",
                            "team",
                            "code_challenge",
                            "code_challenge_method",
                        )
                        if params.get(name) is not None
                    },
                    workspaces=choices,
                    selected=self._preselected_workspace(str(params.get("team") or "")),
                    scopes=scopes,
                )
            )
        back = {"state": str(state)} if state is not None else {}
        if decision == "deny":
            return self._redirect(wire.with_query(redirect_uri, {"error": "access_denied", **back}))
        if decision != "allow":
            return wire.html_answer(pages.error_page("Bad request", "Choose Allow or Cancel."), 400)
        chosen = str(params.get("workspace") or "")
        workspace = next((ws for ws in workspaces if ws.key == chosen), None)
        if workspace is None:
            return wire.html_answer(
                pages.error_page("Bad request", "Choose one of the workspaces."), 400
            )
        with self._lock:
            grant = SignInGrant(
                code=f"{digits(12)}.{digits(13)}.{secrets.token_hex(32)}",
                client_id=app.client_id,
                redirect_uri=redirect_uri,
                workspace=workspace,
                user=self._sign_in_user(workspace),
                nonce=str(params.get("nonce") or ""),
                code_challenge=challenge,
                scopes=scopes,
                expires_at=time.monotonic() + CODE_LIFETIME,
            )
            self._oidc_codes[grant.code] = grant
        return self._redirect(wire.with_query(redirect_uri, {"code": grant.code, **back}))

    def _preselected_workspace(self, team: str) -> str:
        keys = [ws.key for ws in self.workspaces if not ws.org_wide]
        return team if team in keys else keys[0]

    # --- Web API methods ------------------------------------------------------------------

    def _openid_connect_token(self, request: wire.ApiRequest) -> dict[str, Any]:
        app = self._client(request)
        grant_type = request.params.get("grant_type") or "authorization_code"
        if grant_type != "authorization_code":
            raise wire.Refused("unsupported_grant_type")
        grant = spend_code(self._oidc_codes, app, request)
        if grant.code_challenge:
            verifier = str(request.params.get("code_verifier") or "")
            if not verifier or s256(verifier) != grant.code_challenge:
                raise wire.Refused("invalid_grant")
        access = self._issue(
            app, grant.workspace, "user", user_id=grant.user.user_id, scopes=grant.scopes
        )
        self._oidc_users_by_token[access.value] = grant.user
        tampering = self._tamperings.pop(0) if self._tamperings else ""
        return {
            "ok": True,
            "access_token": access.value,
            "token_type": "Bearer",
            "id_token": self._id_token(app, grant, access.value, tampering),
        }

    def _claims(self, workspace: Workspace, user: SignInUser) -> dict[str, Any]:
        """What Slack says about a signed-in user, in both the id_token and userInfo."""
        images = {
            f"https://slack.com/user_image_{size}": (
                f"https://avatars.fake-slack.test/{user.user_id}_{size}.png"
            )
            for size in IMAGE_SIZES
        }
        return {
            "sub": user.user_id,
            "https://slack.com/user_id": user.user_id,
            "https://slack.com/team_id": workspace.team_id,
            "email": user.email,
            "email_verified": user.email_verified,
            "date_email_verified": 1_700_000_000,
            "name": user.name,
            "given_name": user.given_name,
            "family_name": user.family_name,
            "locale": "en-US",
            **images,
            "https://slack.com/team_image_230": (
                f"https://avatars.fake-slack.test/{workspace.team_id}_230.png"
            ),
            "https://slack.com/team_image_default": True,
        }

    def _id_token(self, app: FakeApp, grant: SignInGrant, access_token: str, tampering: str) -> str:
        now = int(time.time())
        issued = now - 3600 if tampering == "expired" else now
        claims: dict[str, Any] = {
            "iss": "https://evil.example" if tampering == "issuer" else self.oidc_issuer,
            "aud": "999999999.999999999" if tampering == "audience" else app.client_id,
            "exp": issued + ID_TOKEN_LIFETIME,
            "iat": issued,
            "auth_time": issued,
            "at_hash": at_hash(access_token),
            **self._claims(grant.workspace, grant.user),
        }
        if grant.nonce:
            claims["nonce"] = secrets.token_urlsafe(16) if tampering == "nonce" else grant.nonce
        key = self._signing_keys()[0]
        if tampering == "unsigned":
            return jwt.encode(claims, "", algorithm="none", headers={"kid": key.kid})
        if tampering == "signature":
            return SigningKey().sign(claims, kid=key.kid)
        if tampering == "unknown_kid":
            return SigningKey().sign(claims)
        return key.sign(claims)

    def _openid_connect_user_info(self, request: wire.ApiRequest) -> dict[str, Any]:
        token = self._access_token(request)
        user = self._oidc_users_by_token.get(token.value)
        if user is None or "openid" not in token.scopes:
            raise wire.Refused("missing_scope", needed="openid")
        workspace = token.workspace
        claims = self._claims(workspace, user)
        return {
            "ok": True,
            **claims,
            "picture": claims["https://slack.com/user_image_512"],
            "https://slack.com/team_name": workspace.team_name,
            "https://slack.com/team_domain": workspace.domain,
        }


def sign_in_page(
    *,
    app_name: str,
    hidden: dict[str, str],
    workspaces: list[tuple[str, str]],
    selected: str,
    scopes: tuple[str, ...],
) -> str:
    """The "Sign in to <app> with Slack" page with Allow and Cancel."""
    shared = "".join(f"<li><code>{escape(scope)}</code></li>" for scope in scopes)
    body = (
        f"<h1>Sign in to {escape(app_name)} with Slack</h1>"
        '<form method="post" action="/openid/connect/authorize">'
        f"{pages.hidden_fields(hidden)}"
        f"<fieldset><legend>Workspace</legend>{pages.workspace_choices(workspaces, selected)}"
        f"</fieldset><h2>{escape(app_name)} will see</h2><ul>{shared}</ul>{pages.DECISION}</form>"
    )
    return pages._page(f"Sign in to {app_name}", body)
