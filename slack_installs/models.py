"""Slack apps, their installations, installers' user tokens and OAuth attempts."""

from __future__ import annotations

import datetime
import re
from urllib.parse import urlsplit

import django
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator, URLValidator
from django.db import models
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .fields import EncryptedTextField, has_stored_value

# CheckConstraint's keyword: ``check`` until Django 5.1 renamed it ``condition``.
CHECK = "condition" if django.VERSION >= (5, 1) else "check"

SCOPES_VALIDATOR = RegexValidator(
    r"^([a-z][a-z0-9_.:\-]*(,[a-z][a-z0-9_.:\-]*)*)?$",
    _("Comma-separated Slack scope names, e.g. 'chat:write,commands' (no spaces)."),
)


def split_scopes(value: str) -> list[str]:
    return [scope for scope in (value or "").split(",") if scope]


def slack_id_shape(prefix: str = "") -> re.Pattern[str]:
    """The shape of a Slack id (upper-case letters and digits, at most 32 characters, the
    size of our columns), starting with ``prefix``: ``A`` for apps, ``E`` for Grid orgs."""
    return re.compile(rf"^{prefix}[A-Z0-9]{{2,{32 - len(prefix)}}}$")


SLACK_ID = slack_id_shape()
_WEB_URL = URLValidator(schemes=["http", "https"])


def web_url(value: object, limit: int = 200) -> str:
    """``value`` when it is an absolute http(s) URL of at most ``limit`` characters, else ``""``.

    For URLs that come from Slack's answers and end up in a link: anything else
    (``javascript:``, a relative path, a clipped URL) is dropped, never stored or shown.
    """
    if not isinstance(value, str) or not value or len(value) > limit:
        return ""
    try:
        _WEB_URL(value)
    except ValidationError:
        return ""
    return value


# http:// is only for these: a browser sent to them stays on the machine.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _is_redirect_target(value: str) -> bool:
    # Browsers read a backslash as a slash (/\evil.example is //evil.example, another site)
    # and drop tabs and newlines from URLs: refuse them rather than guess what a browser does.
    if not value or "\\" in value:
        return False
    if any(char.isspace() or not char.isprintable() for char in value):
        return False
    if value.startswith("/"):
        return not value.startswith("//")  # "//host" is another site
    try:
        _WEB_URL(value)
    except ValidationError:
        return False
    parts = urlsplit(value)
    return parts.scheme == "https" or parts.hostname in LOOPBACK_HOSTS


def validate_redirect_target(value: str) -> None:
    """Refuse a ``success_url`` / ``error_url`` the callback must not send a browser to.

    Allowed: an absolute ``https://`` URL (``http://`` only for localhost, 127.0.0.1
    or [::1]), or a path on this site starting with exactly one ``/``; no backslash,
    whitespace or control character.
    """
    if not _is_redirect_target(value):
        raise ValidationError(
            _(
                "Enter an absolute https:// URL (http:// only for localhost, 127.0.0.1 or "
                "[::1]) or a path on this site starting with a single “/”, without spaces, "
                "backslashes or control characters."
            ),
            code="invalid_redirect_target",
        )


def safe_redirect_target(value: object) -> str:
    """``value`` when ``validate_redirect_target`` accepts it, else ``""`` (as if unset).

    For where the callback sends the browser: an app's ``success_url`` or ``error_url``
    saved before they were validated, or the ``SUCCESS_URL`` / ``ERROR_URL`` settings
    (a ``reverse_lazy()`` is fine).
    """
    if isinstance(value, Promise):
        value = str(value)
    return value if isinstance(value, str) and _is_redirect_target(value) else ""


def validate_json_object(value: object) -> None:
    if not isinstance(value, dict):
        raise ValidationError(_("Enter a JSON object: {…}."), code="not_an_object")


