"""Benchmarks of django-slack-installs against the anchors, as ratios measured in one run."""
