"""The export benchmark's pieces still run and agree (the timings themselves are not tested)."""

from __future__ import annotations

import csv
import io

from bench import export
from bench.harness import Result, format_table
from slack_installs.models import Installation
from slack_installs.resources import InstallationResource


def test_both_exports_cover_the_same_rows(db):
    export.seed(30)
    ours = io.StringIO()
    for chunk in InstallationResource().stream_csv(Installation.objects.all()):
        ours.write(chunk.decode())
    assert len(list(csv.reader(io.StringIO(ours.getvalue())))) == 31
    assert export.export_ours() > export.export_floor() > 0
    assert export.export_baseline() > 0
    assert Installation.objects.filter(user_tokens__isnull=False).count() == 3


def test_table_marks_missed_targets():
    table = format_table(
        [
            Result("export", "time", 1.0, 10.0, "s", 0.3),
            Result("export", "memory", 5.0, 10.0, "MiB", 0.3),
            Result("export", "tokens decrypted", 0, None, "", 0),
        ]
    )
    lines = table.splitlines()
    assert lines[2].split("|")[-2].strip() == "yes" and "0.10×" in lines[2]
    assert lines[3].split("|")[-2].strip() == "NO" and "0.50×" in lines[3]
    assert lines[4].split("|")[-2].strip() == "yes"
