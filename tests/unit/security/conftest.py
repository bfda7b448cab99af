"""Fixtures of the key and MAC tests: a fresh keyring."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.security.keys import Keyring, init_keyring


@pytest.fixture
def keys(tmp_path: Path) -> Keyring:
    init_keyring(tmp_path)
    return Keyring(tmp_path)
