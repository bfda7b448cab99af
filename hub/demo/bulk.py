"""A police CSV batch of a chosen size, for load: the batch-upload bench and test.

The documented example batch (``docs/formats/examples/police/batch.csv``) is repeated,
each copy with references of its own, so every notification in it is new to the hub.
"""

from __future__ import annotations

import csv
import io
from typing import NamedTuple

from hub.settings import PROJECT_ROOT

EXAMPLE_BATCH = PROJECT_ROOT / "docs" / "formats" / "examples" / "police" / "batch.csv"


class CsvBatch(NamedTuple):
    """A police CSV batch and what it holds."""

    body: bytes
    copies: int
    """Copies of the example batch."""
    notifications: int
    """Notifications in all (rows sharing a reference are one notification)."""


def police_csv_batch(size: int, run: str) -> CsvBatch:
    """A valid police CSV batch of just under ``size`` bytes, its references marked ``run``."""
    header, *rows = EXAMPLE_BATCH.read_text().splitlines()
    references = {next(csv.reader(io.StringIO(row)))[0] for row in rows}
    stem = next(iter(references)).rsplit("/", 1)[0]  # "47/2026"
    out = io.StringIO()
    out.write(header + "\n")
    copies = 0
    while True:
        block = "".join(
            row.replace(f"{stem}/1200", f"{stem}/{run}{copies:07d}") + "\n" for row in rows
        )
        if out.tell() + len(block) > size:
            break
        out.write(block)
        copies += 1
    return CsvBatch(out.getvalue().encode(), copies, copies * len(references))
