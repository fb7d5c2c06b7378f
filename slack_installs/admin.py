"""The admin: Slack apps, their installations, and the OAuth request log.

Secrets are write-only, access tokens show at most their last four characters
(refresh tokens and webhook URLs only whether they are set), and
exports are streamed from allowlisted columns (``export.py`` and ``resources.py``).

The secret rotation pages come from ``admin_rotation.SecretRotationAdminMixin`` and the
Manifest pages and Slack actions from ``admin_manifest.ManifestAdminMixin``, first in
``SlackAppAdmin``'s bases; a custom admin for ``SlackApp`` must keep them, since the
change page links to those pages.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import flatten, flatten_fieldsets, unquote
from django.contrib.auth import get_permission_codename, get_user_model
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_post_parameters

from . import health, slack_config
from .admin_manifest import ManifestAdminMixin
from .admin_paginator import EstimatedCountPaginator
from .admin_rotation import SecretRotationAdminMixin
from .client import redact
from .exceptions import DecryptionError
from .export import StreamingExportAdminMixin
from .fields import has_stored_value
from .forms import SlackAppForm
from .models import (
    Installation,
    OAuthAttempt,
    SlackApp,
    SlackIdentity,
    UserToken,
    WorkspaceAccess,
)
from .pipelines import unregistered_steps
from .resources import InstallationResource, OAuthAttemptResource
from .revocation import revoke_installation
from .tokens import due_bot_tokens


def presence_hint(instance: Any, attname: str) -> str:
    """Say "set" or "not set" for a stored credential, without decrypting it.

    For credentials of which not even a tail may show: refresh tokens (a long-lived
    credential) and webhook URLs (a credential as a whole).
    """
    is_set = instance is not None and has_stored_value(instance, attname)
    return str(_("set") if is_set else _("not set"))


def token_hint(instance: Any, attname: str) -> str:
    """Describe a stored token as "not set" or "set, ends in …abcd", never more of it."""
    if instance is None or not has_stored_value(instance, attname):
        return str(_("not set"))
    try:
        value = getattr(instance, attname) or ""
    except DecryptionError as exc:
        return str(_("set, but cannot be decrypted (%(reason)s)") % {"reason": exc})
    if len(value) < 16:
        return str(_("set"))
    return str(_("set, ends in …%(tail)s") % {"tail": value[-4:]})


# --- Slack apps ------------------------------------------------------------------------


@admin.register(SlackApp)
class SlackAppAdmin(ManifestAdminMixin, SecretRotationAdminMixin, admin.ModelAdmin):
    form = SlackAppForm
    change_form_template = "admin/slack_installs/slackapp/change_form.html"
    list_display = ["name", "slug", "client_id", "is_active", "active_installs", "revoked_installs"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug", "client_id", "app_id"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = [
        "client_secret_rotated_at",
        "signing_secret_rotated_at",
        "installs_missing_scopes",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "slug", "is_active", "app_id"]}),
        (
            _("Credentials (from Basic Information in Slack's app config)"),
            {
                "fields": [
                    "client_id",
                    "client_secret",
                    "signing_secret",
                    "client_secret_rotated_at",
                    "signing_secret_rotated_at",
                ]
            },
        ),
        (_("Scopes"), {"fields": ["bot_scopes", "user_scopes", "installs_missing_scopes"]}),
        (_("After an install"), {"fields": ["pipelines", "success_url", "error_url"]}),
        (_("Sign in with Slack"), {"fields": ["sign_in_enabled", "sign_in_team_ids"]}),
        (_("Advanced"), {"classes": ["collapse"], "fields": ["redirect_uri", "use_pkce"]}),
        (_("History"), {"fields": ["created_at", "updated_at"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(
                active_count=Count(
                    "installations", filter=Q(installations__revoked_at__isnull=True)
                ),
                revoked_count=Count(
                    "installations", filter=Q(installations__revoked_at__isnull=False)
                ),
            )
        )

    @admin.display(description=_("active installs"), ordering="active_count")
    def active_installs(self, obj: SlackApp) -> int:
        return obj.active_count  # type: ignore[attr-defined]

    @admin.display(description=_("revoked installs"), ordering="revoked_count")
    def revoked_installs(self, obj: SlackApp) -> int:
        return obj.revoked_count  # type: ignore[attr-defined]

    @admin.display(description=_("installs missing scopes"))
    def installs_missing_scopes(self, obj: SlackApp | None) -> str:
        """How many active installs lack a scope the app asks for, linked to their list."""
        if obj is None or obj.pk is None:
            return "-"
        count = obj.installations.active().filter(scopes_missing=True).count()
        if not count:
            return str(_("none: every active install has the scopes above"))
        text = ngettext(
            "%(count)d active install lacks scopes asked for above",
            "%(count)d active installs lack scopes asked for above",
            count,
        ) % {"count": count}
        try:
            changelist = reverse(f"{self.admin_site.name}:slack_installs_installation_changelist")
        except NoReverseMatch:
            return text
        query = urlencode({"app__id__exact": obj.pk, "scopes": "missing", "status": "active"})
        return format_html(
            '{} — <a href="{}?{}" id="slack-missing-scopes-link">{}</a>',
            text,
            changelist,
            query,
            _("see them and re-install"),
        )

    # The posted secrets stay out of error reports (like the passwords of Django's UserAdmin).
    @method_decorator(sensitive_post_parameters("client_secret", "signing_secret"))
    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        return super().changeform_view(request, object_id, form_url, extra_context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra_context = dict(extra_context or {})
        app = self.get_object(request, unquote(object_id))
        # Nothing about the app (not even a removed step's path) for staff who may not see it:
        # the permission check in super().change_view comes after this, and a queued message
        # would show on their next page.
        if app is not None and self.has_view_or_change_permission(request, app):
            extra_context["slack_setup"] = slack_config.setup_context(
                request, app, admin_site=self.admin_site.name
            )
            if request.method == "GET":
                for path in unregistered_steps(app.pipelines):
                    messages.warning(
                        request,
                        _(
                            "Pipeline step %(path)s is saved for this app but no longer "
                            "registered: it is skipped at run time."
                        )
                        % {"path": path},
                    )
        return super().change_view(request, object_id, form_url, extra_context)


# --- Installations ---------------------------------------------------------------------


class ChoiceFilter(admin.SimpleListFilter):
    """A list filter whose every choice stands for one ``Q``."""

    options: dict[str, tuple[Any, Q]] = {}

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [(value, label) for value, (label, _) in self.options.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        choice = self.options.get(self.value() or "")
        return queryset.filter(choice[1]) if choice else queryset


class StatusFilter(ChoiceFilter):
    title = _("status")
    parameter_name = "status"
    options = {
        "active": (_("active"), Q(revoked_at__isnull=True)),
        "revoked": (_("revoked"), Q(revoked_at__isnull=False)),
    }


class KindFilter(ChoiceFilter):
    title = _("kind")
    parameter_name = "kind"
    options = {
        "enterprise": (_("Enterprise Grid"), ~Q(enterprise_id="")),
        "workspace": (_("standalone workspace"), Q(enterprise_id="")),
    }


class NeedsReinstallFilter(ChoiceFilter):
    title = _("needs re-install")
    parameter_name = "needs_reinstall"
    options = {
        "yes": (_("yes"), Q(needs_reinstall_at__isnull=False)),
        "no": (_("no"), Q(needs_reinstall_at__isnull=True)),
    }


class ScopesFilter(ChoiceFilter):
    title = _("scopes")
    parameter_name = "scopes"
    options = {
        "missing": (_("missing"), Q(scopes_missing=True)),
        "up_to_date": (_("up to date"), Q(scopes_missing=False)),
    }


class TokenFilter(admin.SimpleListFilter):
    """Installations whose rotating bot token is due for a refresh (``tokens.due_bot_tokens``,
    as the overview counts them)."""

    title = _("bot token")
    parameter_name = "token"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("due", _("due for refresh"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() != "due":
            return queryset
        return queryset.filter(pk__in=due_bot_tokens().order_by().values("pk"))


def reinstall_url(installation: Installation) -> str:
    """The app's install URL preselecting the workspace (an org-wide install: its org), for
    staff of that workspace to install again; ``""`` for an inactive app."""
    app = installation.app
    team = installation.team_id or installation.enterprise_id
    if not app.is_active or not team:
        return ""
    try:
        path = reverse("slack_installs:install", kwargs={"slug": app.slug})
    except NoReverseMatch:
        return ""
    return f"{path}?{urlencode({'team': team})}"


class ReadOnlyInline(admin.TabularInline):
    """Rows listed on the installation's page that staff can neither add nor change; whoever
    may see the installation sees them."""

    extra = 0
    can_delete = False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        opts = Installation._meta
        return any(
            request.user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")
            for action in ("view", "change")
        )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class WorkspaceAccessInline(ReadOnlyInline):
    """The workspaces an org-wide install reaches (team_access_granted / _revoked), read-only."""

    model = WorkspaceAccess
    verbose_name = _("workspace it reaches")
    verbose_name_plural = _("workspaces it reaches (team_access_granted / team_access_revoked)")
    fields = ["team_id", "has_access", "granted_at", "revoked_at"]
    readonly_fields = flatten(fields)

    @admin.display(description=_("access"), boolean=True)
    def has_access(self, obj: WorkspaceAccess) -> bool:
        return obj.has_access


class UserTokenInline(ReadOnlyInline):
    """The installer's user tokens, read-only: staff see that a token exists, never the token."""

    model = UserToken
    fields = [
        "slack_user_id",
        "user",
        "scopes",
        "token",
        "refresh_token_hint",  # not "refresh_token": the admin would show the model field
        "expires_at",
        "created_at",
        "revoked_at",
    ]
    readonly_fields = flatten(fields)

    @admin.display(description=_("token"))
    def token(self, obj: UserToken) -> str:
        return token_hint(obj, "access_token")

    @admin.display(description=_("refresh token"))
    def refresh_token_hint(self, obj: UserToken) -> str:
        return presence_hint(obj, "refresh_token")


