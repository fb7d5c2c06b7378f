"""What every management command of the app has in common: typed keyword-only options."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from django.core.management import find_commands, load_command_class
from django.core.management.base import BaseCommand

import slack_installs

COMMANDS = sorted(find_commands(str(Path(slack_installs.__file__).parent / "management")))


def own_options(command: BaseCommand, name: str) -> set[str]:
    """The ``dest`` of each option the command adds to Django's own."""
    base = {action.dest for action in BaseCommand().create_parser("manage.py", name)._actions}
    return {action.dest for action in command.create_parser("manage.py", name)._actions} - base


def test_every_command_of_the_app_is_listed():
    assert "slack_installs_rotate_keys" in COMMANDS and len(COMMANDS) >= 6


@pytest.mark.parametrize("name", COMMANDS)
def test_handle_takes_each_option_as_a_typed_keyword_only_argument(name):
    command = load_command_class("slack_installs", name)
    parameters = inspect.signature(type(command).handle).parameters
    keyword_only = {
        parameter.name: parameter.annotation
        for parameter in parameters.values()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    }
    assert set(keyword_only) == own_options(command, name)
    assert inspect.Parameter.empty not in keyword_only.values()
    assert parameters["options"].kind is inspect.Parameter.VAR_KEYWORD  # verbosity and the rest
