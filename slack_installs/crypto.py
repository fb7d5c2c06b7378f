"""Encryption at rest: the only module that touches the keys.

A stored value reads ``f1:<key id>:<Fernet token>``. The key id says which key of
``SLACK_INSTALLS["ENCRYPTION_KEYS"]`` encrypted it, so keys can be rotated one
value at a time while old values stay readable.
"""

from __future__ import annotations

import functools
import re

from cryptography.fernet import Fernet, InvalidToken
from django.views.decorators.debug import sensitive_variables

from .conf import app_settings
from .exceptions import DecryptionError, EncryptionNotConfigured

FORMAT_PREFIX = "f1"
KEY_ID_PATTERN = r"[A-Za-z0-9_.\-]+"
# Fernet tokens are urlsafe base64 of a version byte 0x80, hence always "gAAAAA".
STORED_FORM = re.compile(rf"^{FORMAT_PREFIX}:({KEY_ID_PATTERN}):(gAAAAA[A-Za-z0-9_\-=]+)$")


@functools.lru_cache(maxsize=32)
def _fernet(key: str) -> Fernet:
    return Fernet(key.encode("ascii"))


def generate_key() -> str:
    """Return a new random Fernet key, ready for ``ENCRYPTION_KEYS``."""
    return Fernet.generate_key().decode("ascii")


def is_valid_key(key: object) -> bool:
    """Tell whether ``key`` is a usable Fernet key (32 bytes, urlsafe base64)."""
    if not isinstance(key, str):
        return False
    try:
        _fernet(key)
    except (ValueError, UnicodeEncodeError):
        return False
    return True


def is_valid_key_id(key_id: object) -> bool:
    return isinstance(key_id, str) and re.fullmatch(KEY_ID_PATTERN, key_id) is not None


def is_stored_form(value: object) -> bool:
    """Tell whether ``value`` looks like a value this module encrypted."""
    return isinstance(value, str) and STORED_FORM.match(value) is not None


def key_id_of(stored: str) -> str:
    """Return the key id a stored value was encrypted with."""
    match = STORED_FORM.match(stored)
    if match is None:
        raise DecryptionError("stored value is not in the f1:<key id>:<token> form")
    return match.group(1)


def _key(key_id: str) -> Fernet:
    key = app_settings.ENCRYPTION_KEYS.get(key_id)
    if key is None:
        raise DecryptionError(f"no encryption key with id {key_id!r} is configured")
    try:
        return _fernet(key)
    except (ValueError, UnicodeEncodeError) as exc:
        raise EncryptionNotConfigured(
            f"SLACK_INSTALLS['ENCRYPTION_KEYS'][{key_id!r}] is not a valid Fernet key"
        ) from exc


@sensitive_variables()  # tokens and secrets stay out of error reports
def encrypt(plaintext: str) -> str:
    """Encrypt ``plaintext`` under the active key and return the stored form."""
    key_id = app_settings.ACTIVE_KEY_ID
    if key_id not in app_settings.ENCRYPTION_KEYS:
        raise EncryptionNotConfigured(
            f"SLACK_INSTALLS['ACTIVE_KEY_ID'] is {key_id!r}, "
            "which is not a key of SLACK_INSTALLS['ENCRYPTION_KEYS']"
        )
    token = _key(key_id).encrypt(plaintext.encode("utf-8"))
    return f"{FORMAT_PREFIX}:{key_id}:{token.decode('ascii')}"


@sensitive_variables()  # tokens and secrets stay out of error reports
def decrypt(stored: str) -> str:
    """Decrypt a stored value; raise ``DecryptionError`` when it does not decrypt."""
    match = STORED_FORM.match(stored)
    if match is None:
        raise DecryptionError("stored value is not in the f1:<key id>:<token> form")
    key_id, token = match.groups()
    try:
        return _key(key_id).decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise DecryptionError(f"stored value does not decrypt with key {key_id!r}") from None


@sensitive_variables()  # tokens and secrets stay out of error reports
def reencrypt(stored: str) -> str:
    """Return ``stored`` encrypted under the active key (unchanged if it already is)."""
    if key_id_of(stored) == app_settings.ACTIVE_KEY_ID:
        return stored
    return encrypt(decrypt(stored))
