"""Slack apps, their installations, installers' user tokens and OAuth attempts."""

from __future__ import annotations

import datetime
import re
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator, URLValidator
from django.db import IntegrityError, models, router, transaction
from django.db.models import F, Q, Subquery, TextField, Value
from django.db.models.functions import Coalesce, Concat
from django.db.models.lookups import Contains
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .fields import EncryptedTextField, has_stored_value

# CheckConstraint's keyword: ``check`` until Django 5.1 renamed it ``condition``.

SCOPES_VALIDATOR = RegexValidator(
    r"^([a-z][a-z0-9_.:\-]*(,[a-z][a-z0-9_.:\-]*)*)?$",
    _("Comma-separated Slack scope names, e.g. 'chat:write,commands' (no spaces)."),
)


def split_scopes(value: str) -> list[str]:
    return [scope for scope in (value or "").split(",") if scope]


def column_of(model: type[models.Model], name: str) -> str:
    """The database column of ``model``'s concrete field ``name`` (``"pk"``: its primary key),
    for the few hand-written statements that name columns (tokens, keyrotation, compat)."""
    field = model._meta.pk if name == "pk" else model._meta.get_field(name)
    column = getattr(field, "column", None)
    if not isinstance(column, str):
        raise TypeError(f"{model.__name__}.{name} is not a concrete field with a column")
    return column


def missing_scopes(wanted: str, granted: str) -> list[str]:
    """The scopes of ``wanted`` that ``granted`` lacks, sorted (both comma-separated)."""
    return sorted(set(split_scopes(wanted)) - set(split_scopes(granted)))


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


