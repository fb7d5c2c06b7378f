"""Sign in with Slack (OpenID Connect), per app, on the OAuth state service of ``oauth``.

``start_sign_in`` issues a ``sign_in`` attempt (state bound to the browser, a nonce,
PKCE when the app uses it) and the URL of Slack's authorize page. ``complete_sign_in``
claims the attempt when Slack sends the browser back, exchanges the code with
``openid.connect.token``, checks the ``id_token`` with PyJWT (``verify_id_token``), finds
or makes the Django user through ``SlackIdentity`` (``resolve_identity``) and logs them in.

No token of a sign-in is stored: the access token serves one ``openid.connect.userInfo``
call at most, the ``id_token`` is read and dropped, and the attempt keeps Slack's
answer without either.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from typing import Any

import jwt
from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.core.cache import cache
from django.core.exceptions import FieldDoesNotExist
from django.db import IntegrityError, router, transaction
from django.http import HttpRequest
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from . import client
from .client import redact
from .conf import app_settings
from .exceptions import InvalidIDToken, SlackAPIError
from .models import SLACK_ID, OAuthAttempt, SlackApp, SlackIdentity, web_url
from .oauth import (
    STATE_BYTES,
    StartedInstall,
    _user_of,
    absolute_url,
    begin_attempt,
    browser_id_of,
    callback_error,
    claim_attempt,
    digest,
    exchange_code,
    fail_attempt,
    finish_attempt,
    send_robustly,
    slack_authorize_url,
)
from .signals import user_signed_in_with_slack

logger = logging.getLogger(__name__)

SCOPES = ("openid", "email", "profile")
# Fixed here, never taken from the token's own header (RFC 8725 §2.1).
ID_TOKEN_ALGORITHMS = ["RS256"]
ID_TOKEN_LEEWAY = 60  # seconds of clock difference with Slack, for exp and iat
REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "sub", "nonce"]
# Slack's keys change rarely, and an unknown kid fetches them again at once: an hour of
# cache only delays dropping a key Slack withdrew.
JWKS_CACHE_SECONDS = 3600
MAX_ID_TOKEN_LENGTH = 16_000

TEAM_ID_CLAIM = "https://slack.com/team_id"
USER_ID_CLAIM = "https://slack.com/user_id"
TEAM_NAME_CLAIM = "https://slack.com/team_name"
# Largest first: the identity keeps one picture.
USER_IMAGE_CLAIMS = tuple(
    f"https://slack.com/user_image_{size}" for size in (512, 192, 72, 48, 32, 24)
)


# --- Starting a sign-in ----------------------------------------------------------------


def sign_in_redirect_uri(request: HttpRequest, app: SlackApp) -> str:
    """The sign-in callback URL, the same for the authorize page and the code exchange."""
    path = reverse("slack_installs:sign_in_callback", kwargs={"slug": app.slug})
    return absolute_url(request, path)


def authorize_url(
    app: SlackApp,
    *,
    state: str,
    nonce: str,
    redirect_uri: str,
    team: str = "",
    code_challenge: str = "",
) -> str:
    """Slack's OpenID Connect authorize page for ``app``."""
    params = {
        "response_type": "code",
        "scope": ",".join(SCOPES),
        "client_id": app.client_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "nonce": nonce,
    }
    return slack_authorize_url(
        "/openid/connect/authorize", params, team=team, code_challenge=code_challenge
    )


def start_sign_in(
    request: HttpRequest, app: SlackApp, *, team: str | None = None, next_url: str | None = None
) -> StartedInstall:
    """Record a pending ``sign_in`` attempt and return the URL of Slack's authorize page.

    Bind the browser with ``oauth.bind_browser(response, request, started.browser_id)``.
    """
    redirect_uri = sign_in_redirect_uri(request, app)
    nonce = secrets.token_urlsafe(STATE_BYTES)
    attempt, state, browser_id, challenge, team = begin_attempt(
        request,
        app,
        kind=OAuthAttempt.Kind.SIGN_IN,
        redirect_uri=redirect_uri,
        team=team,
        next_url=next_url,
        nonce=nonce,
    )
    url = authorize_url(
        app,
        state=state,
        nonce=nonce,
        redirect_uri=redirect_uri,
        team=team,
        code_challenge=challenge,
    )
    return StartedInstall(attempt=attempt, authorize_url=url, browser_id=browser_id)


# --- The id_token ----------------------------------------------------------------------


def _jwks_cache_key(url: str) -> str:
    return f"slack_installs:oidc_jwks:{digest(url)}"


