"""The `mediation` command: run the parts, manage the store, create API principals."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from core.settings import get_settings
from models.enums import Role

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
principals = typer.Typer(no_args_is_help=True, help="API principals (bearer tokens).")
app.add_typer(principals, name="principals")


def _settings_and_logging():  # type: ignore[no-untyped-def]
    from core.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    return settings


def _check_policy(settings) -> None:  # type: ignore[no-untyped-def]
    """A policy file the service cannot run under stops the process before it starts, with
    the key at fault: cases would otherwise be started under it."""
    from models.policy import PolicyError, load_policy

    try:
        load_policy(settings.policy_file)
    except PolicyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def _check_outbox(settings) -> None:  # type: ignore[no-untyped-def]
    """The outbox's adapter, made once before the worker starts: a gateway the parties'
    numbers may not be sent to stops it with the reason."""
    from worker import notify_sender

    if settings.notify_adapter == "off":
        return
    try:
        notify_sender(settings)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command()
def up() -> None:
    """Start the dev server, migrate, seed, start the worker and the API (Ctrl-C stops all)."""
    from ops.up import run_up

    raise typer.Exit(run_up(_settings_and_logging()))


@app.command()
def migrate() -> None:
    """Apply the database migrations (SQLite or PostgreSQL, from MEDIATION_DATABASE_URL)."""
    from store.migrate import upgrade

    settings = _settings_and_logging()
    upgrade(settings.db_url)
    typer.echo("migrated", err=True)


@app.command("seed")
def seed_cmd() -> None:
    """Load the Hechuan roster (idempotent)."""
    from core.db import make_engine
    from store.seed import seed

    settings = _settings_and_logging()
    orgs, mediators = seed(make_engine(settings.db_url))
    typer.echo(f"seeded {orgs} organisations, {mediators} mediators", err=True)


@app.command()
def worker() -> None:
    """Run a worker (workflows and activities) until SIGINT/SIGTERM."""
    import asyncio

    from core.temporal import exit_without_finalizing
    from worker import run_worker

    settings = _settings_and_logging()
    _check_policy(settings)
    _check_outbox(settings)
    asyncio.run(run_worker(settings))
    exit_without_finalizing()


@app.command()
def api() -> None:
    """Serve the HTTP API with uvicorn."""
    import uvicorn

    from console.app import create_app
    from core.temporal import exit_without_finalizing

    settings = _settings_and_logging()
    _check_policy(settings)
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        access_log=True,
    )
    exit_without_finalizing()


@principals.command("create")
def create_principal_cmd(
    role: Annotated[Role, typer.Option(help="officer, mediator, supervisor or admin")],
    name: Annotated[str, typer.Option(help="who the token is for")],
    org: Annotated[str | None, typer.Option(help="organisation id (mediators)")] = None,
    mediator: Annotated[str | None, typer.Option(help="mediator id (mediators)")] = None,
) -> None:
    """Create a principal; prints its bearer token alone on stdout."""
    from core.db import make_engine
    from store.principals import PrincipalError, create_principal

    settings = _settings_and_logging()
    try:
        _principal, token = create_principal(
            make_engine(settings.db_url), role, name, org, mediator
        )
    except PrincipalError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    sys.stdout.write(token + "\n")


@app.command()
def reseal() -> None:
    """After a key rotation: re-encrypt parties' phone and ID numbers under the active key."""
    from core.db import make_engine
    from store.steps import CaseStore

    settings = _settings_and_logging()
    keyring = settings.keyring()
    changed = CaseStore(make_engine(settings.db_url), keyring).reseal_parties()
    typer.echo(f"resealed {changed} parties under key {keyring.active!r}", err=True)


@app.command()
def rehearse(
    cases: Annotated[int, typer.Option(help="how many cases to drive")] = 120,
    admin_url: Annotated[
        str, typer.Option(help="PostgreSQL where a throwaway case store is created")
    ] = "postgresql+psycopg://postgres@127.0.0.1:5432/test",
) -> None:
    """The deploy/ topology as processes here: 2 workers, 2 APIs, a mixed load, kills."""
    from ops.rehearse import main

    _settings_and_logging()
    raise typer.Exit(main(cases, admin_url))


def _workflow_id(case: str) -> str:
    return case if case.startswith("case-") else f"case-{case}"


@app.command("history")
def history_cmd(
    case: Annotated[str, typer.Argument(help="case id (or its workflow id, case-<id>)")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines for machines")] = False,
) -> None:
    """Tell a case's story from its workflow history: time, what happened, who commanded it."""
    import asyncio

    from rich.console import Console
    from rich.table import Table

    from cases import history
    from core.temporal import connect

    settings = _settings_and_logging()

    async def run() -> list[history.HistoryEntry]:
        client = await connect(settings, settings.keyring())
        runs = await history.fetch(client, _workflow_id(case))
        return await history.summarise_runs(runs, client.data_converter)

    entries = asyncio.run(run())
    if as_json:
        for e in entries:
            sys.stdout.write(e.model_dump_json() + "\n")
        return
    table = Table(title=_workflow_id(case))
    for column in ("run", "#", "time (UTC)", "kind", "what", "by"):
        table.add_column(column)
    for e in entries:
        by = f"{e.actor_id} ({e.actor_role})" if e.actor_role else (e.actor_id or "")
        table.add_row(str(e.run), str(e.event_id), f"{e.at:%Y-%m-%d %H:%M:%S}", e.kind, e.what, by)
    Console(width=160).print(table)


@app.command("export-history")
def export_history_cmd(
    case: Annotated[str, typer.Argument(help="case id (or its workflow id, case-<id>)")],
    output: Annotated[str, typer.Option("-o", "--output", help="file; '-' for stdout")] = "-",
    run_number: Annotated[
        int, typer.Option("--run", help="which run, 1 the first; default the latest")
    ] = 0,
) -> None:
    """Write one run's history as Temporal stores it (`temporal workflow show --output
    json`); a case that continued as new has several (`mediation history` tells them)."""
    import asyncio
    from pathlib import Path

    from cases import history
    from core.temporal import connect

    settings = _settings_and_logging()

    async def run() -> str:
        client = await connect(settings, settings.keyring())
        runs = await history.fetch(client, _workflow_id(case))
        return history.export_json(runs[run_number - 1 if run_number else -1])

    text = asyncio.run(run())
    if output == "-":
        sys.stdout.write(text + "\n")
    else:
        Path(output).write_text(text + "\n", encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)
