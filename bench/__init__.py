"""Benchmarks of django-slack-installs against the anchors: ``python -m bench``.

Every figure is a ratio against a baseline measured in the same run on the same
machine, because absolute times drift on a shared machine. Each benchmark module
has ``run(argv) -> list[Result]``; ``bench/harness.py`` holds what they share.
"""
