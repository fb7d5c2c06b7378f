"""A path off django-slack-oauth: its URL names (``compat.urls``), its settings
(``compat.settings_import``) and its stored tokens (``compat.token_import``), the last two
used by ``slack_installs_import_settings``."""
