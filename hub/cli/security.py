"""``hub security apply|check|acls|credentials|rotate``: Kafka principals as code."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.bootstrap import Hub
from hub.broker.topics import load_topics_file
from hub.cli._common import current_hub, fail
from hub.security.credentials import apply_security, broker_acls, rotate_credential
from hub.security.passwords import (
    SecretStore,
    credential_env,
    new_password,
    read_secret,
    write_secret,
)
from hub.security.principals import Principal, load_principals_file
from hub.settings import KafkaSettings

app = typer.Typer(help="Kafka principals, credentials and ACLs (deploy/principals.yaml).")

FileOption = Annotated[
    Path | None, typer.Option("--file", help="The principals file (default: settings).")
]
SecretsOption = Annotated[
    Path | None,
    typer.Option("--secrets-dir", help="Where principals' passwords are kept (default: settings)."),
]


def _principals(hub: Hub, path: Path | None) -> list[Principal]:
    settings = hub.settings
    topics = load_topics_file(settings.topics.file, settings.topics.profile)
    return load_principals_file(path or settings.security.principals_file, [t.name for t in topics])


def _store(hub: Hub, directory: Path | None) -> SecretStore:
    return SecretStore(directory or hub.settings.security.secrets_dir)


def _admin_kafka(hub: Hub) -> KafkaSettings:
    """The super user's settings: HUB_KAFKA__*, or the local SASL broker's admin."""
    kafka = hub.settings.kafka
    if kafka.username is None and hub.settings.broker.sasl:
        return hub.local_broker().admin_kafka_settings(kafka)
    return kafka


@app.command()
def apply(
    file: FileOption = None,
    secrets_dir: SecretsOption = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="Also remove ACLs the file does not grant.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show, do not change.")] = False,
) -> None:
    """Create missing credentials and ACLs, as the super user; idempotent."""
    hub = current_hub()
    principals = _principals(hub, file)
    changes = asyncio.run(
        apply_security(
            principals, _admin_kafka(hub), _store(hub, secrets_dir), prune=prune, dry_run=dry_run
        )
    )
    table = Table(title="principals" + (" (dry run)" if dry_run else ""))
    for column in ("principal", "credential", "ACLs added", "ACLs removed"):
        table.add_column(column)
    for change in changes:
        table.add_row(
            change.principal,
            change.credential,
            "\n".join(b.grant() for b in change.added),
            "\n".join(b.grant() for b in change.removed),
        )
    Console().print(table)


@app.command()
def check(file: FileOption = None) -> None:
    """Validate the principals file against the topics file, without touching Kafka."""
    principals = _principals(current_hub(), file)
    grants = sum(len(p.grants) for p in principals)
    print(f"{file}: {len(principals)} principals, {grants} grants, valid")


@app.command()
def acls(file: FileOption = None) -> None:
    """List the ACLs the broker holds for the file's principals."""
    hub = current_hub()
    held = asyncio.run(broker_acls(_admin_kafka(hub), _principals(hub, file)))
    for binding in sorted(held, key=lambda b: (b.principal, b)):
        print(binding.describe())


@app.command()
def credentials(
    principal: Annotated[str, typer.Argument(help="The principal, e.g. connector-police.")],
    secrets_dir: SecretsOption = None,
) -> None:
    """Print HUB_KAFKA__USERNAME/PASSWORD lines for one principal (this shows a secret)."""
    hub = current_hub()
    store = _store(hub, secrets_dir)
    password = store.get(principal)
    if password is None and hub.settings.broker.sasl:
        admin = hub.local_broker().admin_kafka_settings()
        if principal == admin.username:
            password = admin.password
    if password is None:
        raise fail(f"no password for {principal} in {secrets_dir}; run `hub security apply`")
    print(credential_env(principal, password), end="")


@app.command()
def rotate(
    principal: Annotated[str, typer.Argument(help="The principal, e.g. connector-police.")],
    file: FileOption = None,
    secrets_dir: SecretsOption = None,
) -> None:
    """Issue a new password for one principal; restart its processes with the new one."""
    hub = current_hub()
    found = {p.name: p for p in _principals(hub, file)}
    if principal not in found:
        raise fail(f"unknown principal {principal} (known: {', '.join(sorted(found))})")
    store = _store(hub, secrets_dir)
    asyncio.run(rotate_credential(found[principal], _admin_kafka(hub), store))
    print(f"{principal}: new password stored in {store.path(principal)}")


@app.command(name="compose-files")
def compose_files(
    out: Annotated[Path, typer.Option(help="Where compose.yaml reads its secrets.")] = Path(
        ".hub/compose"
    ),
) -> None:
    """Write the Kafka admin secrets compose.yaml mounts (kept if they exist; mode 0600)."""
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    admin_file = out / "kafka_admin"
    if not admin_file.exists():
        write_secret(admin_file, new_password() + "\n")
    password = read_secret(admin_file)
    write_secret(
        out / "kafka_jaas.conf",
        "sasl_plaintext.KafkaServer {\n"
        "  org.apache.kafka.common.security.scram.ScramLoginModule required\n"
        f'  username="admin" password="{password}";\n'
        "};\n"
        "controller.KafkaServer {\n"
        "  org.apache.kafka.common.security.plain.PlainLoginModule required\n"
        f'  username="admin" password="{password}" user_admin="{password}";\n'
        "};\n",
    )
    write_secret(
        out / "kafka_client.properties",
        "security.protocol=SASL_PLAINTEXT\n"
        "sasl.mechanism=SCRAM-SHA-256\n"
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="admin" password="{password}";\n',
    )
    print(f"compose secrets in {out}: kafka_admin, kafka_jaas.conf, kafka_client.properties")