def _fetch_jwks(url: str) -> dict[str, Any]:
    """Fetch the key set at ``url`` (through ``client``, with the timeout) and cache it."""
    try:
        jwks = client.openid_connect_keys(url)
    except SlackAPIError as exc:
        raise InvalidIDToken(f"the signing keys could not be fetched ({exc.code})") from None
    if _usable_keys(jwks) is None:
        raise InvalidIDToken("the key set holds no usable key")
    # The whole set, as JSON: every worker sharing the cache reads it, whatever its version.
    cache.set(_jwks_cache_key(url), jwks, JWKS_CACHE_SECONDS)
    return jwks


def _usable_keys(jwks: object) -> list[jwt.PyJWK] | None:
    """The RS256 signing keys of a JSON Web Key Set; None when it is not one."""
    if not isinstance(jwks, dict):
        return None
    try:
        key_set = jwt.PyJWKSet.from_dict(jwks)
    except jwt.PyJWTError:
        return None
    keys = [
        key
        for key in key_set.keys
        if key.key_type == "RSA"
        and key.algorithm_name == "RS256"
        and key.public_key_use in (None, "sig")
    ]
    return keys or None


def signing_key(kid: str) -> jwt.PyJWK:
    """The key of ``kid`` at ``OIDC_JWKS_URL``, from Django's cache when it is there.

    A ``kid`` the cached set does not have fetches the set again, once: Slack may have
    rotated its keys since they were cached.
    """
    url = app_settings.OIDC_JWKS_URL
    jwks = cache.get(_jwks_cache_key(url))
    fetched = jwks is None or _usable_keys(jwks) is None
    if fetched:
        jwks = _fetch_jwks(url)
    key = _key_of(jwks, kid)
    if key is None and not fetched:
        key = _key_of(_fetch_jwks(url), kid)
    if key is None:
        raise InvalidIDToken("no signing key has the id_token's kid")
    return key


def _key_of(jwks: object, kid: str) -> jwt.PyJWK | None:
    return next((key for key in _usable_keys(jwks) or [] if key.key_id == kid), None)


