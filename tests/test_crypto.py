from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from slack_installs import crypto
from slack_installs.exceptions import DecryptionError

KEY_A = "dGVzdC1rZXktMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA="
KEY_B = crypto.generate_key()


def keys(**extra):
    return {"ENCRYPTION_KEYS": {"k1": KEY_A, "k2": KEY_B}, "ACTIVE_KEY_ID": "k1", **extra}


def test_stored_form_names_the_active_key_and_hides_the_plaintext():
    stored = crypto.encrypt("xoxb-secret-plaintext")
    assert stored.startswith("f1:k1:gAAAAA")
    assert "xoxb" not in stored
    assert crypto.decrypt(stored) == "xoxb-secret-plaintext"
    assert crypto.key_id_of(stored) == "k1"


def test_old_key_stays_readable_after_switching_the_active_key():
    with override_settings(SLACK_INSTALLS=keys()):
        stored = crypto.encrypt("value")
    with override_settings(SLACK_INSTALLS=keys(ACTIVE_KEY_ID="k2")):
        assert crypto.decrypt(stored) == "value"
        rotated = crypto.reencrypt(stored)
        assert rotated.startswith("f1:k2:")
        assert crypto.reencrypt(rotated) is rotated
        assert crypto.decrypt(rotated) == "value"


def test_wrong_key_raises_naming_the_key_id_not_the_value():
    stored = crypto.encrypt("xoxb-never-in-messages")
    wrong = {"ENCRYPTION_KEYS": {"k1": KEY_B}}
    with override_settings(SLACK_INSTALLS=wrong), pytest.raises(DecryptionError) as info:
        crypto.decrypt(stored)
    assert "'k1'" in str(info.value)
    assert "xoxb" not in str(info.value)
    assert stored not in str(info.value)


def test_unknown_key_id_raises():
    stored = crypto.encrypt("value").replace("f1:k1:", "f1:gone:")
    with pytest.raises(DecryptionError, match="'gone'"):
        crypto.decrypt(stored)


@pytest.mark.parametrize("value", ["", "plain", "f1:k1:notfernet", "f2:k1:gAAAAAxyz"])
def test_malformed_stored_values_raise(value):
    with pytest.raises(DecryptionError):
        crypto.decrypt(value)


def test_encrypting_without_keys_is_a_configuration_error():
    with override_settings(SLACK_INSTALLS={}), pytest.raises(ImproperlyConfigured):
        crypto.encrypt("value")


def test_active_key_id_must_exist():
    with (
        override_settings(SLACK_INSTALLS=keys(ACTIVE_KEY_ID="missing")),
        pytest.raises(ImproperlyConfigured, match="ACTIVE_KEY_ID"),
    ):
        crypto.encrypt("value")


def test_key_validation():
    assert crypto.is_valid_key(KEY_A)
    assert not crypto.is_valid_key("too-short")
    assert not crypto.is_valid_key(None)
    assert crypto.is_valid_key_id("2026-11")
    assert not crypto.is_valid_key_id("with:colon")
