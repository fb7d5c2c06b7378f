from __future__ import annotations

import json
import pickle

import pytest
from django import forms
from django.core import serializers
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from slack_installs import crypto
from slack_installs.exceptions import DecryptionError
from slack_installs.fields import Ciphertext, EncryptedTextField
from slack_installs.models import Installation, SlackApp, UserToken
from tests import slack_payloads


def raw_column(table, column, pk):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


@pytest.fixture
def installation(slack_app):
    installation = Installation.objects.create(
        app=slack_app,
        team_id="T1",
        bot_token=slack_payloads.BOT_TOKEN,
        bot_refresh_token=slack_payloads.BOT_REFRESH_TOKEN,
        incoming_webhook_url=slack_payloads.WEBHOOK_URL,
    )
    UserToken.objects.create(
        installation=installation, slack_user_id="U1", access_token=slack_payloads.USER_TOKEN
    )
    return installation


@pytest.mark.django_db
def test_raw_columns_hold_ciphertext_only(installation, slack_app):
    for column, plaintext in [
        ("bot_token", slack_payloads.BOT_TOKEN),
        ("bot_refresh_token", slack_payloads.BOT_REFRESH_TOKEN),
        ("incoming_webhook_url", slack_payloads.WEBHOOK_URL),
    ]:
        raw = raw_column("slack_installs_installation", column, installation.pk)
        assert raw.startswith("f1:k1:")
        assert plaintext not in raw
        assert crypto.decrypt(raw) == plaintext
    raw_secret = raw_column("slack_installs_slackapp", "client_secret", slack_app.pk)
    assert raw_secret.startswith("f1:") and "canary" not in raw_secret
    token = UserToken.objects.get()
    raw_user = raw_column("slack_installs_usertoken", "access_token", token.pk)
    assert raw_user.startswith("f1:") and slack_payloads.USER_TOKEN not in raw_user


@pytest.mark.django_db
def test_reading_decrypts_and_unset_values_stay_null(installation):
    fresh = Installation.objects.get(pk=installation.pk)
    assert fresh.bot_token == slack_payloads.BOT_TOKEN
    assert fresh.__dict__["bot_token"].startswith("f1:")
    Installation.objects.filter(pk=installation.pk).update(bot_token=None)
    assert raw_column("slack_installs_installation", "bot_token", installation.pk) is None
    fresh.bot_token = ""
    fresh.save()
    assert raw_column("slack_installs_installation", "bot_token", installation.pk) is None


@pytest.mark.django_db
def test_values_list_gives_ciphertext_without_decrypting(installation):
    stored = Installation.objects.values_list("bot_token", flat=True).get()
    assert isinstance(stored, Ciphertext)
    assert stored.startswith("f1:")
    with override_settings(SLACK_INSTALLS={"ENCRYPTION_KEYS": {"other": crypto.generate_key()}}):
        # Loading rows never decrypts: only reading the attribute does.
        fresh = Installation.objects.get(pk=installation.pk)
        assert fresh.team_id == "T1"
        with pytest.raises(DecryptionError):
            _ = fresh.bot_token


@pytest.mark.django_db
def test_update_through_queryset_encrypts(installation):
    Installation.objects.filter(pk=installation.pk).update(bot_token="xoxb-updated-plain")
    raw = raw_column("slack_installs_installation", "bot_token", installation.pk)
    assert raw.startswith("f1:") and "updated-plain" not in raw
    assert Installation.objects.get(pk=installation.pk).bot_token == "xoxb-updated-plain"


@pytest.mark.django_db
def test_only_isnull_lookups(installation):
    assert Installation.objects.filter(bot_token__isnull=False).count() == 1
    assert Installation.objects.filter(bot_refresh_token__isnull=True).count() == 0
    with pytest.raises(FieldError):
        list(Installation.objects.filter(bot_token=slack_payloads.BOT_TOKEN))
    with pytest.raises(FieldError):
        list(Installation.objects.filter(bot_token__startswith="xoxb"))


@pytest.mark.django_db
def test_dumpdata_emits_ciphertext_and_loaddata_round_trips(installation, tmp_path, capsys):
    call_command("dumpdata", "slack_installs", indent=1)
    dumped = capsys.readouterr().out
    for secret in [
        slack_payloads.BOT_TOKEN,
        slack_payloads.USER_TOKEN,
        slack_payloads.WEBHOOK_URL,
        "canary-client-secret-5555",
        "canary-signing-secret-6666",
    ]:
        assert secret not in dumped
    rows = json.loads(dumped)
    bot_token = next(r for r in rows if r["model"] == "slack_installs.installation")["fields"][
        "bot_token"
    ]
    assert bot_token.startswith("f1:k1:")

    Installation.objects.all().delete()
    SlackApp.objects.all().delete()
    for obj in serializers.deserialize("json", dumped):
        obj.save()
    restored = Installation.objects.get()
    assert restored.bot_token == slack_payloads.BOT_TOKEN
    assert raw_column("slack_installs_installation", "bot_token", restored.pk) == bot_token


@pytest.mark.django_db
def test_pickled_instance_carries_no_plaintext(installation):
    fresh = Installation.objects.get(pk=installation.pk)
    assert fresh.bot_token == slack_payloads.BOT_TOKEN
    assert slack_payloads.BOT_TOKEN.encode() not in pickle.dumps(fresh)


@pytest.mark.django_db
@pytest.mark.parametrize("model", [SlackApp, Installation, UserToken])
def test_full_clean_leaves_no_plaintext_on_the_instance(installation, model):
    fresh = model.objects.get()
    stored = {
        field.attname: fresh.__dict__[field.attname]
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    }
    fresh.full_clean()  # reads every field, cleans it and sets it back

    blob, state = pickle.dumps(fresh), repr(fresh.__dict__)
    for canary in slack_payloads.CANARIES:
        assert canary.encode() not in blob, canary
        assert canary not in state, canary
    assert {name: fresh.__dict__[name] for name in stored} == stored
    fresh.save()  # the same ciphertext again, not a new encryption of the plaintext
    assert model.objects.filter(pk=fresh.pk).values(*stored).get() == stored
    for name, value in stored.items():
        assert getattr(fresh, name) == (value and crypto.decrypt(value))  # still reads


@pytest.mark.django_db
def test_refresh_from_db_keeps_the_stored_ciphertext(installation):
    before = raw_column("slack_installs_installation", "bot_token", installation.pk)
    installation.refresh_from_db()
    assert installation.__dict__["bot_token"] == before
    installation.save()
    assert raw_column("slack_installs_installation", "bot_token", installation.pk) == before
    assert installation.bot_token == slack_payloads.BOT_TOKEN


def test_formfield_is_a_write_only_optional_input():
    field = Installation._meta.get_field("bot_token").formfield()
    assert isinstance(field, forms.CharField)
    assert not field.required
    assert isinstance(field.widget, forms.PasswordInput)
    assert not field.widget.render_value


@pytest.mark.parametrize("by_position", [False, True])
def test_formfield_takes_djangos_form_class(by_position):
    model_field = Installation._meta.get_field("bot_token")
    field = (
        model_field.formfield(forms.RegexField, regex=r"^xox")
        if by_position
        else model_field.formfield(form_class=forms.RegexField, regex=r"^xox")
    )
    assert isinstance(field, forms.RegexField)
    assert isinstance(field.widget, forms.PasswordInput)
    assert field.clean("xoxb-1") == "xoxb-1"
    with pytest.raises(forms.ValidationError):
        field.clean("not-a-token")
