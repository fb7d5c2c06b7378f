"""Benchmarks of django-slack-installs: ``python -m bench [name] [options]``."""
