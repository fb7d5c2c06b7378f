"""Settings of the app, read from ``settings.SLACK_INSTALLS`` on every access."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEFAULTS: dict[str, Any] = {
    "ENCRYPTION_KEYS": {},
    "ACTIVE_KEY_ID": None,
    "STATE_TTL": 600,
    "HTTP_TIMEOUT": 10,
    "SLACK_URL": "https://slack.com",
    "API_URL": "https://slack.com/api",
    "REDIRECT_BASE_URL": None,
    "TOKEN_REFRESH_MARGIN": 7200,
    "PIPELINES": [],
    "SUCCESS_URL": None,
    "ERROR_URL": None,
    "SIGNING_SECRET_GRACE_PERIOD": 3600,
    "ATTEMPT_RETENTION_DAYS": 90,
    "BROWSER_COOKIE_NAME": "slack_installs_browser",
    "BROWSER_COOKIE_SECURE": None,
    "SIGN_IN_NEW_USERS": "create",
    "SIGN_IN_REDIRECT_URL": None,
    "OIDC_ISSUER": "https://slack.com",
    "OIDC_JWKS_URL": None,
}

SIGN_IN_NEW_USERS_CHOICES = ("create", "deny")


class AppSettings:
    """One property per key of ``SLACK_INSTALLS``; nothing is cached."""

    def _get(self, key: str) -> Any:
        user_settings = getattr(settings, "SLACK_INSTALLS", None) or {}
        return user_settings.get(key, DEFAULTS[key])

    @property
    def ENCRYPTION_KEYS(self) -> dict[str, str]:
        return dict(self._get("ENCRYPTION_KEYS") or {})

    @property
    def EXPLICIT_ACTIVE_KEY_ID(self) -> str | None:
        """``ACTIVE_KEY_ID`` as set, without falling back to the only key."""
        key_id = self._get("ACTIVE_KEY_ID")
        return str(key_id) if key_id else None

    @property
    def ACTIVE_KEY_ID(self) -> str:
        """The key id new values are encrypted with."""
        key_id = self.EXPLICIT_ACTIVE_KEY_ID
        if key_id:
            return key_id
        keys = self.ENCRYPTION_KEYS
        if len(keys) == 1:
            return next(iter(keys))
        raise ImproperlyConfigured(
            "Set SLACK_INSTALLS['ACTIVE_KEY_ID'] to the id of the key that encrypts new values"
            if keys
            else "Set SLACK_INSTALLS['ENCRYPTION_KEYS'] to {'<key id>': '<Fernet key>'}; "
            "generate one with `manage.py slack_installs_generate_key`"
        )

    @property
    def STATE_TTL(self) -> int:
        return int(self._get("STATE_TTL"))

    @property
    def HTTP_TIMEOUT(self) -> float:
        return float(self._get("HTTP_TIMEOUT"))

    @property
    def SLACK_URL(self) -> str:
        return str(self._get("SLACK_URL")).rstrip("/")

    @property
    def API_URL(self) -> str:
        return str(self._get("API_URL")).rstrip("/")

    @property
    def REDIRECT_BASE_URL(self) -> str | None:
        value = self._get("REDIRECT_BASE_URL")
        return str(value).rstrip("/") if value else None

    @property
    def TOKEN_REFRESH_MARGIN(self) -> int:
        return int(self._get("TOKEN_REFRESH_MARGIN"))

    @property
    def PIPELINES(self) -> list[str]:
        return list(self._get("PIPELINES") or [])

    @property
    def SUCCESS_URL(self) -> str | None:
        return self._get("SUCCESS_URL") or None

    @property
    def ERROR_URL(self) -> str | None:
        return self._get("ERROR_URL") or None

    @property
    def SIGNING_SECRET_GRACE_PERIOD(self) -> int:
        """Seconds the previous signing secret still verifies events after a rotation."""
        return int(self._get("SIGNING_SECRET_GRACE_PERIOD"))

    @property
    def ATTEMPT_RETENTION_DAYS(self) -> int:
        """Days finished OAuth attempts are kept by ``slack_installs_cleanup``."""
        return int(self._get("ATTEMPT_RETENTION_DAYS"))

    @property
    def BROWSER_COOKIE_NAME(self) -> str:
        return str(self._get("BROWSER_COOKIE_NAME"))

    @property
    def BROWSER_COOKIE_SECURE(self) -> bool | None:
        """``None`` means: Secure when the install request came over HTTPS."""
        return self._get("BROWSER_COOKIE_SECURE")

    @property
    def SIGN_IN_NEW_USERS(self) -> str:
        """``"create"``: a Slack user with no account here gets one; ``"deny"``: refused."""
        value = self._get("SIGN_IN_NEW_USERS")
        if value not in SIGN_IN_NEW_USERS_CHOICES:
            raise ImproperlyConfigured(
                f"Set SLACK_INSTALLS['SIGN_IN_NEW_USERS'] to 'create' or 'deny', not {value!r}"
            )
        return str(value)

    @property
    def SIGN_IN_REDIRECT_URL(self) -> str | None:
        """Where a browser goes after a sign-in without ``next``; None: ``LOGIN_REDIRECT_URL``."""
        value = self._get("SIGN_IN_REDIRECT_URL")
        return str(value) if value else None

    @property
    def OIDC_ISSUER(self) -> str:
        """The ``iss`` an ``id_token`` must carry."""
        return str(self._get("OIDC_ISSUER"))

    @property
    def OIDC_JWKS_URL(self) -> str:
        """Where the keys that sign the ``id_token`` of a sign-in are published."""
        value = self._get("OIDC_JWKS_URL")
        return str(value) if value else f"{self.SLACK_URL}/openid/connect/keys"


app_settings = AppSettings()