TEAM_IDS_VALIDATOR = RegexValidator(
    r"^(T[A-Z0-9]{2,31}(,T[A-Z0-9]{2,31})*)?$",
    _("Comma-separated Slack workspace ids, e.g. 'T0123ABCD,T0456EFGH' (no spaces)."),
)


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
    sign_in_enabled = models.BooleanField(
        _("Sign in with Slack"),
        default=False,
        help_text=_(
            "Let people sign in to this site with their Slack account through this app "
            "(OpenID Connect). Add the sign-in redirect URL shown above to the app's Redirect "
            "URLs on Slack first."
        ),
    )
    sign_in_team_ids = models.CharField(
        _("workspaces allowed to sign in"),
        max_length=2000,
        blank=True,
        validators=[TEAM_IDS_VALIDATOR],
        help_text=_(
            "Comma-separated workspace ids (T…), no spaces. Blank: a member of any Slack "
            "workspace can sign in, and gets an account when new accounts are made."
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
            models.CheckConstraint(
                condition=~models.Q(client_id=""), name="slack_installs_client_id_not_blank"
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.slug

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save; when the scopes changed, recompute ``Installation.scopes_missing`` of every
        installation of the app (in batches, in the database: no installation is loaded)."""
        update_fields = kwargs.get("update_fields")
        scopes_may_change = self.pk is not None and (
            update_fields is None or bool({"bot_scopes", "user_scopes"} & set(update_fields))
        )
        before = None
        if scopes_may_change:
            using = kwargs.get("using") or router.db_for_write(SlackApp, instance=self)
            before = (
                SlackApp._default_manager.using(using)
                .filter(pk=self.pk)
                .values_list("bot_scopes", "user_scopes")
                .first()
            )
        super().save(*args, **kwargs)
        if before is not None and before != (self.bot_scopes, self.user_scopes):
            self.update_scopes_missing()

    def update_scopes_missing(self) -> int:
        """Recompute ``Installation.scopes_missing`` of this app's installations after its
        scopes changed (``save()`` does it; call it after a queryset ``update()`` of the
        scopes). Returns how many installations changed."""
        return Installation.objects.filter(app=self).update_scopes_missing()

    @property
    def allowed_sign_in_teams(self) -> frozenset[str]:
        """The workspace ids of ``sign_in_team_ids``; empty: any workspace."""
        return frozenset(team for team in self.sign_in_team_ids.split(",") if team)

    @property
    def has_credentials(self) -> bool:
        """Whether the app has a client id and secret: without them it cannot be installed."""
        return bool(self.client_id) and has_stored_value(self, "client_secret")


class InstallationQuerySet(models.QuerySet):
    def active(self) -> InstallationQuerySet:
        return self.filter(revoked_at__isnull=True)

    def revoked(self) -> InstallationQuerySet:
        return self.filter(revoked_at__isnull=False)

    def update_scopes_missing(self, *, batch_size: int = 10_000) -> int:
        """Recompute ``scopes_missing`` of these installations from their apps' scopes today.

        It runs in the database, ``batch_size`` rows per UPDATE (windows of primary keys),
        writing only rows whose flag changes: no installation is loaded into memory,
        however many there are. Returns how many rows changed.
        """
        changed = 0
        apps = SlackApp._default_manager.filter(pk__in=self.order_by().values("app"))
        for app in apps.only("pk", "bot_scopes", "user_scopes"):
            rows = self.filter(app=app)
            lacking = _lacks_scopes(app)
            after: int | None = None
            while True:
                window = rows.order_by("pk")
                if after is not None:
                    window = window.filter(pk__gt=after)
                last = list(window.values_list("pk", flat=True)[batch_size - 1 : batch_size])
                bounds = Q(pk__gt=after) if after is not None else Q()
                if last:
                    bounds &= Q(pk__lte=last[0])
                changed += rows.filter(bounds, lacking, scopes_missing=False).update(
                    scopes_missing=True
                )
                changed += (
                    rows.filter(bounds, scopes_missing=True)
                    .exclude(lacking)
                    .update(scopes_missing=False)
                )
                if not last:
                    break
                after = last[0]
        return changed


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
    # Kept for filtering at scale (missing_bot_scopes / missing_user_scopes say which):
    # set on every install and whenever the app's scopes change (SlackApp.save()).
    scopes_missing = models.BooleanField(
        _("scopes missing"),
        default=False,
        db_default=False,  # rows written by hand (SQL, other tools) get it too
        help_text=_("The app asks for scopes this install was not granted: install it again."),
    )
    checked_at = models.DateTimeField(
        _("checked with Slack at"),
        null=True,
        blank=True,
        help_text=_("When auth.test last said whether the bot token works."),
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
            # The admin's "Scopes: missing" filter, alone or with an app.
            models.Index(fields=["scopes_missing", "app"], name="slack_installs_scopes_idx"),
            # The admin's changelist at scale (docs/deployment.md, "A site with a million
            # installations"; bench/admin_scale.py): its first page is the newest rows, and
            # each list filter reads either an index of its own or, when the filter keeps
            # most rows, the ordering's index. The search's prefix indexes are in migration
            # 0012 (per database: they are expressions on PostgreSQL).
            models.Index(fields=["-installed_at", "-id"], name="slack_installs_newest_idx"),
            # The overview's counts per app and the due-token query read partial indexes
            # of their own: made in migration 0013 where the database has them (PostgreSQL,
            # SQLite), outside the model state, so MariaDB's checks do not warn (W037).
            models.Index(
                fields=["app", "-installed_at", "-id"], name="slack_installs_app_newest_idx"
            ),
            models.Index(
                fields=["scopes_missing", "-installed_at", "-id"],
                name="slack_installs_scopes_new_idx",
            ),
            models.Index(
                fields=["is_enterprise_install", "-installed_at", "-id"],
                name="slack_installs_org_new_idx",
            ),
            models.Index(fields=["revoked_at"], name="slack_installs_revoked_idx"),
            models.Index(fields=["needs_reinstall_at"], name="slack_installs_reinstall_idx"),
        ]

    def __str__(self) -> str:
        if self.is_enterprise_install or not self.team_id:
            return f"{self.enterprise_name or self.enterprise_id} (org-wide)"
        return self.team_name or self.team_id

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def missing_bot_scopes(self) -> list[str]:
        """The bot scopes the app asks for today that this install was not granted, sorted."""
        return missing_scopes(self.app.bot_scopes, self.bot_scopes)

    @property
    def missing_user_scopes(self) -> list[str]:
        """The user scopes the app asks for today that the installer's ``UserToken`` was not
        granted (all of them when the installer has none), sorted."""
        if not split_scopes(self.app.user_scopes):
            return []  # no query when the app asks for no user scope
        granted = ""
        if self.pk is not None and self.installer_user_id:
            granted = (
                self.user_tokens.filter(slack_user_id=self.installer_user_id)
                .values_list("scopes", flat=True)
                .first()
            ) or ""
        return missing_scopes(self.app.user_scopes, granted)

    def update_scopes_missing(self) -> bool:
        """Recompute ``scopes_missing`` (after an install saved new scopes) and store it if it
        changed; return it. One or two queries."""
        missing = bool(self.missing_bot_scopes or self.missing_user_scopes)
        type(self)._default_manager.filter(pk=self.pk).exclude(scopes_missing=missing).update(
            scopes_missing=missing
        )
        self.scopes_missing = missing
        return missing

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


def _lacks_scopes(app: SlackApp) -> Q:
    """Installations of ``app`` lacking a scope it asks for: ``missing_bot_scopes`` or
    ``missing_user_scopes`` non-empty, said in SQL (one LIKE per scope the app asks for)."""

    def padded(expression: Any) -> Concat:
        # ",a,b," contains ",a," exactly when a is one of the scopes (no prefix matches).
        return Concat(Value(","), expression, Value(","), output_field=TextField())

    installer_scopes = Subquery(
        UserToken._default_manager.filter(
            installation=models.OuterRef("pk"), slack_user_id=models.OuterRef("installer_user_id")
        ).values("scopes")[:1]
    )
    lacking = Q(pk__in=[])
    for scope in split_scopes(app.bot_scopes):
        lacking |= ~Q(Contains(padded(F("bot_scopes")), f",{scope},"))
    for scope in split_scopes(app.user_scopes):
        lacking |= ~Q(
            Contains(
                padded(Coalesce(installer_scopes, Value(""), output_field=TextField())),
                f",{scope},",
            )
        )
    return lacking


class InstallationEvent(models.Model):
    """One install, re-install, uninstall or revocation of an app in a workspace: append-only.

    Written in the transaction of the change itself (``record``), never updated: the
    history the admin's overview draws, which ``Installation`` cannot tell (a re-install
    overwrites ``installed_at``) and ``OAuthAttempt`` forgets (attempts are deleted after
    90 days).
    """

    class Kind(models.TextChoices):
        INSTALLED = "installed", _("installed")
        REINSTALLED = "reinstalled", _("re-installed")
        UNINSTALLED = "uninstalled", _("uninstalled")
        REVOKED = "revoked", _("revoked")

    # No index of its own: the (app, at) index starts with app.
    app = models.ForeignKey(
        SlackApp, on_delete=models.CASCADE, related_name="installation_events", db_index=False
    )
    # SET_NULL: deleting an installation (staff may) keeps its history in the charts.
    installation = models.ForeignKey(
        Installation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("installation event")
        verbose_name_plural = _("installation events")
        ordering = ["-at", "-pk"]
        default_permissions = ("view",)  # append-only: nobody adds, changes or deletes one
        indexes = [
            # An overview bar's link: one app's events of one week, a range of at per app.
            models.Index(fields=["app", "at"], name="slack_installs_event_at_idx"),
            # The history's changelist, newest first (its first page at any size).
            models.Index(fields=["-at", "-id"], name="slack_installs_event_new_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {timezone.localtime(self.at):%Y-%m-%d %H:%M}"

    @classmethod
    def record(
        cls, installation: Installation, kind: str, *, at: datetime.datetime | None = None
    ) -> InstallationEvent:
        """Append the event ``kind`` of ``installation`` (now, unless ``at``), on the database
        the installation was read from: call it inside the transaction of the change."""
        using = router.db_for_write(cls, instance=installation)
        event = cls._default_manager.using(using).create(
            app_id=installation.app_id,
            installation=installation,
            kind=kind,
            at=at or timezone.now(),
        )
        InstallationEventCount.add_one(event.app_id, kind, event.at, using=using)
        return event


def week_of(moment: datetime.datetime) -> datetime.date:
    """The Monday of the week of ``moment``, in the site's time zone (``TIME_ZONE``): the
    weeks of ``InstallationEventCount``, whoever's time zone is current."""
    day = timezone.localtime(moment, timezone.get_default_timezone()).date()
    return day - datetime.timedelta(days=day.weekday())


class InstallationEventCount(models.Model):
    """How many events of one kind an app had in one week: ``InstallationEvent`` rolled up
    as the events happen (``InstallationEvent.record``), so the overview's weekly chart
    reads a few rows per app whatever the number of events (bench/admin_scale.py)."""

    app = models.ForeignKey(SlackApp, on_delete=models.CASCADE, related_name="+", db_index=False)
    week = models.DateField(_("week"), help_text=_("Its Monday, in the site's time zone."))
    kind = models.CharField(_("kind"), max_length=16, choices=InstallationEvent.Kind.choices)
    count = models.PositiveIntegerField(_("count"), default=0)

    class Meta:
        verbose_name = _("installation events per week")
        verbose_name_plural = _("installation events per week")
        constraints = [
            models.UniqueConstraint(
                fields=["app", "week", "kind"], name="slack_installs_one_count_per_week"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.count} {self.kind} in the week of {self.week}"

    @classmethod
    def add_one(cls, app_id: int, kind: str, at: datetime.datetime, *, using: str) -> None:
        """Count one more ``kind`` event of the app in the week of ``at``, in the caller's
        transaction: an UPDATE of the week's row, or its INSERT when it is the week's first
        (a concurrent first insert loses the race at the unique constraint, then updates)."""
        week = week_of(at)
        rows = cls._default_manager.using(using).filter(app_id=app_id, week=week, kind=kind)
        if rows.update(count=F("count") + 1):
            return
        try:
            with transaction.atomic(using=using):  # a savepoint: the race's loser goes on
                cls._default_manager.using(using).create(
                    app_id=app_id, week=week, kind=kind, count=1
                )
        except IntegrityError:
            rows.update(count=F("count") + 1)


class Overview(Installation):
    """The admin's overview page (``admin_overview``) as an entry of the app list: no table
    and no permissions of its own (seeing it takes the view permission on installations)."""

    class Meta:
        proxy = True
        verbose_name = _("overview")
        verbose_name_plural = _("overview")
        default_permissions = ()


class WorkspaceAccess(models.Model):
    """A workspace an org-wide installation was granted access to, or lost it
    (Slack's ``team_access_granted`` / ``team_access_revoked`` events).

    ``granted_at`` and ``revoked_at`` are the ``event_time`` of the latest events applied:
    an event older than what a row holds changes nothing, so a late or retried delivery
    never undoes a newer one.
    """

    installation = models.ForeignKey(
        Installation, on_delete=models.CASCADE, related_name="workspace_access"
    )
    team_id = models.CharField(_("team id"), max_length=32)
    granted_at = models.DateTimeField(_("granted at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("workspace access")
        verbose_name_plural = _("workspace access")
        ordering = ["team_id"]
        constraints = [
            # Led by team_id: get_bot_token(app, team_id=...) looks rows up by workspace.
            models.UniqueConstraint(
                fields=["team_id", "installation"], name="slack_installs_one_access_per_team"
            ),
        ]

    def __str__(self) -> str:
        state = _("granted") if self.has_access else _("revoked")
        return f"{self.team_id} ({state})"

    @property
    def has_access(self) -> bool:
        return self.granted_at is not None and self.revoked_at is None


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
    # A sign-in's OpenID Connect nonce, as a SHA-256 digest: its id_token must carry it.
    # Nullable like code_verifier: rows written without the column (the raw SQL of
    # bench/install_floor.py, code of before the sign-in) stay valid.
    nonce_digest = models.CharField(  # noqa: DJ001
        max_length=64, null=True, blank=True, editable=False
    )

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


class SlackIdentity(models.Model):
    """A Slack user (one workspace's member) who signs in to this site as ``user``.

    One row per Slack team and user, whatever app they sign in through: the row, never
    an email address, decides which Django user a sign-in logs in.
    """

    app = models.ForeignKey(
        SlackApp,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="identities",
        help_text=_("The app of the latest sign-in."),
    )
    team_id = models.CharField(_("team id"), max_length=32)
    slack_user_id = models.CharField(_("Slack user id"), max_length=32)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="slack_identities"
    )
    email = models.CharField(_("email on Slack"), max_length=254, blank=True)
    name = models.CharField(_("name on Slack"), max_length=200, blank=True)
    picture = models.URLField(_("picture"), max_length=500, blank=True)
    team_name = models.CharField(_("team name"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_sign_in_at = models.DateTimeField(_("last sign-in"), default=timezone.now)

    class Meta:
        verbose_name = _("Slack identity")
        verbose_name_plural = _("Slack identities")
        ordering = ["-last_sign_in_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["team_id", "slack_user_id"],
                name="slack_installs_one_identity_per_slack_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.slack_user_id} in {self.team_name or self.team_id}"


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
