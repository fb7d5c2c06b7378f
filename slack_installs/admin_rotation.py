"""Admin pages that rotate a Slack app's client secret and signing secret."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters

from . import secrets
from .conf import app_settings
from .forms import clean_typed_secret


class RotateSecretForm(forms.Form):
    """One write-only input: the new secret, as shown in Slack's app config."""

    new_secret = forms.CharField(
        label=_("New secret"),
        strip=True,
        max_length=secrets.MAX_SECRET_LENGTH,
        widget=forms.PasswordInput(
            render_value=False, attrs={"autocomplete": "new-password", "spellcheck": "false"}
        ),
    )

    def clean_new_secret(self) -> str:
        return clean_typed_secret(self.cleaned_data["new_secret"])


@dataclass(frozen=True)
class _Rotation:
    title: Any
    done: Any


_ROTATIONS = {
    "client_secret": _Rotation(
        title=_("Rotate client secret"),
        done=_("The client secret of “%(app)s” was replaced; every worker uses it from now on."),
    ),
    "signing_secret": _Rotation(
        title=_("Rotate signing secret"),
        done=_(
            "The signing secret of “%(app)s” was replaced; the previous one still verifies "
            "events for %(grace)s seconds."
        ),
    ),
}


class SecretRotationAdminMixin:
    """Adds "Rotate client secret" and "Rotate signing secret" pages under an app's change page."""

    rotate_secret_template = "admin/slack_installs/slackapp/rotate_secret.html"

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name  # type: ignore[attr-defined]
        admin_view = self.admin_site.admin_view  # type: ignore[attr-defined]
        return [
            path(
                "<path:object_id>/rotate-client-secret/",
                admin_view(self.rotate_client_secret_view),
                name="{}_{}_rotate_client_secret".format(*info),
            ),
            path(
                "<path:object_id>/rotate-signing-secret/",
                admin_view(self.rotate_signing_secret_view),
                name="{}_{}_rotate_signing_secret".format(*info),
            ),
            *super().get_urls(),  # type: ignore[misc]
        ]

    @method_decorator(sensitive_post_parameters())
    def rotate_client_secret_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._rotate_secret_view(request, object_id, "client_secret")

    @method_decorator(sensitive_post_parameters())
    def rotate_signing_secret_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._rotate_secret_view(request, object_id, "signing_secret")

    def _rotate_secret_view(self, request: HttpRequest, object_id: str, kind: str) -> HttpResponse:
        admin: Any = self
        app = admin.get_object(request, unquote(object_id))
        if app is None:
            raise Http404(_("No Slack app with this id."))
        if not admin.has_change_permission(request, app):
            raise PermissionDenied
        rotation = _ROTATIONS[kind]
        form = RotateSecretForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            secrets.ROTATIONS[kind](app, form.cleaned_data["new_secret"], user=request.user)
            admin.message_user(
                request,
                rotation.done % {"app": app, "grace": app_settings.SIGNING_SECRET_GRACE_PERIOD},
                messages.SUCCESS,
            )
            opts = admin.opts
            change_url = reverse(
                f"admin:{opts.app_label}_{opts.model_name}_change",
                args=[quote(app.pk)],
                current_app=admin.admin_site.name,
            )
            return HttpResponseRedirect(change_url)
        context = {
            **admin.admin_site.each_context(request),
            "title": rotation.title,
            "subtitle": str(app),
            "opts": admin.opts,
            "original": app,
            "form": form,
            "kind": kind,
            "grace_period": app_settings.SIGNING_SECRET_GRACE_PERIOD,
        }
        request.current_app = admin.admin_site.name
        return TemplateResponse(request, self.rotate_secret_template, context)
