"""Exceptions raised by slack_installs."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation


class SlackInstallsError(Exception):
    """Base class of every runtime error of slack_installs."""


class EncryptionNotConfigured(ImproperlyConfigured):
    """The encryption keys in ``SLACK_INSTALLS`` are missing or malformed."""


class DecryptionError(SlackInstallsError):
    """A stored value could not be decrypted; the message names the key id, never the value."""


class SlackAPIError(SlackInstallsError):
    """Slack refused a call, or could not be reached; ``code`` is Slack's error code."""

    def __init__(
        self,
        code: str,
        *,
        method: str = "",
        status: int | None = None,
        retry_after: int | None = None,
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        self.code = code
        self.method = method
        self.status = status
        self.retry_after = retry_after
        # invalid_manifest's errors[]: {code, message, pointer, related_component} each.
        self.errors = errors or []
        where = f"{method}: " if method else ""
        http = f" (HTTP {status})" if status else ""
        super().__init__(f"{where}{code}{http}")


class InvalidState(SlackInstallsError, SuspiciousOperation):
    """The OAuth ``state`` is missing, unknown, expired, reused, or not this browser's or app's."""


class InstallationNotFound(SlackInstallsError):
    """No installation of the app matches the workspace or org asked for."""


class InstallationRevoked(SlackInstallsError):
    """The installation exists but was uninstalled or its token was revoked."""


class TokenRefreshError(SlackInstallsError):
    """Slack refused to refresh a rotating token; the app must be installed again."""


class InvalidIDToken(SlackInstallsError):
    """A sign-in's ``id_token`` failed a check: signature, issuer, audience, time or nonce."""


class ManifestError(SlackInstallsError):
    """An app's manifest cannot go to Slack: ``problems`` lists each ``(pointer, message)``."""

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class ConfigurationTokenError(SlackInstallsError):
    """No usable app configuration token: none stored, several to choose from, or a dead one."""
