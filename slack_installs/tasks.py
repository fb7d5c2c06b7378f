"""Background work as tasks of Django's Tasks framework, run by the host's ``TASKS`` backend.

``django.tasks`` on Django 6.x; on Django 5.2 its backport, ``django-tasks`` (the
``tasks`` extra). Which backend runs them (django-tasks-db's database backend, RQ,
Celery, ...) is the host's choice in ``TASKS``; the tasks go to its ``default`` alias.
Every argument and result is JSON, as the framework requires, and no result carries a
token or a secret.

* ``refresh_due_tokens``: every due token, ``concurrency`` Slack calls at once, in the
  worker that runs it (the periodic job).
* ``refresh_token``: one token, by kind and primary key. ``manage.py
  slack_installs_refresh_tokens --enqueue`` enqueues one per due token, so every worker
  of the backend shares the work.
* ``check_installations``: ``auth.test`` for every active installation (``health``).
* ``rotate_keys``: one batch of one model re-encrypted under the active key, then the next
  batch enqueued as its own task, until every model is done. A lost chain is resumed by
  enqueuing ``rotate_keys`` again: rows already under the active key are never selected.
* ``cleanup_attempts``: prune the OAuth attempt log (``cleanup``).
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from . import cleanup, health, keyrotation, tokens

# The framework's module: Django 6's own, or on Django 5.2 its backport (same API).
try:
    _framework = importlib.import_module("django.tasks")
except ImportError:
    try:
        _framework = importlib.import_module("django_tasks")
    except ImportError as exc:
        raise ImproperlyConfigured(
            "slack_installs.tasks needs Django 6's django.tasks or, on Django 5.2, its "
            "backport: pip install 'django-slack-installs[tasks]'."
        ) from exc
# Typed loosely on purpose: the stubs of Django 5.2 know neither module.
task: Callable[..., Any] = _framework.task
ImmediateBackend: type = importlib.import_module(
    f"{_framework.__name__}.backends.immediate"
).ImmediateBackend

__all__ = [
    "check_installations",
    "cleanup_attempts",
    "refresh_due_tokens",
    "refresh_token",
    "rotate_keys",
    "runs_in_place",
]


def runs_in_place(task_obj: Any) -> bool:
    """Whether ``task_obj``'s backend runs a task where it is enqueued (ImmediateBackend):
    then ``--enqueue`` would only run the work in the command, in a slower way."""
    return isinstance(task_obj.get_backend(), ImmediateBackend)


def _errors(outcomes: list[tokens.RefreshOutcome]) -> dict[str, int]:
    return dict(Counter(outcome.error for outcome in outcomes if outcome.error))


@task
def refresh_due_tokens(concurrency: int = tokens.DEFAULT_CONCURRENCY) -> dict[str, Any]:
    """Refresh every due bot and user token, ``concurrency`` at once, in this worker."""
    outcomes = tokens.refresh_due_tokens(concurrency=concurrency)
    errors = _errors(outcomes)
    return {
        "due": len(outcomes),
        "refreshed": len(outcomes) - sum(errors.values()),
        "errors": errors,
    }


@task
def refresh_token(kind: str, pk: int) -> dict[str, Any]:
    """Refresh one token (``kind`` "bot": an Installation's; "user": a UserToken's), once:
    under its row's lock, and not at all when someone refreshed it since it was enqueued."""
    outcome = tokens.refresh_one(tokens.DueToken(kind, pk, f"{kind} token #{pk}"))
    return {"kind": kind, "pk": pk, "error": outcome.error}


@task
def check_installations(app: str | None = None, dry_run: bool = False) -> dict[str, Any]:
    """``auth.test`` for every active installation (of the app with slug ``app``)."""
    summary = health.check_installations(app=app, dry_run=dry_run)
    return {
        "checked": summary.checked,
        "alive": summary.alive,
        "revoked": summary.revoked,
        "skipped": summary.skipped,
        "errors": summary.errors,
    }


# A task handed its TaskContext first: which backend (and queue) is running it.
task_with_context: Callable[[Callable[..., Any]], Any] = task(takes_context=True)


@task_with_context
def rotate_keys(
    context: Any,
    model: str = "",
    after_pk: int | str | None = None,
    batch_size: int = keyrotation.DEFAULT_BATCH_SIZE,
) -> dict[str, Any]:
    """Re-encrypt one batch of ``model`` (a label, e.g. "slack_installs.Installation"; the
    first encrypted model when empty) after ``after_pk``, then enqueue the next batch."""
    entries = keyrotation.encrypted_models()
    labels = [entry.label for entry in entries]
    if model and model not in labels:
        raise ValueError(f"{model!r} has no encrypted field; models: {', '.join(labels)}")
    index = labels.index(model) if model else 0
    entry = entries[index]
    report = keyrotation.ModelRotation(label=entry.label, total=0)
    last_pk = keyrotation.rotate_batch(entry, report, after_pk=after_pk, batch_size=batch_size)
    following: dict[str, Any] | None = None
    if last_pk is not None:
        # JSON carries an integer key as is; any other key (a UUID) as its text.
        following = {
            "model": entry.label,
            "after_pk": last_pk if isinstance(last_pk, int) else str(last_pk),
        }
    elif index + 1 < len(entries):
        following = {"model": entries[index + 1].label, "after_pk": None}
    if following is not None:
        # This task as it was enqueued (its backend, queue, priority) takes the next batch.
        context.task_result.task.enqueue(batch_size=batch_size, **following)
    return {
        "model": entry.label,
        "rows": report.done,
        "values_reencrypted": report.values_reencrypted,
        "undecryptable": [str(problem) for problem in report.undecryptable],
        "next": following,
    }


@task
def cleanup_attempts(retention_days: int | None = None, dry_run: bool = False) -> dict[str, int]:
    """Delete expired pending OAuth attempts, old attempts and old handled events."""
    result = cleanup.cleanup_attempts(retention_days=retention_days, dry_run=dry_run)
    return {
        "expired_pending": result.expired_pending,
        "older_than_retention": result.older_than_retention,
        "handled_events": result.handled_events,
    }
