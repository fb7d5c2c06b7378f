"""A path off django-slack-oauth: its URL names (``compat.urls``) and its settings and
tokens (``compat.django_slack_oauth``, used by ``slack_installs_import_settings``)."""
