"""``--enqueue`` of the commands: find the task, check that a backend with workers will run it,
and turn the Tasks framework's configuration errors into a command's clear error."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError


def background_task(name: str) -> Any:
    """The task ``slack_installs.tasks.<name>``, once its backend is known to queue work."""
    try:
        from slack_installs import tasks
    except ImproperlyConfigured as exc:  # Django 5.2 without the backport
        raise CommandError(str(exc)) from exc
    task = getattr(tasks, name)
    try:
        in_place = tasks.runs_in_place(task)
    except ImproperlyConfigured as exc:  # a TASKS entry that names no usable backend
        raise CommandError(f"The tasks backend {task.backend!r} cannot be used: {exc}") from exc
    if in_place:
        raise CommandError(
            f"The tasks backend {task.backend!r} is the ImmediateBackend, which runs a task "
            "where it is enqueued: --enqueue would only do the work here. Run the command "
            "without --enqueue, or set TASKS to a backend with workers (docs/tasks.md)."
        )
    return task


def enqueued(task: Any, **arguments: Any) -> str:
    """Enqueue ``task``; a line saying where it went and its id."""
    result = task.enqueue(**arguments)
    return f"Enqueued {task.name} on the {task.backend!r} tasks backend (id {result.id})."
