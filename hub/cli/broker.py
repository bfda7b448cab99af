"""``hub broker start|stop|status|install|admin-env``: the local development broker.

One KRaft node by default; ``start --nodes 3`` runs a three-node cluster (docs/local-broker.md).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from pydantic import ValidationError

from hub.broker.local import LocalBroker
from hub.cli._common import current_hub, fail
from hub.settings import BrokerSettings

app = typer.Typer(
    help="The local Kafka broker (KRaft, from Maven Central jars): one node, or a cluster of three."
)


@app.command()
def start(
    wipe: Annotated[bool, typer.Option("--wipe", help="Delete the broker's data first.")] = False,
    nodes: Annotated[
        int | None,
        typer.Option(
            "--nodes",
            help="1, or 3 for a three-node cluster (default HUB_BROKER__NODES, else 1).",
        ),
    ] = None,
) -> None:
    """Install (once), start and wait until every node is ready; idempotent."""
    if nodes not in (None, 1, 3):
        # A usage error: one line and exit status 2, as click gives for its own.
        print(f"hub: --nodes {nodes}: 1 (one node) or 3 (a cluster)", file=sys.stderr)
        raise typer.Exit(code=2)
    settings = current_hub().settings.broker
    if nodes is not None:
        try:
            settings = BrokerSettings.model_validate(settings.model_dump() | {"nodes": nodes})
        except ValidationError as exc:
            raise fail(f"--nodes {nodes}: {exc.errors()[0]['msg']}") from None
    status = LocalBroker(settings).start(wipe=wipe)
    print(f"broker {status.describe()}")


@app.command()
def stop() -> None:
    """Stop the broker (every node, one or three) and wait until no JVM of it is left."""
    was_running = current_hub().local_broker().stop()
    print("broker stopped" if was_running else "broker was not running")


@app.command()
def status() -> None:
    """Print whether the broker runs, node by node; exit 1 unless every node runs."""
    state = current_hub().local_broker().status()
    print(f"broker {state.describe()}")
    if not state.running:
        raise typer.Exit(code=1)


@app.command()
def install() -> None:
    """Download the broker's jars into the cache (start does this when needed)."""
    libs = current_hub().local_broker().install()
    jars = sorted(libs.glob("*.jar"))
    if not jars:
        raise fail(f"no jars in {libs}")
    print(f"{len(jars)} jars in {libs}")


@app.command(name="admin-env")
def admin_env() -> None:
    """Print the path of the SASL broker's admin env file (HUB_KAFKA__* lines, mode 0600).

    ``./dev test`` sources it so that the tests run as the super user:
    ``set -a; . "$(hub broker admin-env)"; set +a``. The file holds a password; this
    command prints only where it is.
    """
    hub = current_hub()
    if not hub.settings.broker.sasl:
        raise fail("the local broker runs without SASL (set HUB_BROKER__SASL=true)")
    path = hub.local_broker().admin_env_file
    if not path.exists():
        raise fail(f"{path} does not exist yet; run `hub broker start` first")
    print(path)
