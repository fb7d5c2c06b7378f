"""Admin forms: a Slack app with write-only secrets and an ordered pipeline picker."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from . import secrets
from .conf import app_settings
from .fields import has_stored_value
from .models import SlackApp, split_scopes
from .pipelines import Step, registered_steps

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

SECRET_FIELDS = ("client_secret", "signing_secret")
# A bare domain means https (Django 5.2 warns unless a URL field says; 6.0 made it the default).
URL_FIELD_OPTIONS: dict[str, Any] = {"assume_scheme": "https"}


@sensitive_variables()  # tokens and secrets stay out of error reports
def clean_typed_secret(value: str) -> str:
    """``secrets.clean_secret`` for a form field: what is wrong becomes a form error."""
    try:
        return secrets.clean_secret(value)
    except ValueError as exc:
        raise forms.ValidationError(str(exc), code="invalid_secret") from None


class SecretInput(forms.PasswordInput):
    """A password input that never renders a value, whatever it is given."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(
            attrs={"autocomplete": "new-password", **(attrs or {})}, render_value=False
        )


class PipelinePickerWidget(forms.SelectMultiple):
    """Checkboxes for the registered steps, chosen ones first, in order.

    Each step has a position input, so the order can be set without JavaScript;
    ``pipeline_picker.js`` adds up/down buttons that move rows and renumber them.
    """

    template_name = "admin/slack_installs/widgets/pipeline_picker.html"
    allow_multiple_selected = True

    class Media:
        js = ["slack_installs/admin/pipeline_picker.js"]
        css = {"all": ["slack_installs/admin/admin.css"]}

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.steps: dict[str, Step] = {}
        self.missing: list[str] = []

    def id_for_label(self, id_: str, index: str = "0") -> str:
        return ""  # a list of checkboxes: each has its own label

    @staticmethod
    def position_name(name: str, path: str) -> str:
        return f"{name}__position__{path}"

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[str]:
        getlist = data.getlist if isinstance(data, MultiValueDict) else None
        chosen = getlist(name) if getlist else list(data.get(name) or [])

        def key(item: tuple[int, str]) -> tuple[int, int]:
            index, path = item
            try:
                position = int(data.get(self.position_name(name, path), ""))
            except (TypeError, ValueError):
                position = 10**6  # unnumbered steps keep their posted order, after numbered ones
            return position, index

        return [path for _, path in sorted(enumerate(chosen), key=key)]

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        chosen = [path for path in (value or []) if path in self.steps]
        rest = [path for path in self.steps if path not in chosen]
        rows = []
        for position, path in enumerate([*chosen, *rest], start=1):
            step = self.steps[path]
            rows.append(
                {
                    "path": path,
                    "label": step.label,
                    "description": step.description,
                    "checked": path in chosen,
                    "position": position,
                    "position_name": self.position_name(name, path),
                    "id": f"{context['widget']['attrs'].get('id', name)}_{position}",
                }
            )
        context["widget"].update(rows=rows, missing=self.missing)
        return context


class PipelineStepsField(forms.MultipleChoiceField):
    """The ordered dotted paths of registered steps; anything else is an error."""

    widget = PipelinePickerWidget

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def set_steps(self, steps: dict[str, Step]) -> None:
        self.choices = [(path, step.label) for path, step in steps.items()]
        self.widget.steps = steps

    def clean(self, value: Any) -> list[str]:
        cleaned = super().clean(value)
        return list(dict.fromkeys(cleaned))  # a step runs once, at its first position


def validate_scopes(value: str, label: StrOrPromise) -> list[str]:
    """Raise on duplicate scopes; the model's validator checks their shape."""
    scopes = split_scopes(value)
    duplicates = sorted({scope for scope in scopes if scopes.count(scope) > 1})
    if duplicates:
        raise forms.ValidationError(
            _("%(label)s list %(scopes)s more than once."),
            code="duplicate_scope",
            params={"label": label, "scopes": ", ".join(duplicates)},
        )
    return scopes


