"""Optional integrations with other Slack libraries; each needs its own extra."""
