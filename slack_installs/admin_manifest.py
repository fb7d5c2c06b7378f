"""The Slack app configured from the admin: its manifest, Create on Slack, push and drift.

``ManifestAdminMixin`` (in ``SlackAppAdmin``'s bases, like the rotation pages' mixin)
adds an app's Manifest page (``admin:slack_installs_slackapp_manifest``) and Compare
page, the actions *Create on Slack*, *Push to Slack* and *Compare with Slack*, the
manifest settings' fieldset, and a form check that refuses, as form errors, what
Slack's rules would refuse. ``ConfigurationTokenAdmin`` keeps the app configuration
tokens, write-only. Every failure is a message in the admin, never a 500.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db import DatabaseError
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from . import manifests
from .conf import app_settings
from .exceptions import (
    ConfigurationTokenError,
    DecryptionError,
    ManifestError,
    SlackAPIError,
)
from .fields import has_stored_value
from .forms import SecretInput, clean_typed_secret
from .models import SLACK_ID, ConfigurationToken, SlackApp

logger = logging.getLogger(__name__)

# The fields the manifest is built from, copied onto the app the form check builds.
MANIFEST_SOURCES = (
    "name",
    "slug",
    "redirect_uri",
    "bot_scopes",
    "user_scopes",
    "org_deploy_enabled",
    "token_rotation_enabled",
    "manifest_extra",
)
MANIFEST_FIELDSET = (
    _("On Slack (the app's manifest)"),
    {
        "fields": [
            "org_deploy_enabled",
            "token_rotation_enabled",
            "manifest_extra",
            "configuration_token",
        ],
        "description": _(
            "Slack's copy of this app's configuration is made from this page: see its "
            "Manifest page. Slash commands, shortcuts and interactivity go into “more of the "
            'manifest”, e.g. {"features": {"slash_commands": [...]}}.'
        ),
    },
)


def site_base_url(request: HttpRequest) -> str:
    """This site's address as Slack reaches it: ``REDIRECT_BASE_URL``, else the request's."""
    return app_settings.REDIRECT_BASE_URL or request.build_absolute_uri("/").rstrip("/")


def field_label(name: str | None) -> str:
    if not name:
        return ""
    try:
        return str(getattr(SlackApp._meta.get_field(name), "verbose_name", name))
    except FieldDoesNotExist:
        return name


def slack_errors(app: SlackApp, exc: SlackAPIError) -> list[dict[str, str]]:
    """Slack's ``invalid_manifest`` errors, each with the admin field it concerns."""
    rows = []
    for error in exc.errors:
        field = manifests.field_of(app, error.get("pointer", ""))
        rows.append({**error, "field": field or "", "field_label": field_label(field)})
    return rows


def describe_slack_error(app: SlackApp, exc: SlackAPIError) -> str:
    """One line for an admin message: what Slack said, and where to change it."""
    if exc.code == "invalid_manifest":
        details = "; ".join(
            f"{row['pointer'] or '/'}: {row['message']}"
            + (f" (field “{row['field_label']}”)" if row["field_label"] else "")
            for row in slack_errors(app, exc)
        )
        return str(
            _("Slack refused the manifest of “%(app)s”: %(details)s")
            % {"app": app, "details": details or exc.code}
        )
    hints = {
        "invalid_app_id": _(
            "Slack knows no app %(app_id)s reachable with this configuration token: check "
            "the app id, and that the token comes from the app's workspace."
        ),
        "ratelimited": _("Slack asked us to slow down: try again in a minute."),
        "timeout": _("Slack took too long to answer: try again."),
        "connection_error": _("Slack could not be reached: try again."),
    }
    hint = hints.get(exc.code, "")
    text = _("Slack refused (%(code)s) for “%(app)s”.") % {"code": exc.code, "app": app}
    return f"{text} {hint % {'app_id': app.app_id}}" if hint else str(text)


class ManifestFormMixin:
    """For the app's admin form: what Slack's manifest rules refuse is a form error.

    Only problems of the form's own fields count: the site's address (in the events URL)
    is the deployment's to fix, and the Manifest page says so.
    """

    manifest_base_url = "https://localhost"

    def clean_manifest_extra(self) -> dict[str, Any]:
        value = self.cleaned_data.get("manifest_extra")  # type: ignore[attr-defined]
        if value is None or value == "":
            return {}
        if not isinstance(value, dict):
            raise forms.ValidationError(_("Enter a JSON object: {…}."), code="not_an_object")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]
        form: Any = self
        candidate = copy.copy(form.instance)
        for name in MANIFEST_SOURCES:
            if name in cleaned:
                setattr(candidate, name, cleaned[name])
        if not candidate.slug or "slug" in form.errors:
            return cleaned
        try:
            manifest = manifests.build_manifest(candidate, base_url=self.manifest_base_url)
        except NoReverseMatch:
            return cleaned  # slack_installs.urls not included: the Manifest page says so
        for problem in manifests.validate_manifest(manifest):
            field = manifests.field_of(candidate, problem.pointer)
            if field is not None:
                target = field if field in form.fields and field not in form.errors else None
                form.add_error(target, f"{problem.pointer}: {problem.message}")
        return cleaned


