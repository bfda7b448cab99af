"""Reading native bytes: the checks every connector's parser is built from."""

from __future__ import annotations

from connectors.native import duplicate_key_errors


class TestDuplicateKeys:
    def test_nested_duplicates_and_clean_documents(self) -> None:
        """Duplicates at any depth are found; distinct keys and invalid JSON are not errors here."""
        assert duplicate_key_errors('{"a": {"b": 1, "b": 2}}')
        assert duplicate_key_errors('{"a": 1, "b": [{"a": 1}, {"a": 2}]}') == []
        assert duplicate_key_errors("{not json") == []
