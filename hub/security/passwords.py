"""The Kafka principals' passwords: generated once, kept one file each, never logged.

Passwords are generated here into a secrets directory (one file per principal, mode
0600, in a directory only this user can enter) and are never printed or logged;
``hub security credentials`` is the one deliberate way to read one.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from pydantic import SecretStr

from hub.errors import KeyMaterialError
from hub.settings import PROJECT_ROOT, KafkaSettings

DEFAULT_SECRETS_DIR = PROJECT_ROOT / ".hub" / "secrets" / "kafka"
"""Where generated passwords are kept, one file per principal (outside git)."""


def new_password() -> str:
    """A fresh random password (URL-safe: fits SCRAM, JAAS and ``--add-scram`` unquoted)."""
    return secrets.token_urlsafe(32)


def write_secret(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by this user only, replacing it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_secret(path: Path) -> str:
    """Return the first line of a secret file."""
    return path.read_text().strip()


class SecretStore:
    """The principals' passwords: one file each in a directory only this user can enter."""

    def __init__(self, directory: Path = DEFAULT_SECRETS_DIR) -> None:
        self.directory = directory

    def path(self, principal: str) -> Path:
        """The file that holds ``principal``'s password."""
        return self.directory / principal

    def get(self, principal: str) -> SecretStr | None:
        """The stored password of ``principal``, or None when none was issued."""
        try:
            return SecretStr(read_secret(self.path(principal)))
        except FileNotFoundError:
            return None

    def require(self, principal: str) -> SecretStr:
        """The stored password of ``principal``; a missing one is a configuration error."""
        password = self.get(principal)
        if password is None:
            raise KeyMaterialError(
                f"no Kafka password for {principal} in {self.directory}; "
                "run `hub security apply` to issue one"
            )
        return password

    def put(self, principal: str, password: SecretStr) -> None:
        """Store ``password`` as ``principal``'s (mode 0600, directory 0700)."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_secret(self.path(principal), password.get_secret_value() + "\n")


def principal_settings(kafka: KafkaSettings, principal: str, store: SecretStore) -> KafkaSettings:
    """``kafka`` authenticated as ``principal`` (unchanged when ``kafka`` is not SASL)."""
    if not kafka.security_protocol.startswith("SASL"):
        return kafka
    return kafka.model_copy(update={"username": principal, "password": store.require(principal)})


def credential_env(principal: str, password: SecretStr) -> str:
    """The ``HUB_KAFKA__`` lines that make a process authenticate as ``principal``."""
    return f"HUB_KAFKA__USERNAME={principal}\nHUB_KAFKA__PASSWORD={password.get_secret_value()}\n"
