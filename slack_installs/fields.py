"""A model field that keeps its value encrypted in the database.

Values are decrypted only when the attribute is read, so list pages and exports
that never touch a token never pay for decryption. Reading the raw column
(``values_list``, ``dumpdata``) gives the stored ``f1:<key id>:<token>`` form.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models
from django.db.models.expressions import Combinable
from django.db.models.query_utils import DeferredAttribute
from django.views.decorators.debug import sensitive_variables

from . import crypto


class Ciphertext(str):
    """A value as stored in the database, not yet decrypted."""

    __slots__ = ()


class Decrypted(str):
    """A decrypted value that remembers the ciphertext it came from.

    Saving it back unchanged (``save(raw=True)`` in ``loaddata``, ``bulk_update``,
    ``full_clean``) writes the same ciphertext again instead of re-encrypting.
    """

    stored: str

    def __new__(cls, plaintext: str, stored: str) -> Decrypted:
        value = super().__new__(cls, plaintext)
        value.stored = stored
        return value

    def __reduce__(self) -> tuple[type[str], tuple[str]]:
        # Pickled (e.g. in a cache) it becomes a plain str and forgets the ciphertext.
        return (str, (str(self),))


@sensitive_variables()  # tokens and secrets stay out of error reports
def stored_form(value: Any) -> Ciphertext | None:
    """``value`` as the database stores it: None, or its ciphertext (plaintext is encrypted)."""
    if value is None or value == "":
        return None
    if isinstance(value, Ciphertext):
        return value
    if isinstance(value, Decrypted):
        return Ciphertext(value.stored)
    return Ciphertext(crypto.encrypt(str(value)))


def has_stored_value(instance: models.Model, attname: str) -> bool:
    """Whether an encrypted field of ``instance`` holds a value, without decrypting it."""
    return instance.__dict__.get(attname) is not None


class EncryptedAttribute(DeferredAttribute):
    """Holds the ciphertext on the instance and decrypts it on every read.

    The plaintext is never cached on the instance, so pickling a model (cache
    backends, sessions) can never carry a secret.
    """

    @sensitive_variables()  # tokens and secrets stay out of error reports
    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if isinstance(value, Ciphertext):
            return Decrypted(crypto.decrypt(value), value)
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        if isinstance(value, Decrypted):
            # Copied from another instance (refresh_from_db does this): keep its ciphertext.
            value = Ciphertext(value.stored)
        instance.__dict__[self.field.attname] = None if value == "" else value


class EncryptedTextField(models.TextField):
    """A text field encrypted at rest; it supports no lookup but ``isnull``."""

    descriptor_class = EncryptedAttribute
    # For django-stubs 6.1's plugin, which cannot see the null=True default of __init__: None
    # may be assigned. Reads stay typed str, as with django-stubs 5.2.
    _pyi_private_set_type: str | Combinable | None  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("editable", True)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        return None if value is None else Ciphertext(value)

    @sensitive_variables()  # tokens and secrets stay out of error reports
    def to_python(self, value: Any) -> Any:
        if value is None or value == "":
            return None
        if isinstance(value, Ciphertext | Decrypted):
            # full_clean() sets what this returns back on the instance: a Decrypted value
            # goes back as its ciphertext, where a plain str would leave the plaintext there.
            return value
        if crypto.is_stored_form(value):
            # Deserialising (loaddata) hands us the stored form: keep it as is.
            return Ciphertext(value)
        return str(value)

    @sensitive_variables()  # tokens and secrets stay out of error reports
    def get_prep_value(self, value: Any) -> str | None:
        stored = stored_form(value)
        return None if stored is None else str(stored)

    @sensitive_variables()  # tokens and secrets stay out of error reports
    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        raw = model_instance.__dict__.get(self.attname)
        stored = stored_form(raw)
        if stored is not raw:
            # Keep the ciphertext on the instance: saving again does not re-encrypt.
            model_instance.__dict__[self.attname] = stored
        return stored

    @sensitive_variables()  # tokens and secrets stay out of error reports
    def value_from_object(self, obj: models.Model) -> Any:
        """The stored form (a str, or None), so serializers and form initials never see
        plaintext."""
        return stored_form(obj.__dict__.get(self.attname))

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)

    def get_transform(self, lookup_name: str) -> Any:
        return None

    def formfield(
        self,
        form_class: type[forms.Field] | None = None,
        choices_form_class: type[forms.ChoiceField] | None = None,
        **kwargs: Any,
    ) -> forms.Field | None:
        defaults: dict[str, Any] = {
            "form_class": form_class or forms.CharField,
            "widget": forms.PasswordInput(render_value=False),
            "required": False,
            "strip": True,
        }
        if choices_form_class is not None:
            defaults["choices_form_class"] = choices_form_class
        defaults.update(kwargs)
        return super().formfield(**defaults)
