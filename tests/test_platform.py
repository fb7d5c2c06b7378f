"""The supported platform, as the package states it, and warnings from our own code."""

from __future__ import annotations

import tomllib
import warnings
from pathlib import Path

import pytest
from django.utils import deprecation

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = "Python 3.11–3.13, Django 5.2, 6.0, 6.1; PostgreSQL, MariaDB/MySQL, SQLite"


def warn_from(module: str, category: type[Warning]) -> None:
    """Raise a warning as if ``module`` had called ``warnings.warn``."""
    filename = module.replace(".", "/") + ".py"
    warnings.warn_explicit("a removal to come", category, filename, 1, module=module)


@pytest.mark.parametrize(
    "category",
    [
        DeprecationWarning,
        PendingDeprecationWarning,
        deprecation.RemovedInNextVersionWarning,  # Django's, for its next feature release
        deprecation.RemovedAfterNextVersionWarning,  # and for the one after
    ],
)
@pytest.mark.parametrize("module", ["slack_installs", "slack_installs.oauth"])
def test_a_deprecation_raised_from_our_code_fails_the_suite(module, category):
    with pytest.raises(category):
        warn_from(module, category)


@pytest.mark.parametrize("module", ["django.db.models", "import_export.admin", "slack_installsx"])
def test_a_deprecation_raised_from_other_code_is_only_reported(module):
    with warnings.catch_warnings(record=True) as caught:
        warn_from(module, DeprecationWarning)
        warn_from(module, PendingDeprecationWarning)
    assert [warning.category for warning in caught] == [
        DeprecationWarning,
        PendingDeprecationWarning,
    ]


def test_the_metadata_names_the_supported_matrix():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"
    assert "django>=5.2" in [dependency.lower() for dependency in project["dependencies"]]
    classifiers = set(project["classifiers"])

    def versions(prefix: str) -> set[str]:
        return {c.removeprefix(prefix) for c in classifiers if c.startswith(prefix)}

    assert versions("Framework :: Django :: ") == {"5.2", "6.0", "6.1"}
    assert versions("Programming Language :: Python :: 3.") == {"11", "12", "13"}
    assert "Typing :: Typed" in classifiers
    assert {"postgres", "mysql"} <= set(project["optional-dependencies"])


def test_the_readme_states_the_requirements():
    readme = (ROOT / "README.md").read_text()
    assert f"**Requirements:** {REQUIREMENTS}." in readme