class SlackApp(models.Model):
    """One Slack app (client id and secrets) that workspaces can install."""

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    app_id = models.CharField(_("Slack app id"), max_length=32, blank=True)
    # NULL until the app exists on Slack ("Create on Slack" fills it): NULLs never collide
    # in the unique index, blank strings would (a check constraint refuses them).
    client_id = models.CharField(_("client id"), max_length=64, unique=True, null=True, blank=True)
    client_secret = EncryptedTextField(_("client secret"))
    signing_secret = EncryptedTextField(_("signing secret"))
    previous_signing_secret = EncryptedTextField(
        _("previous signing secret"),
        help_text=_("Still verifies events until the grace period after a rotation ends."),
    )
    previous_signing_secret_expires_at = models.DateTimeField(null=True, blank=True)
    client_secret_rotated_at = models.DateTimeField(null=True, blank=True)
    signing_secret_rotated_at = models.DateTimeField(null=True, blank=True)
    bot_scopes = models.CharField(
        _("bot scopes"), max_length=2000, blank=True, validators=[SCOPES_VALIDATOR]
    )
    user_scopes = models.CharField(
        _("user scopes"), max_length=2000, blank=True, validators=[SCOPES_VALIDATOR]
    )
    redirect_uri = models.URLField(
        _("redirect URI override"),
        max_length=500,
        blank=True,
        help_text=_("Leave blank to use this site's callback URL."),
    )
    pipelines = models.JSONField(
        _("pipeline steps"),
        default=list,
        blank=True,
        help_text=_("Dotted paths of the steps run after each install, in order."),
    )
    success_url = models.CharField(
        _("success URL"), max_length=500, blank=True, validators=[validate_redirect_target]
    )
    error_url = models.CharField(
        _("error URL"), max_length=500, blank=True, validators=[validate_redirect_target]
    )
    is_active = models.BooleanField(_("active"), default=True)
    use_pkce = models.BooleanField(
        _("use PKCE"),
        default=False,
        help_text=_(
            "Send a PKCE code challenge (S256) with every install and its verifier with the code "
            "exchange. Turn PKCE on in the app's settings on Slack first. Slack then treats the "
            "app as a public client for good (it cannot be turned off again) and expires its "
            "refresh tokens after 30 days: with token rotation on, a workspace that stays quiet "
            "for 30 days must install the app again."
        ),
    )
    # What the app's manifest says on Slack (manifests.py); see docs/manifests.md.
    org_deploy_enabled = models.BooleanField(
        _("org-ready (Enterprise Grid)"),
        default=False,
        help_text=_("Org-wide installs in Enterprise Grid orgs, with team access events."),
    )
    token_rotation_enabled = models.BooleanField(
        _("token rotation"),
        default=False,
        help_text=_("Slack hands out tokens that expire after 12 hours, renewed here."),
    )
    manifest_extra = models.JSONField(
        _("more of the manifest"),
        default=dict,
        blank=True,
        validators=[validate_json_object],
        help_text=_(
            "A JSON object merged into the generated manifest last: slash commands, shortcuts, "
            "interactivity, anything not set above."
        ),
    )
    configuration_token = models.ForeignKey(
        "ConfigurationToken",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="apps",
        verbose_name=_("configuration token"),
        help_text=_("Creates and updates this app on Slack. Blank: the only one stored."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("Slack app")
        verbose_name_plural = _("Slack apps")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(  # type: ignore[call-overload]
                **{CHECK: ~models.Q(client_id="")}, name="slack_installs_client_id_not_blank"
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.slug

    @property
    def has_credentials(self) -> bool:
        """Whether the app has a client id and secret: without them it cannot be installed."""
        return bool(self.client_id) and has_stored_value(self, "client_secret")


class InstallationQuerySet(models.QuerySet):
    def active(self) -> InstallationQuerySet:
        return self.filter(revoked_at__isnull=True)

    def revoked(self) -> InstallationQuerySet:
        return self.filter(revoked_at__isnull=False)


class Installation(models.Model):
    """An app installed in one workspace, or org-wide in an Enterprise Grid org."""

    # No index of its own: the unique constraint and the lookup index start with app.
    app = models.ForeignKey(
        SlackApp, on_delete=models.CASCADE, related_name="installations", db_index=False
    )
    enterprise_id = models.CharField(_("enterprise id"), max_length=32, blank=True, default="")
    enterprise_name = models.CharField(_("enterprise name"), max_length=200, blank=True)
    enterprise_url = models.URLField(
        _("enterprise URL"),
        max_length=200,
        blank=True,
        default="",
        help_text=_("The org's Slack URL, from auth.test, for an org-wide install."),
    )
    team_id = models.CharField(
        _("team id"),
        max_length=32,
        blank=True,
        default="",
        help_text=_("Empty for an org-wide install."),
    )
    team_name = models.CharField(_("team name"), max_length=200, blank=True)
    is_enterprise_install = models.BooleanField(_("org-wide install"), default=False)
    bot_user_id = models.CharField(_("bot user id"), max_length=32, blank=True)
    bot_id = models.CharField(_("bot id"), max_length=32, blank=True)
    bot_scopes = models.TextField(_("bot scopes"), blank=True)
    bot_token = EncryptedTextField(_("bot token"))
    bot_refresh_token = EncryptedTextField(_("bot refresh token"))
    bot_token_expires_at = models.DateTimeField(_("bot token expires at"), null=True, blank=True)
    incoming_webhook_url = EncryptedTextField(_("incoming webhook URL"))
    incoming_webhook_channel = models.CharField(max_length=200, blank=True)
    incoming_webhook_channel_id = models.CharField(max_length=32, blank=True)
    incoming_webhook_configuration_url = models.URLField(max_length=500, blank=True)
    installer_user_id = models.CharField(_("installer's Slack user id"), max_length=32, blank=True)
    installed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    installed_at = models.DateTimeField(_("installed at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    needs_reinstall_at = models.DateTimeField(
        _("needs re-install since"),
        null=True,
        blank=True,
        help_text=_("Set when Slack refused to refresh a rotating token."),
    )
    custom_values = models.JSONField(
        _("custom values"),
        default=dict,
        blank=True,
        help_text=_("Extra values an app keeps per installation (slack_sdk's custom_values)."),
    )

    objects = InstallationQuerySet.as_manager()

    class Meta:
        verbose_name = _("installation")
        verbose_name_plural = _("installations")
        ordering = ["-installed_at", "-pk"]
        permissions = [("export_installation", _("Can export installations"))]
        constraints = [
            models.UniqueConstraint(
                fields=["app", "enterprise_id", "team_id"],
                name="slack_installs_one_installation_per_workspace",
            ),
        ]
        indexes = [
            # get_bot_token(app, team_id=...) without an enterprise id.
            models.Index(fields=["app", "team_id"], name="slack_installs_app_team_idx"),
        ]

    def __str__(self) -> str:
        if self.is_enterprise_install or not self.team_id:
            return f"{self.enterprise_name or self.enterprise_id} (org-wide)"
        return self.team_name or self.team_id

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def add_workspaces_url(self) -> str:
        """Slack's page where an org admin adds this org-wide install to workspaces.

        An org-wide install is in no workspace until an admin adds it there. Empty for a
        workspace install, or when the app's ``app_id`` is unknown.
        """
        app_id = self.app.app_id
        if not self.is_enterprise_install or not SLACK_ID.match(app_id or ""):
            return ""
        path = f"manage/organization/apps/profile/{app_id}/workspaces/add"
        enterprise_url = web_url(self.enterprise_url)
        if enterprise_url:
            # The form slack_sdk's RedirectUriPageRenderer uses; only the org URL's origin
            # counts, so a query or fragment in it cannot end up inside the link.
            origin = urlsplit(enterprise_url)
            return f"{origin.scheme}://{origin.netloc}/{path}"
        if not SLACK_ID.match(self.enterprise_id or ""):
            return ""
        # The form Slack's docs on org-wide apps give.
        return (
            f"https://app.slack.com/manage/{self.enterprise_id}"
            f"/integrations/profile/{app_id}/workspaces/add"
        )


class UserToken(models.Model):
    """A user token granted by a Slack user (the installer) through user scopes."""

    installation = models.ForeignKey(
        Installation, on_delete=models.CASCADE, related_name="user_tokens"
    )
    slack_user_id = models.CharField(_("Slack user id"), max_length=32)
    scopes = models.TextField(_("scopes"), blank=True)
    access_token = EncryptedTextField(_("access token"))
    refresh_token = EncryptedTextField(_("refresh token"))
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="slack_user_tokens",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("user token")
        verbose_name_plural = _("user tokens")
        constraints = [
            models.UniqueConstraint(
                fields=["installation", "slack_user_id"],
                name="slack_installs_one_token_per_slack_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.slack_user_id} on installation {self.installation_id}"


class OAuthAttempt(models.Model):
    """One install started: the server-side OAuth state and the audit log entry."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SUCCEEDED = "succeeded", _("succeeded")
        DENIED = "denied", _("denied")
        FAILED = "failed", _("failed")

    class Kind(models.TextChoices):
        INSTALL = "install", _("install")
        SIGN_IN = "sign_in", _("sign in")

    app = models.ForeignKey(SlackApp, on_delete=models.CASCADE, related_name="attempts")
    # A state is claimed only by the flow that issued it: an install's state brought to the
    # sign-in callback (or the reverse) is refused.
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.INSTALL)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    error = models.CharField(_("error"), max_length=100, blank=True)
    state_digest = models.CharField(max_length=64, unique=True, editable=False)
    browser_digest = models.CharField(max_length=64, blank=True, editable=False)
    redirect_uri = models.CharField(max_length=500, blank=True)
    next_url = models.CharField(max_length=500, blank=True)
    team = models.CharField(_("requested team"), max_length=32, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    expires_at = models.DateTimeField(_("expires at"))
    consumed_at = models.DateTimeField(_("state used at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    installation = models.ForeignKey(
        Installation, on_delete=models.SET_NULL, null=True, blank=True, related_name="attempts"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    response = models.JSONField(
        _("Slack response (redacted)"), null=True, blank=True, editable=False
    )
    # PKCE's code verifier while the attempt is pending (encrypted; wiped when it finishes).
    code_verifier = EncryptedTextField(_("PKCE code verifier"), null=True, editable=False)

    class Meta:
        verbose_name = _("Slack OAuth request")
        verbose_name_plural = _("Slack OAuth requests")
        ordering = ["-created_at", "-pk"]
        permissions = [("export_oauthattempt", _("Can export Slack OAuth requests"))]
        indexes = [models.Index(fields=["status", "expires_at"], name="slack_installs_att_exp_idx")]

    def __str__(self) -> str:
        started = timezone.localtime(self.created_at)
        return f"{self.get_kind_display()} {self.status} at {started:%Y-%m-%d %H:%M}"


class HandledEvent(models.Model):
    """An Events API delivery that was handled: Slack's retries of it are not run again."""

    # Slack retries a failed delivery three times (at once, after one and after five
    # minutes): an event_id handled within this long is one of those retries. Older rows
    # go in the cleanup.
    RETRIES_WITHIN = datetime.timedelta(hours=1)

    # No index of its own: the unique constraint starts with app.
    app = models.ForeignKey(SlackApp, on_delete=models.CASCADE, related_name="+", db_index=False)
    event_id = models.CharField(_("event id"), max_length=32)
    handled_at = models.DateTimeField(_("handled at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("handled event")
        verbose_name_plural = _("handled events")
        constraints = [
            models.UniqueConstraint(
                fields=["app", "event_id"], name="slack_installs_one_handled_event_per_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} handled at {timezone.localtime(self.handled_at):%Y-%m-%d %H:%M}"


class ConfigurationToken(models.Model):
    """An app configuration token of one workspace: it creates and updates apps on Slack.

    Slack's configuration tokens last 12 hours; the refresh token (single-use) gets the
    next one (``manifests.rotate_configuration_token``).
    """

    team_id = models.CharField(
        _("workspace id"),
        max_length=32,
        unique=True,
        help_text=_("The workspace the token was made in (T…), as Slack's “Your apps” page says."),
    )
    access_token = EncryptedTextField(_("configuration token"))
    refresh_token = EncryptedTextField(_("refresh token"))
    expires_at = models.DateTimeField(
        _("expires at"),
        null=True,
        blank=True,
        help_text=_("Blank: unknown, so the token is rotated before its first use."),
    )
    rotated_at = models.DateTimeField(_("rotated at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("app configuration token")
        verbose_name_plural = _("app configuration tokens")
        ordering = ["team_id"]

    def __str__(self) -> str:
        return str(_("Configuration token of %(team)s") % {"team": self.team_id})
