"""`hub connectors import`: same validation as HTTP, a report, exit 1 when any is rejected."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

from hub.security.keys import init_keyring
from hub.settings import KafkaSettings
from schemas.wire import MessageReceived
from tests.commands import run_hub
from tests.e2e.processes import hub_env
from tests.integration.ingestkit import EXAMPLES
from tests.integration.routerkit import read_topic


def run_import(env: dict[str, str], partner: str, path: Path) -> subprocess.CompletedProcess[str]:
    return run_hub("connectors", "import", partner, str(path), env=env | {"COLUMNS": "200"})


class TestImport:
    def test_csv_batch_imports_and_reimport_writes_nothing(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        """Every notification of the CSV lands once; importing again adds nothing."""
        init_keyring(tmp_path / "keys")
        env = hub_env(hub_topics, tmp_path)
        batch = EXAMPLES / "police" / "batch.csv"
        first = run_import(env, "police", batch)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "import summary" in first.stdout
        inbound = asyncio.run(read_topic(hub_topics, "partner.police.inbound", idle_s=1.5))
        assert inbound
        second = run_import(env, "police", batch)
        assert second.returncode == 0
        again = asyncio.run(read_topic(hub_topics, "partner.police.inbound", idle_s=1.5))
        assert len(again) == len(inbound)

    def test_rejected_records_are_reported_and_exit_is_one(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        """A file with one bad record: the good ones land, the bad one is named, exit 1."""
        init_keyring(tmp_path / "keys")
        env = hub_env(hub_topics, tmp_path)
        good = json.loads((EXAMPLES / "police" / "notification-domestic-abuse.json").read_bytes())
        bad = dict(good, reference="47/BAD/1", risk_grade="Purple")
        other = dict(good, reference="47/GOOD/2")
        path = tmp_path / "export.json"
        path.write_text(json.dumps([good, bad, other]))
        done = run_import(env, "police", path)
        assert done.returncode == 1
        assert "item 1" in done.stdout
        assert "risk_grade" in done.stdout
        inbound = asyncio.run(read_topic(hub_topics, "partner.police.inbound", idle_s=1.5))
        refs = {
            MessageReceived.model_validate_json(r.value).metadata.partner_reference for r in inbound
        }
        assert refs == {good["reference"], "47/GOOD/2"}
