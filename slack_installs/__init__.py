"""Run Slack apps for many workspaces from the Django admin."""

from __future__ import annotations

__version__ = "0.1.0"