class ManifestAdminMixin:
    """Adds an app's Manifest and Compare pages and the actions that talk to Slack."""

    manifest_template = "admin/slack_installs/slackapp/manifest.html"
    compare_template = "admin/slack_installs/slackapp/compare.html"
    actions: Any = ["create_on_slack", "push_to_slack", "compare_with_slack"]

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name  # type: ignore[attr-defined]
        admin_view = self.admin_site.admin_view  # type: ignore[attr-defined]
        return [
            path(
                "<path:object_id>/manifest/",
                admin_view(self.manifest_view),
                name="{}_{}_manifest".format(*info),
            ),
            path(
                "<path:object_id>/compare/",
                admin_view(self.compare_view),
                name="{}_{}_compare".format(*info),
            ),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))  # type: ignore[misc]
        listed = {name for _, options in fieldsets for name in options.get("fields", ())}
        if "manifest_extra" not in listed:
            fieldsets.append(MANIFEST_FIELDSET)
        return fieldsets

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)  # type: ignore[misc]
        return type(
            form.__name__,
            (ManifestFormMixin, form),
            {"manifest_base_url": site_base_url(request), "__module__": __name__},
        )

    # --- Pages -----------------------------------------------------------------------------

    def _app(self, request: HttpRequest, object_id: str) -> SlackApp:
        model_admin: Any = self
        app = model_admin.get_object(request, unquote(object_id))
        if app is None:
            raise Http404(_("No Slack app with this id."))
        if not model_admin.has_view_or_change_permission(request, app):
            raise PermissionDenied
        return app

    def _url(self, name: str, app: SlackApp) -> str:
        model_admin: Any = self
        opts = model_admin.opts
        return reverse(
            f"admin:{opts.app_label}_{opts.model_name}_{name}",
            args=[quote(app.pk)],
            current_app=model_admin.admin_site.name,
        )

    def _render(
        self, request: HttpRequest, template: str, app: SlackApp, context: dict[str, Any]
    ) -> TemplateResponse:
        model_admin: Any = self
        request.current_app = model_admin.admin_site.name
        return TemplateResponse(
            request,
            template,
            {
                **model_admin.admin_site.each_context(request),
                "opts": model_admin.opts,
                "original": app,
                "subtitle": str(app),
                "manifest_url": self._url("manifest", app),
                "compare_url": self._url("compare", app),
                "change_url": self._url("change", app),
                **context,
            },
        )

    def manifest_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The app's manifest as JSON, a download, Slack's "create" link; POST: create/push."""
        model_admin: Any = self
        app = self._app(request, object_id)
        base = site_base_url(request)
        errors: list[dict[str, str]] = []
        if request.method == "POST":
            if not model_admin.has_change_permission(request, app):
                raise PermissionDenied
            operation = request.POST.get("operation", "")
            if operation == "compare":
                return HttpResponseRedirect(self._url("compare", app))
            if operation not in ("create", "push"):
                messages.error(request, _("Choose Create on Slack or Push to Slack."))
                return HttpResponseRedirect(self._url("manifest", app))
            _done, errors = self._talk_to_slack(request, app, operation, base)
            if not errors:
                return HttpResponseRedirect(self._url("manifest", app))
            app.refresh_from_db()
        manifest = manifests.build_manifest(app, base_url=base)
        text = manifests.manifest_json(manifest)
        if request.GET.get("download"):
            response = HttpResponse(text, content_type="application/json; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{app.slug}-manifest.json"'
            return response
        problems = [
            {
                "pointer": problem.pointer,
                "message": problem.message,
                "field_label": field_label(manifests.field_of(app, problem.pointer)),
            }
            for problem in manifests.validate_manifest(manifest)
        ]
        try:
            token: ConfigurationToken | None = manifests.configuration_token_for(app)
            token_problem = ""
        except ConfigurationTokenError as exc:
            token, token_problem = None, str(exc)
        return self._render(
            request,
            self.manifest_template,
            app,
            {
                "title": _("Manifest"),
                "manifest_json": text,
                "problems": problems,
                "slack_errors": errors,
                "create_app_link": manifests.create_app_link(manifest),
                "configuration_token": token,
                "token_problem": token_problem,
                "can_change": model_admin.has_change_permission(request, app),
                "on_slack": bool(app.app_id),
            },
        )

    def compare_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Slack's copy (``apps.manifest.export``) beside ours, difference by difference."""
        app = self._app(request, object_id)
        try:
            differences = manifests.compare_with_slack(app, base_url=site_base_url(request))
        except (ManifestError, ConfigurationTokenError, DecryptionError) as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(self._url("manifest", app))
        except SlackAPIError as exc:
            messages.error(request, describe_slack_error(app, exc))
            return HttpResponseRedirect(self._url("manifest", app))
        rows = [
            {
                "pointer": difference.pointer,
                "ours": manifests.Difference.show(difference.ours),
                "theirs": manifests.Difference.show(difference.theirs),
                "field_label": field_label(manifests.field_of(app, difference.pointer)),
            }
            for difference in differences
        ]
        return self._render(
            request,
            self.compare_template,
            app,
            {"title": _("Compare with Slack"), "differences": rows},
        )

    # --- Talking to Slack ------------------------------------------------------------------

    def _talk_to_slack(
        self, request: HttpRequest, app: SlackApp, operation: str, base: str
    ) -> tuple[bool, list[dict[str, str]]]:
        """Create or push ``app``; every outcome becomes a message. Returns whether it
        worked, and Slack's ``invalid_manifest`` errors if that was the answer."""
        model_admin: Any = self
        try:
            if operation == "create":
                created = manifests.create_on_slack(app, base_url=base)
                model_admin.log_change(
                    request, created, "Created on Slack from its manifest (credentials saved)."
                )
                messages.success(
                    request,
                    _(
                        "“%(app)s” was created on Slack (app id %(app_id)s). Its client id, "
                        "client secret and signing secret are saved: it can be installed now."
                    )
                    % {"app": created, "app_id": created.app_id},
                )
            else:
                pushed = manifests.push_to_slack(app, base_url=base)
                model_admin.log_change(request, app, "Pushed its manifest to Slack.")
                messages.success(
                    request,
                    _("Slack took the manifest of “%(app)s”.") % {"app": app},
                )
                if pushed.permissions_updated:
                    messages.warning(
                        request,
                        _(
                            "The scopes of “%(app)s” changed: each workspace grants them when "
                            "it installs the app again."
                        )
                        % {"app": app},
                    )
            return True, []
        except SlackAPIError as exc:
            messages.error(request, describe_slack_error(app, exc))
            return False, slack_errors(app, exc) if exc.code == "invalid_manifest" else []
        except (ManifestError, ConfigurationTokenError, DecryptionError) as exc:
            messages.error(request, str(exc))
            return False, []
        except DatabaseError as exc:
            logger.exception("Talking to Slack about %s: the database failed", app.slug)
            messages.error(
                request,
                _("The database failed (%(error)s): nothing was saved. Try again.")
                % {"error": type(exc).__name__},
            )
            return False, []

    def _each(self, request: HttpRequest, queryset: QuerySet, operation: str) -> None:
        base = site_base_url(request)
        done = sum(self._talk_to_slack(request, app, operation, base)[0] for app in queryset)
        if done > 1:
            messages.info(
                request,
                ngettext("%(count)d app done.", "%(count)d apps done.", done) % {"count": done},
            )

    @admin.action(description=_("Create on Slack (from the manifest)"), permissions=["change"])
    def create_on_slack(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, "create")

    @admin.action(
        description=_("Push to Slack (replace Slack's configuration)"), permissions=["change"]
    )
    def push_to_slack(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        self._each(request, queryset, "push")
        return None

    @admin.action(description=_("Compare with Slack"), permissions=["view"])
    def compare_with_slack(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        apps = list(queryset)
        if len(apps) == 1:
            return HttpResponseRedirect(self._url("compare", apps[0]))
        base = site_base_url(request)
        for app in apps:
            try:
                differences = manifests.compare_with_slack(app, base_url=base)
            except (ManifestError, ConfigurationTokenError, DecryptionError) as exc:
                messages.error(request, str(exc))
                continue
            except SlackAPIError as exc:
                messages.error(request, describe_slack_error(app, exc))
                continue
            if differences:
                messages.warning(
                    request,
                    ngettext(
                        "“%(app)s” differs from Slack's copy in %(count)d place: %(places)s",
                        "“%(app)s” differs from Slack's copy in %(count)d places: %(places)s",
                        len(differences),
                    )
                    % {
                        "app": app,
                        "count": len(differences),
                        "places": ", ".join(d.pointer for d in differences),
                    },
                )
            else:
                messages.success(request, _("“%(app)s” matches Slack's copy.") % {"app": app})
        return None


# --- Configuration tokens ---------------------------------------------------------------

TOKEN_FIELDS = ("access_token", "refresh_token")


class ConfigurationTokenForm(forms.ModelForm):
    """A configuration token and its refresh token, write-only: blank keeps the stored one."""

    access_token = forms.CharField(
        label=_("Configuration token"), required=False, strip=True, widget=SecretInput()
    )
    refresh_token = forms.CharField(
        label=_("Refresh token"), required=False, strip=True, widget=SecretInput()
    )

    class Meta:
        model = ConfigurationToken
        fields = ["team_id", "expires_at"]
        # The tokens are the form's own fields, as SlackAppForm's secrets are.
        exclude = list(TOKEN_FIELDS)  # noqa: DJ006

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, prefix in zip(TOKEN_FIELDS, ("xoxe.xoxp-", "xoxe-1-"), strict=True):
            self.initial[name] = ""  # never the ciphertext
            self.fields[name].help_text = (
                _("Set. Leave blank to keep it; type a new one to replace it.")
                if has_stored_value(self.instance, name)
                else _("Starts with %(prefix)s, from Slack's “Your apps” page.")
                % {"prefix": prefix}
            )
        self.fields["access_token"].required = self.instance.pk is None

    @sensitive_variables()  # tokens and secrets stay out of error reports
    def _clean_token(self, name: str, prefix: str) -> str:
        value = self.cleaned_data.get(name, "")
        if not value:
            return ""
        value = clean_typed_secret(value)
        if not value.startswith(prefix):
            raise forms.ValidationError(
                _("This is not a configuration token: it starts with %(prefix)s.")
                % {"prefix": prefix},
                code="invalid_token",
            )
        return value

    def clean_access_token(self) -> str:
        return self._clean_token("access_token", "xoxe.")

    def clean_refresh_token(self) -> str:
        return self._clean_token("refresh_token", "xoxe-")

    def clean_team_id(self) -> str:
        team_id = self.cleaned_data.get("team_id", "").strip()
        if not SLACK_ID.match(team_id):
            raise forms.ValidationError(
                _("A workspace id looks like T0123ABCD."), code="invalid_team_id"
            )
        return team_id

    @sensitive_variables()  # tokens and secrets stay out of error reports
    def save(self, commit: bool = True) -> ConfigurationToken:
        for name in TOKEN_FIELDS:
            if self.cleaned_data.get(name):
                setattr(self.instance, name, self.cleaned_data[name])
        return super().save(commit=commit)


@admin.register(ConfigurationToken)
class ConfigurationTokenAdmin(admin.ModelAdmin):
    form = ConfigurationTokenForm
    list_display = ["team_id", "token", "refresh", "expires_at", "rotated_at", "app_count"]
    search_fields = ["team_id"]
    readonly_fields = ["rotated_at", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["team_id", "access_token", "refresh_token", "expires_at"]}),
        (_("History"), {"fields": ["rotated_at", "created_at", "updated_at"]}),
    ]
    actions = ["rotate_now"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(app_total=Count("apps"))

    # The posted tokens stay out of error reports.
    changeform_view = method_decorator(sensitive_post_parameters(*TOKEN_FIELDS))(
        admin.ModelAdmin.changeform_view
    )

    @admin.display(description=_("configuration token"))
    def token(self, obj: ConfigurationToken) -> str:
        from .admin import token_hint  # admin.py imports this module

        return token_hint(obj, "access_token")

    @admin.display(description=_("refresh token"))
    def refresh(self, obj: ConfigurationToken) -> str:
        from .admin import presence_hint

        return presence_hint(obj, "refresh_token")

    @admin.display(description=_("apps"), ordering="app_total")
    def app_count(self, obj: ConfigurationToken) -> int:
        return obj.app_total  # type: ignore[attr-defined]

    @admin.action(description=_("Rotate now (tooling.tokens.rotate)"), permissions=["change"])
    def rotate_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        for token in queryset:
            try:
                manifests.rotate_configuration_token(token, stale=token.access_token)
            except (ConfigurationTokenError, DecryptionError) as exc:
                messages.error(request, str(exc))
            except SlackAPIError as exc:
                messages.error(
                    request,
                    _("Slack refused to rotate %(token)s (%(code)s).")
                    % {"token": token, "code": exc.code},
                )
            else:
                self.log_change(request, token, "Rotated with tooling.tokens.rotate.")
                messages.success(request, _("%(token)s was rotated.") % {"token": token})