@admin.register(Installation)
# import-export's stubs type ``model`` and the templates unlike ModelAdmin's stubs do (they
# ignore the same clash on their own ExportActionModelAdmin).
class InstallationAdmin(StreamingExportAdminMixin, admin.ModelAdmin):  # type: ignore[misc]
    resource_classes = [InstallationResource]
    list_display = [
        "workspace",
        "app",
        "enterprise",
        "bot_user_id",
        "scopes",
        "installed_at",
        "updated_at",
        "status",
        "needs_reinstall",
        "missing_scopes",
        "checked_at",
    ]
    list_filter = [
        "app",
        StatusFilter,
        KindFilter,
        "is_enterprise_install",
        NeedsReinstallFilter,
        ScopesFilter,
        TokenFilter,
    ]
    list_select_related = ["app"]
    # Prefixes, which indexes serve (migration 0011; docs/deployment.md, "A site with a
    # million installations"): a "contains" search reads every row.
    search_fields = ["^team_name", "^team_id", "^enterprise_name", "^enterprise_id"]
    search_help_text = _(
        "Search by the start of a workspace name or id, or of an Enterprise Grid org's name or id."
    )
    # No COUNT(*) of the whole table beside the page, and an estimated count on PostgreSQL.
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    actions = ["revoke", "check_with_slack"]
    inlines = [UserTokenInline, WorkspaceAccessInline]
    fieldsets = [
        (
            _("Workspace"),
            {
                "fields": [
                    "app",
                    "team_id",
                    "team_name",
                    "enterprise_id",
                    "enterprise_name",
                    "enterprise_url",
                    "is_enterprise_install",
                ]
            },
        ),
        (
            _("Bot"),
            {
                "fields": [
                    "bot_user_id",
                    "bot_id",
                    "bot_scopes",
                    "bot_token_hint",
                    "bot_refresh_token_hint",
                    "bot_token_expires_at",
                ]
            },
        ),
        (
            _("Scopes"),
            {
                "fields": [
                    "scopes_missing",
                    "missing_bot_scopes",
                    "missing_user_scopes",
                    "reinstall_link",
                ]
            },
        ),
        (
            _("Incoming webhook"),
            {
                "fields": [
                    "incoming_webhook_hint",
                    "incoming_webhook_channel",
                    "incoming_webhook_channel_id",
                    "incoming_webhook_configuration_url",
                ]
            },
        ),
        (
            _("History"),
            {
                "fields": [
                    "installer_user_id",
                    "installed_by",
                    "installed_at",
                    "updated_at",
                    "revoked_at",
                    "needs_reinstall_at",
                    "checked_at",
                ]
            },
        ),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return flatten_fieldsets(self.fieldsets)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        """Search with the whole term, spaces and all, as one prefix ("acme corp" finds
        "Acme Corporation"): Django's default would want every word to start a field."""
        term = search_term.strip()
        if not term:
            return queryset, False
        # Quoted, Django's search keeps it one term (smart_split, unescape_string_literal).
        quoted = '"' + term.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return super().get_search_results(request, queryset, quoted)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        # Only an org-wide install is granted workspaces.
        if obj is not None and not obj.team_id:
            return list(self.inlines)
        return [inline for inline in self.inlines if inline is not WorkspaceAccessInline]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # Nothing here is editable: changes happen through Slack, or the revoke action.
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description=_("workspace"), ordering="team_name")
    def workspace(self, obj: Installation) -> str:
        if obj.is_enterprise_install or not obj.team_id:
            return str(_("%(org)s (org-wide)") % {"org": obj.enterprise_name or obj.enterprise_id})
        return f"{obj.team_name} ({obj.team_id})" if obj.team_name else obj.team_id

    @admin.display(description=_("Enterprise Grid org"), ordering="enterprise_name")
    def enterprise(self, obj: Installation) -> str:
        if not obj.enterprise_id:
            return "-"
        return (
            f"{obj.enterprise_name} ({obj.enterprise_id})"
            if obj.enterprise_name
            else obj.enterprise_id
        )

    @admin.display(description=_("bot scopes"))
    def scopes(self, obj: Installation) -> str:
        scopes = obj.bot_scopes.split(",") if obj.bot_scopes else []
        shown = ", ".join(scopes[:4]) or "-"
        if len(scopes) > 4:
            shown += " " + str(_("and %(count)d more") % {"count": len(scopes) - 4})
        return shown

    @admin.display(description=_("status"), ordering="revoked_at")
    def status(self, obj: Installation) -> str:
        return str(_("revoked") if obj.revoked_at else _("active"))

    @admin.display(description=_("needs re-install"), boolean=True, ordering="needs_reinstall_at")
    def needs_reinstall(self, obj: Installation) -> bool:
        return obj.needs_reinstall_at is not None

    @admin.display(description=_("scopes missing"), ordering="scopes_missing")
    def missing_scopes(self, obj: Installation) -> str:
        """ "no", or "yes" and a re-install link (from the indexed flag: no query per row)."""
        if not obj.scopes_missing:
            return str(_("no"))
        url = reinstall_url(obj)
        if not url:
            return str(_("yes"))
        return format_html('{} — <a href="{}">{}</a>', _("yes"), url, _("re-install"))

    @admin.display(description=_("bot scopes missing"))
    def missing_bot_scopes(self, obj: Installation) -> str:
        return ", ".join(obj.missing_bot_scopes) or "-"

    @admin.display(description=_("user scopes missing (installer's token)"))
    def missing_user_scopes(self, obj: Installation) -> str:
        return ", ".join(obj.missing_user_scopes) or "-"

    @admin.display(description=_("re-install"))
    def reinstall_link(self, obj: Installation) -> str:
        url = reinstall_url(obj)
        if not url:
            return "-"
        where = obj.enterprise_id if not obj.team_id else obj.team_id
        return format_html(
            '<a href="{}">{}</a>', url, _("Install again in %(where)s") % {"where": where}
        )

    @admin.display(description=_("bot token"))
    def bot_token_hint(self, obj: Installation) -> str:
        return token_hint(obj, "bot_token")

    @admin.display(description=_("bot refresh token"))
    def bot_refresh_token_hint(self, obj: Installation) -> str:
        return presence_hint(obj, "bot_refresh_token")

    @admin.display(description=_("webhook URL"))
    def incoming_webhook_hint(self, obj: Installation | None) -> str:
        return presence_hint(obj, "incoming_webhook_url")

    @admin.action(
        description=_("Revoke selected installations (auth.revoke at Slack)"),
        permissions=["change"],
    )
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Ask for confirmation, then revoke each installation's tokens at Slack and here."""
        if request.POST.get("post") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": _("Revoke installations"),
                "opts": self.opts,
                "installations": list(queryset),
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
                "media": self.media,
            }
            request.current_app = self.admin_site.name
            return TemplateResponse(
                request, "admin/slack_installs/installation/revoke_confirmation.html", context
            )
        revoked = 0
        for installation in queryset.select_related("app"):
            result = revoke_installation(installation, reason="admin")
            if result.revoked:
                revoked += 1
                self.log_change(
                    request, installation, "Revoked: tokens revoked at Slack and wiped."
                )
            elif result.already_revoked:
                messages.info(request, _("%(name)s was already revoked.") % {"name": installation})
            elif result.reinstalled:
                messages.warning(
                    request,
                    _("%(name)s was re-installed meanwhile: its new tokens were kept.")
                    % {"name": installation},
                )
            else:
                answers = ", ".join(f"{name}: {code}" for name, code in result.errors.items())
                messages.error(
                    request,
                    _(
                        "%(name)s was NOT revoked: Slack answered %(answers)s. Tokens Slack did "
                        "not confirm as revoked were kept; try again later."
                    )
                    % {"name": installation, "answers": answers},
                )
        if revoked:
            messages.success(
                request,
                ngettext(
                    "Revoked %(count)d installation.", "Revoked %(count)d installations.", revoked
                )
                % {"count": revoked},
            )
        return None

    @admin.action(
        description=_("Check with Slack (auth.test; revoke what Slack says is dead)"),
        permissions=["change"],
    )
    def check_with_slack(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Call auth.test for each selected active installation (see ``health``)."""
        already_revoked = queryset.filter(revoked_at__isnull=False).count()
        revoked: list[str] = []

        def note(outcome: health.CheckOutcome) -> None:
            if outcome.result == health.REVOKED:
                revoked.append(outcome.label)
                installation = Installation.objects.get(pk=outcome.installation_id)
                self.log_change(
                    request,
                    installation,
                    f"Revoked: Slack answered {outcome.error} to auth.test (health check).",
                )

        # A request cannot wait long: an install whose Retry-After is longer is skipped.
        summary = health.check_installations(
            queryset, max_wait=self.check_max_wait, on_outcome=note
        )
        messages.success(
            request,
            _("Checked %(checked)d: %(alive)d alive, %(revoked)d revoked, %(skipped)d skipped.")
            % {
                "checked": summary.checked,
                "alive": summary.alive,
                "revoked": summary.revoked,
                "skipped": summary.skipped,
            },
        )
        for label in revoked:
            messages.warning(
                request,
                _("%(name)s was revoked: Slack says its bot token is dead.") % {"name": label},
            )
        if summary.errors:
            reasons = ", ".join(
                f"{code}: {count}" for code, count in sorted(Counter(summary.errors).items())
            )
            messages.warning(
                request,
                _("Slack decided nothing for %(count)d (%(reasons)s): try again later.")
                % {"count": summary.skipped, "reasons": reasons},
            )
        if already_revoked:
            messages.info(
                request,
                ngettext(
                    "%(count)d selected installation was already revoked: not checked.",
                    "%(count)d selected installations were already revoked: not checked.",
                    already_revoked,
                )
                % {"count": already_revoked},
            )

    # Seconds the action waits at most for a Retry-After (the command waits up to five minutes).
    check_max_wait = 5


# --- OAuth attempts --------------------------------------------------------------------


@admin.register(OAuthAttempt)
# The stubs clash on ``model`` and the templates, as for InstallationAdmin.
class OAuthAttemptAdmin(StreamingExportAdminMixin, admin.ModelAdmin):  # type: ignore[misc]
    """The log of installs started ("Slack OAuth requests"), read-only."""

    resource_classes = [OAuthAttemptResource]
    list_display = [
        "created_at",
        "app",
        "kind",
        "status",
        "error",
        "team",
        "user",
        "installation",
        "finished_at",
    ]
    list_filter = ["kind", "status", "app", ("error", admin.AllValuesFieldListFilter)]
    list_select_related = ["app", "user", "installation"]
    search_fields = ["team", "error"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    fields = [
        "app",
        "kind",
        "status",
        "error",
        "team",
        "user",
        "installation",
        "created_at",
        "expires_at",
        "consumed_at",
        "finished_at",
        "redirect_uri",
        "next_url",
        "slack_response",
    ]
    readonly_fields = flatten(fields)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("Slack response (redacted)"))
    def slack_response(self, obj: OAuthAttempt) -> str:
        if obj.response is None:
            return "-"
        # Stored redacted already; redacting again costs nothing and guards old rows.
        text = json.dumps(redact(obj.response), indent=2, sort_keys=True, ensure_ascii=False)
        return format_html('<pre class="slack-response">{}</pre>', text)


# --- Slack identities ------------------------------------------------------------------


@admin.register(SlackIdentity)
class SlackIdentityAdmin(admin.ModelAdmin):
    """Who signs in with Slack as which user, read-only; deleting one unlinks it."""

    list_display = ["user", "slack_user", "team", "app", "last_sign_in_at", "created_at"]
    list_filter = ["app"]
    list_select_related = ["user", "app"]
    search_fields = [
        "slack_user_id",
        "team_id",
        "team_name",
        "name",
        "email",
        f"user__{get_user_model().USERNAME_FIELD}",
    ]
    search_help_text = _("Search by Slack user or team (id or name), email, or username.")
    fields = [
        "user",
        "slack_user_id",
        "name",
        "email",
        "picture",
        "team_id",
        "team_name",
        "app",
        "created_at",
        "last_sign_in_at",
    ]
    readonly_fields = flatten(fields)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made by signing in

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("Slack user"), ordering="slack_user_id")
    def slack_user(self, obj: SlackIdentity) -> str:
        return f"{obj.name} ({obj.slack_user_id})" if obj.name else obj.slack_user_id

    @admin.display(description=_("team"), ordering="team_name")
    def team(self, obj: SlackIdentity) -> str:
        return f"{obj.team_name} ({obj.team_id})" if obj.team_name else obj.team_id


# The overview page and the install history (InstallationEvent) register themselves.
from . import admin_overview  # noqa: E402, F401