@sensitive_variables("id_token")
def verify_id_token(
    id_token: object, *, client_id: str, nonce_digest: str | None
) -> dict[str, Any]:
    """The claims of a sign-in's ``id_token`` once every check passed; else ``InvalidIDToken``.

    Checked with PyJWT: the RS256 signature against a key at ``OIDC_JWKS_URL``, ``iss``
    (``OIDC_ISSUER``), ``aud`` (the app's ``client_id``), ``exp`` and ``iat`` (within
    ``ID_TOKEN_LEEWAY`` seconds), and a ``nonce`` whose digest is ``nonce_digest``.
    """
    if not isinstance(id_token, str) or not id_token or len(id_token) > MAX_ID_TOKEN_LENGTH:
        raise InvalidIDToken("Slack's answer carries no id_token")
    if not nonce_digest:
        raise InvalidIDToken("the attempt has no nonce to compare")
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError as exc:
        raise InvalidIDToken(f"the id_token is malformed ({type(exc).__name__})") from None
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidIDToken("the id_token names no signing key (kid)")
    key = signing_key(kid)
    try:
        claims = jwt.decode(
            id_token,
            key=key,
            algorithms=ID_TOKEN_ALGORITHMS,
            audience=client_id,
            issuer=app_settings.OIDC_ISSUER,
            leeway=ID_TOKEN_LEEWAY,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.PyJWTError as exc:
        # PyJWT's messages name the failed check, never the token.
        raise InvalidIDToken(f"{type(exc).__name__}: {exc}") from None
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not hmac.compare_digest(digest(nonce), nonce_digest):
        raise InvalidIDToken("the nonce is not the one this sign-in sent")
    return claims


# --- Who signed in ---------------------------------------------------------------------


@dataclass(frozen=True)
class SlackProfile:
    """Who Slack says signed in: the ids from the verified ``id_token``, and how to show them."""

    team_id: str
    user_id: str
    email: str = ""
    email_verified: bool = False
    name: str = ""
    given_name: str = ""
    family_name: str = ""
    picture: str = ""
    team_name: str = ""

    @property
    def username(self) -> str:
        """The ``USERNAME_FIELD`` of a user made for this Slack user (dots pass Django's
        username validator)."""
        return f"slack.{self.team_id}.{self.user_id}"


def _text(claims: dict[str, Any], key: str, limit: int = 200) -> str:
    value = claims.get(key)
    # PostgreSQL refuses NUL in text columns.
    return value.replace("\x00", "")[:limit] if isinstance(value, str) else ""


def _picture(claims: dict[str, Any]) -> str:
    for key in ("picture", *USER_IMAGE_CLAIMS):
        url = web_url(claims.get(key), 500)
        if url:
            return url
    return ""


def profile_of(claims: dict[str, Any], extra: dict[str, Any] | None = None) -> SlackProfile:
    """The ``SlackProfile`` of verified ``id_token`` claims.

    ``extra`` (``openid.connect.userInfo``'s answer) only fills in what the claims lack
    (the team's name, a picture); it never changes who signed in.
    """
    team_id, user_id = claims.get(TEAM_ID_CLAIM), claims.get(USER_ID_CLAIM)
    if not isinstance(team_id, str) or not SLACK_ID.match(team_id):
        raise InvalidIDToken("the id_token names no Slack team")
    if not isinstance(user_id, str) or not SLACK_ID.match(user_id):
        raise InvalidIDToken("the id_token names no Slack user")
    extra = extra or {}
    return SlackProfile(
        team_id=team_id,
        user_id=user_id,
        email=_text(claims, "email", 254),
        email_verified=claims.get("email_verified") is True,
        name=_text(claims, "name"),
        given_name=_text(claims, "given_name", 150),
        family_name=_text(claims, "family_name", 150),
        picture=_picture(claims) or _picture(extra),
        team_name=_text(claims, TEAM_NAME_CLAIM) or _text(extra, TEAM_NAME_CLAIM),
    )


@sensitive_variables("access_token")
def _user_info(access_token: object, claims: dict[str, Any]) -> dict[str, Any]:
    """``openid.connect.userInfo`` for the team name the ``id_token`` lacks; {} on failure.

    Only for showing the identity: a failed call or an answer about anyone else is left out.
    """
    if claims.get(TEAM_NAME_CLAIM) or not isinstance(access_token, str) or not access_token:
        return {}
    try:
        answer = client.openid_connect_user_info(access_token)
    except SlackAPIError as exc:
        logger.warning("openid.connect.userInfo failed (%s): the team name stays blank", exc.code)
        return {}
    same = all(answer.get(key) == claims.get(key) for key in ("sub", TEAM_ID_CLAIM))
    return answer if same else {}


class SignInRefused(Exception):  # noqa: N818 (an outcome, not a failure of the code)
    """The sign-in cannot log anyone in; ``code`` is the error page's code."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class UsernameTaken(Exception):  # noqa: N818 (a conflict, settled by resolve_identity)
    """A user already has the username a new user for this Slack user would get."""


def _has_field(model: Any, name: str) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


def _new_user(profile: SlackProfile) -> Any:
    """A user for a Slack user with no account here: no usable password, never an email
    Slack has not verified."""
    user_model = get_user_model()
    username_field = user_model.USERNAME_FIELD
    if user_model._default_manager.filter(**{username_field: profile.username}).exists():
        # A concurrent sign-in of this Slack user made it a moment ago (the retry finds its
        # identity), or someone else holds the name (made by hand, or an identity was
        # deleted): logging this Slack user into that account would hand it over.
        raise UsernameTaken(profile.username)
    user = user_model(**{username_field: profile.username})
    email_field = getattr(user_model, "get_email_field_name", lambda: "email")()
    if profile.email_verified and profile.email and _has_field(user_model, email_field):
        setattr(user, email_field, profile.email)
    for name, value in (("first_name", profile.given_name), ("last_name", profile.family_name)):
        if value and _has_field(user_model, name):
            limit = getattr(user_model._meta.get_field(name), "max_length", None) or len(value)
            setattr(user, name, value[:limit])
    user.set_unusable_password()
    user.save()
    return user


def _update(identity: SlackIdentity, app: SlackApp, profile: SlackProfile) -> None:
    identity.app = app
    identity.email = profile.email
    identity.name = profile.name
    identity.picture = profile.picture
    identity.team_name = profile.team_name
    identity.last_sign_in_at = timezone.now()
    identity.save(update_fields=["app", "email", "name", "picture", "team_name", "last_sign_in_at"])


def _link(
    app: SlackApp, profile: SlackProfile, current_user: Any
) -> tuple[SlackIdentity, Any, bool]:
    identities = SlackIdentity.objects.using(router.db_for_write(SlackIdentity))
    identity = (
        identities.select_related("user")
        .filter(team_id=profile.team_id, slack_user_id=profile.user_id)
        .first()
    )
    if identity is not None:
        if current_user is not None and identity.user_id != current_user.pk:
            raise SignInRefused("identity_taken")
        if not getattr(identity.user, "is_active", True):
            raise SignInRefused("user_inactive")
        _update(identity, app, profile)
        return identity, identity.user, False
    created = current_user is None
    if created:
        # Never matched by email: whoever runs a workspace sets its members' addresses.
        if app_settings.SIGN_IN_NEW_USERS != "create":
            raise SignInRefused("no_account")
        user = _new_user(profile)
    else:
        user = current_user
    identity = identities.create(
        app=app,
        team_id=profile.team_id,
        slack_user_id=profile.user_id,
        user=user,
        email=profile.email,
        name=profile.name,
        picture=profile.picture,
        team_name=profile.team_name,
    )
    return identity, user, created


def resolve_identity(
    app: SlackApp, profile: SlackProfile, current_user: Any = None
) -> tuple[SlackIdentity, Any, bool]:
    """The identity of ``profile``, its Django user, and whether that user was made now.

    The ``SlackIdentity`` of the Slack team and user names the user. Without one, a
    signed-in ``current_user`` is linked to it; for an anonymous browser a user is made
    when ``SIGN_IN_NEW_USERS`` is ``"create"``. Raises ``SignInRefused`` with
    ``identity_taken`` (linked to someone else), ``no_account`` or ``user_inactive``.
    """
    identity_db = router.db_for_write(SlackIdentity)
    user_db = router.db_for_write(get_user_model())
    for last_try in (False, True):
        try:
            with transaction.atomic(using=identity_db), transaction.atomic(using=user_db):
                return _link(app, profile, current_user)
        except (IntegrityError, UsernameTaken):
            # A concurrent sign-in of the same Slack user made the identity (the next try
            # finds it), or the username is someone else's.
            if last_try:
                raise SignInRefused("identity_taken") from None
    raise AssertionError("unreachable")  # pragma: no cover


# --- Finishing a sign-in ---------------------------------------------------------------


@dataclass
class SignInOutcome:
    """What the sign-in callback did; the view turns it into a redirect or the error page."""

    attempt: OAuthAttempt
    error: str = ""
    user: Any = None
    identity: SlackIdentity | None = None
    created: bool = False
    redirect_url: str = ""

    @property
    def succeeded(self) -> bool:
        return not self.error


def _fail(attempt: OAuthAttempt, error: str) -> SignInOutcome:
    fail_attempt(attempt, error)
    return SignInOutcome(attempt=attempt, error=error)


def complete_sign_in(request: HttpRequest, app: SlackApp) -> SignInOutcome:
    """Handle Slack's redirect back: check state, exchange the code, verify, log in.

    Raises ``InvalidState`` for a state that is not this browser's pending sign-in of
    ``app``; every other failure is an outcome with an error code, nobody logged in.
    """
    attempt = claim_attempt(
        app,
        request.GET.get("state"),
        kind=OAuthAttempt.Kind.SIGN_IN,
        browser_id=browser_id_of(request),
        user=_user_of(request),
    )
    try:
        return _sign_in(request, app, attempt)
    except Exception:
        logger.exception("The sign-in callback of Slack app %r failed", app.slug)
        return _fail(attempt, "internal_error")


@sensitive_variables("answer", "access_token")
def _sign_in(request: HttpRequest, app: SlackApp, attempt: OAuthAttempt) -> SignInOutcome:
    error = callback_error(request)
    if error:
        return _fail(attempt, error)
    code = request.GET["code"]
    try:
        answer = exchange_code(client.openid_connect_token, app, attempt, code)
    except SlackAPIError as exc:
        return _fail(attempt, exc.code)
    try:
        claims = verify_id_token(
            answer.get("id_token"), client_id=app.client_id or "", nonce_digest=attempt.nonce_digest
        )
        profile = profile_of(claims)
    except InvalidIDToken as exc:
        logger.warning("Sign-in with Slack app %r: invalid id_token (%s)", app.slug, exc)
        return _fail(attempt, "invalid_id_token")
    allowed = app.allowed_sign_in_teams
    if allowed and profile.team_id not in allowed:
        return _fail(attempt, "team_not_allowed")
    access_token = answer.get("access_token")
    extra = _user_info(access_token, claims)
    if extra:
        profile = profile_of(claims, extra)
    try:
        identity, user, created = resolve_identity(app, profile, _user_of(request))
    except SignInRefused as refused:
        return _fail(attempt, refused.code)
    finish_attempt(attempt, OAuthAttempt.Status.SUCCEEDED, user=user, response=redact(answer))

    # A new session key: a session id planted before the sign-in is worth nothing after it.
    login(request, user, backend=_backend())
    logger.info(
        "Slack user %s of %s signed in as user %s through %r",
        profile.user_id,
        profile.team_id,
        user.pk,
        app.slug,
    )
    send_robustly(
        user_signed_in_with_slack,
        name="user_signed_in_with_slack",
        flow="a sign-in",
        app=app,
        sender=SlackIdentity,
        identity=identity,
        user=user,
        created=created,
        request=request,
    )
    target = attempt.next_url or resolve_url(
        app_settings.SIGN_IN_REDIRECT_URL or settings.LOGIN_REDIRECT_URL
    )
    return SignInOutcome(
        attempt=attempt,
        user=user,
        identity=identity,
        created=created,
        redirect_url=str(target),
    )


MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _backend() -> str:
    """The authentication backend the session names: Django's own when it is configured
    (it loads any user by pk), else the first one."""
    backends = list(settings.AUTHENTICATION_BACKENDS)
    return MODEL_BACKEND if MODEL_BACKEND in backends or not backends else backends[0]
