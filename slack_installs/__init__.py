"""Run Slack apps for many workspaces from the Django admin."""

__version__ = "0.1.0"
