"""``hub broker start|stop|status|install|admin-env``: the local single-node development broker."""

from __future__ import annotations

from typing import Annotated

import typer

from hub.cli._common import current_hub, fail

app = typer.Typer(help="The local single-node Kafka broker (KRaft, from Maven Central jars).")


@app.command()
def start(
    wipe: Annotated[bool, typer.Option("--wipe", help="Delete the broker's data first.")] = False,
) -> None:
    """Install (once), start and wait until the broker is ready; idempotent."""
    status = current_hub().local_broker().start(wipe=wipe)
    print(f"broker {status.describe()}")


@app.command()
def stop() -> None:
    """Stop the broker and wait until its JVM has exited."""
    was_running = current_hub().local_broker().stop()
    print("broker stopped" if was_running else "broker was not running")


@app.command()
def status() -> None:
    """Print whether the broker runs; exit 1 when it does not."""
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
