"""Rotating an app's client secret and signing secret.

Both live in the database, so a rotation reaches every worker with its next query.
The signing secret keeps its predecessor for ``SIGNING_SECRET_GRACE_PERIOD``
seconds, so events Slack signs while its configuration and ours are being switched
still verify.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import Any

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from .conf import app_settings
from .models import SlackApp

MAX_SECRET_LENGTH = 200


@sensitive_variables()  # tokens and secrets stay out of error reports
def clean_secret(value: str) -> str:
    """The secret as pasted from Slack's app config, or ``ValueError`` saying what is wrong."""
    secret = (value or "").strip()
    if not secret:
        raise ValueError("Enter the new secret.")
    if len(secret) > MAX_SECRET_LENGTH:
        raise ValueError(f"A secret is at most {MAX_SECRET_LENGTH} characters long.")
    if any(char.isspace() or not char.isprintable() for char in secret):
        raise ValueError("A secret contains no spaces or control characters.")
    return secret


def _log_change(app: SlackApp, user: Any, field_label: str) -> None:
    # The message names the field only; the value never reaches the log.
    if user is None or not getattr(user, "pk", None):
        return
    LogEntry.objects.create(
        user_id=user.pk,
        content_type_id=ContentType.objects.get_for_model(SlackApp).pk,
        object_id=str(app.pk),
        object_repr=str(app)[:200],
        action_flag=CHANGE,
        change_message=json.dumps([{"changed": {"fields": [field_label]}}]),
    )


def _copy_to(app: SlackApp, locked: SlackApp, names: list[str]) -> None:
    for name in names:
        app.__dict__[name] = locked.__dict__[name]


@sensitive_variables()  # tokens and secrets stay out of error reports
def rotate_client_secret(app: SlackApp, new_secret: str, *, user: Any = None) -> SlackApp:
    """Replace the client secret at once; the next code exchange or refresh uses it."""
    secret = clean_secret(new_secret)
    now = timezone.now()
    with transaction.atomic():
        locked = SlackApp.objects.select_for_update().get(pk=app.pk)
        locked.client_secret = secret
        locked.client_secret_rotated_at = now
        changed = ["client_secret", "client_secret_rotated_at", "updated_at"]
        locked.save(update_fields=changed)
        _log_change(locked, user, "Client secret")
    _copy_to(app, locked, changed)
    return app


@sensitive_variables()  # tokens and secrets stay out of error reports
def rotate_signing_secret(app: SlackApp, new_secret: str, *, user: Any = None) -> SlackApp:
    """Make ``new_secret`` the signing secret; the old one verifies until the grace period ends.

    Only one previous secret is kept: rotating again within the grace period drops
    the oldest one.
    """
    secret = clean_secret(new_secret)
    now = timezone.now()
    grace = app_settings.SIGNING_SECRET_GRACE_PERIOD
    with transaction.atomic():
        locked = SlackApp.objects.select_for_update().get(pk=app.pk)
        # The stored form moves as it is: no need to decrypt the old secret.
        previous = locked.__dict__.get("signing_secret")
        keep_previous = previous is not None and grace > 0
        locked.__dict__["previous_signing_secret"] = previous if keep_previous else None
        locked.previous_signing_secret_expires_at = (
            now + datetime.timedelta(seconds=grace) if keep_previous else None
        )
        locked.signing_secret = secret
        locked.signing_secret_rotated_at = now
        changed = [
            "signing_secret",
            "previous_signing_secret",
            "previous_signing_secret_expires_at",
            "signing_secret_rotated_at",
            "updated_at",
        ]
        locked.save(update_fields=changed)
        _log_change(locked, user, "Signing secret")
    _copy_to(app, locked, changed)
    return app


# The one way to change each secret, by field name: the rotate pages and the app's change
# form both go through these.
ROTATIONS: dict[str, Callable[..., SlackApp]] = {
    "client_secret": rotate_client_secret,
    "signing_secret": rotate_signing_secret,
}


@sensitive_variables()  # tokens and secrets stay out of error reports
def signing_secrets(app: SlackApp, *, now: datetime.datetime | None = None) -> list[str]:
    """The secrets an event signature may use now: the current one, then the previous one."""
    now = now or timezone.now()
    secrets = [app.signing_secret] if app.signing_secret else []
    expires_at = app.previous_signing_secret_expires_at
    if expires_at is not None and now < expires_at and app.previous_signing_secret:
        secrets.append(app.previous_signing_secret)
    return secrets