class SlackAppForm(forms.ModelForm):
    """A Slack app; secrets are write-only and a blank secret keeps the stored one.

    A new app stores the secrets it is given. For an existing app a typed secret goes
    through its rotation (``secrets.py``) once the app is saved: in ``save()``, or with
    ``save(commit=False)`` in ``save_m2m()``, which Django's admin (any admin) calls after
    saving the app.
    """

    client_secret = forms.CharField(
        label=_("Client secret"), required=False, strip=True, widget=SecretInput()
    )
    signing_secret = forms.CharField(
        label=_("Signing secret"), required=False, strip=True, widget=SecretInput()
    )
    pipelines = PipelineStepsField(
        label=_("Pipeline steps"),
        help_text=_("Tick the steps to run after each install; they run in this order."),
    )

    redirect_uri = forms.URLField(
        label=_("Redirect URI override"),
        required=False,
        max_length=500,
        help_text=_("Leave blank to use this site's callback URL."),
        **URL_FIELD_OPTIONS,
    )

    class Meta:
        model = SlackApp
        fields = [
            "name",
            "slug",
            "is_active",
            "app_id",
            "client_id",
            "bot_scopes",
            "user_scopes",
            "pipelines",
            "redirect_uri",
            "use_pkce",
            "success_url",
            "error_url",
        ]
        # The secrets are the form's own fields, also when the admin passes its fieldsets as
        # ``fields``: the model's would decrypt them during validation and re-save them.
        exclude = list(SECRET_FIELDS)  # noqa: DJ006
        help_texts = {
            "slug": _("Used in this app's URLs: letters, digits, hyphens and underscores."),
            "bot_scopes": _("Comma-separated, no spaces, e.g. chat:write,commands."),
            "user_scopes": _("Comma-separated, no spaces, e.g. search:read."),
            "success_url": _(
                "Where the browser goes after an install: an https:// URL, or a path such as "
                "/welcome/. Blank: the SUCCESS_URL setting, else the built-in page."
            ),
            "error_url": _(
                "Where the browser goes after a failed install (given ?error= and the code): an "
                "https:// URL, or a path. Blank: the ERROR_URL setting, else the built-in page."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.adding = adding = self.instance.pk is None
        for name in SECRET_FIELDS:
            # The model's value_from_object is the ciphertext: never offer it as an initial.
            self.initial[name] = ""
            is_set = has_stored_value(self.instance, name)
            self.fields[name].help_text = (
                _("Set. Leave blank to keep the current value; type a new one to replace it.")
                if is_set
                else _("Not set.")
            )
        if has_stored_value(self.instance, "signing_secret"):
            self.fields["signing_secret"].help_text = _(
                "Set. Leave blank to keep the current value; type a new one to rotate it: the "
                "current one keeps verifying events for %(grace)s seconds."
            ) % {"grace": app_settings.SIGNING_SECRET_GRACE_PERIOD}
        if adding:
            self.fields["client_secret"].help_text = _(
                "From Basic Information in Slack's app config. Leave it and the client id "
                "blank for an app to create on Slack from its manifest."
            )
        picker = cast(PipelineStepsField, self.fields["pipelines"])
        # Read the registry per form: steps may be registered after this module imports.
        steps = registered_steps()
        picker.set_steps(steps)
        saved = list(self.instance.pipelines or [])
        picker.widget.missing = [path for path in saved if path not in steps]
        self.initial["pipelines"] = [path for path in saved if path in steps]

    def _clean_secret(self, name: str) -> str:
        value = self.cleaned_data.get(name, "")
        return clean_typed_secret(value) if value else ""

    def clean_client_secret(self) -> str:
        return self._clean_secret("client_secret")

    def clean_signing_secret(self) -> str:
        return self._clean_secret("signing_secret")

    def clean_bot_scopes(self) -> str:
        value = self.cleaned_data.get("bot_scopes", "")
        validate_scopes(value, _("Bot scopes"))
        return value

    def clean_user_scopes(self) -> str:
        value = self.cleaned_data.get("user_scopes", "")
        validate_scopes(value, _("User scopes"))
        return value

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if (
            "bot_scopes" in cleaned
            and "user_scopes" in cleaned
            and not split_scopes(cleaned["bot_scopes"])
            and not split_scopes(cleaned["user_scopes"])
        ):
            raise forms.ValidationError(
                _("Give at least one bot scope or one user scope."), code="no_scopes"
            )
        # Optional only until the app exists on Slack: a client id needs its secret.
        if (
            cleaned.get("client_id")
            and not cleaned.get("client_secret")
            and "client_secret" not in self.errors
            and not has_stored_value(self.instance, "client_secret")
        ):
            self.add_error(
                "client_secret",
                forms.ValidationError(
                    _("Give the client secret of this client id."), code="required"
                ),
            )
        for name in SECRET_FIELDS:
            if not cleaned.get(name):
                cleaned.pop(name, None)  # blank keeps the stored secret ("" would wipe it)
        return cleaned

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]  # private hook, absent from django-stubs
        if not self.adding:
            return  # an existing app's secrets change through their rotation, in save()
        for name in SECRET_FIELDS:
            if name in self.cleaned_data:
                setattr(self.instance, name, self.cleaned_data[name])

    def save(self, commit: bool = True) -> SlackApp:
        app = super().save(commit=commit)
        if commit:
            self._rotate_secrets()
        else:
            # The hook Django asks a commit=False caller to run once the instance is saved.
            save_m2m = self.save_m2m

            def save_m2m_and_rotate() -> None:
                save_m2m()
                self._rotate_secrets()

            # ModelForm.save() sets save_m2m the same way; the stubs declare it a method.
            self.save_m2m = save_m2m_and_rotate  # type: ignore[method-assign]
        return app

    @sensitive_variables()  # tokens and secrets stay out of error reports
    def _rotate_secrets(self) -> None:
        # No user is passed on: the admin's own history entry for the save names the
        # changed secret as the rotate page's entry does, so one entry tells it.
        if self.adding:
            return
        for name in SECRET_FIELDS:
            if self.cleaned_data.get(name):
                secrets.ROTATIONS[name](self.instance, self.cleaned_data[name])
