"""The `mediation` command: run the parts, manage the store, create API principals."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from core.settings import Settings, get_settings
from models.enums import ErasureBasis, Role

if TYPE_CHECKING:
    from core.envelope import DataKeys

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
    """Apply the database migrations (SQLite or PostgreSQL, from MEDIATION_DATABASE_URL),
    then seal with each case's data key what older releases stored in clear."""
    from store.migrate import upgrade
    from store.sealing import seal_legacy

    settings = _settings_and_logging()
    upgrade(settings.db_url)
    keys = _keys(settings)
    sealed = seal_legacy(keys.engine, keys)  # type: ignore[arg-type]
    typer.echo(f"migrated; sealed {sealed} older cases" if sealed else "migrated", err=True)


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
    from core.memory import settle_heap
    from core.temporal import exit_without_finalizing

    settings = _settings_and_logging()
    _check_policy(settings)
    app = create_app(settings)
    settle_heap()
    uvicorn.run(
        app,
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        access_log=True,
    )
    exit_without_finalizing()


DaysOption = Annotated[
    int | None,
    typer.Option(
        "--expires-in-days",
        min=1,
        max=3650,
        help="how long the token lasts (default: MEDIATION_TOKEN_DAYS, 90)",
    ),
]


def _principals_store(days: int | None = None):  # type: ignore[no-untyped-def]
    """The store's engine, and a new token's lifetime (`days`, else the setting's)."""
    from core.db import make_engine

    settings = _settings_and_logging()
    return make_engine(settings.db_url), days or settings.token_days


@principals.command("create")
def create_principal_cmd(
    role: Annotated[Role, typer.Option(help="officer, mediator, supervisor or admin")],
    name: Annotated[str, typer.Option(help="who the token is for")],
    org: Annotated[
        str | None, typer.Option(help="organisation id (a mediator's: taken from --mediator)")
    ] = None,
    mediator: Annotated[
        str | None, typer.Option(help="mediator id (required for a mediator)")
    ] = None,
    expires_in_days: DaysOption = None,
) -> None:
    """Create a principal; prints its bearer token alone on stdout."""
    from store.principals import PrincipalError, create_principal

    engine, days = _principals_store(expires_in_days)
    try:
        _principal, token = create_principal(engine, role, name, org, mediator, days)
    except PrincipalError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    sys.stdout.write(token + "\n")


@principals.command("list")
def list_principals_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines for machines")] = False,
) -> None:
    """Who holds what: id, name, role, organisation, mediator, dates and state. Never a
    token or its hash."""
    import json

    from rich.console import Console
    from rich.table import Table

    from models.tables import utcnow
    from store.principals import list_principals, state_of

    now = utcnow()
    rows = [
        {
            "id": p.id,
            "name": p.name,
            "role": p.role,
            "org_id": p.org_id,
            "mediator_id": p.mediator_id,
            "created_at": p.created_at.isoformat(timespec="seconds"),
            "expires_at": p.expires_at.isoformat(timespec="seconds"),
            "revoked_at": p.revoked_at.isoformat(timespec="seconds") if p.revoked_at else None,
            "state": state_of(p, now),
        }
        for p in list_principals(_principals_store()[0])
    ]
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    table = Table(title="principals")
    for column in ("id", "name", "role", "org", "mediator", "created", "expires", "state"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["id"],
            row["name"],
            row["role"],
            row["org_id"] or "",
            row["mediator_id"] or "",
            str(row["created_at"])[:10],
            str(row["expires_at"])[:10],
            str(row["state"]),
        )
    Console(width=160).print(table)


@principals.command("revoke")
def revoke_principal_cmd(
    principal_id: Annotated[str, typer.Argument(help="the principal's id (p-…)")],
) -> None:
    """Refuse the principal's token from now on and end its console and codec sessions;
    API processes that cached it refuse it within 10 seconds."""
    from store.principals import UnknownPrincipal, revoke_principal

    try:
        revoke_principal(_principals_store()[0], principal_id)
    except UnknownPrincipal as exc:
        typer.echo(f"error: no principal {principal_id!r}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"revoked {principal_id}", err=True)


@principals.command("rotate")
def rotate_principal_cmd(
    principal_id: Annotated[str, typer.Argument(help="the principal's id (p-…)")],
    expires_in_days: DaysOption = None,
) -> None:
    """A new token for the same principal (id, role, scope), printed alone on stdout; the
    old one stops working (in API processes that cached it, within 10 seconds)."""
    from store.principals import PrincipalRevoked, UnknownPrincipal, rotate_principal

    engine, days = _principals_store(expires_in_days)
    try:
        _principal, token = rotate_principal(engine, principal_id, days)
    except UnknownPrincipal as exc:
        typer.echo(f"error: no principal {principal_id!r}", err=True)
        raise typer.Exit(2) from exc
    except PrincipalRevoked as exc:
        typer.echo(f"error: {principal_id} is revoked; create a new principal", err=True)
        raise typer.Exit(2) from exc
    sys.stdout.write(token + "\n")


def _keys(settings: Settings) -> DataKeys:
    """The cases' data keys, in the configured store, under the configured keyring."""
    from core.db import make_engine
    from core.envelope import DataKeys

    return DataKeys(settings.keyring(), make_engine(settings.db_url))


@app.command()
def erase(
    case: Annotated[str, typer.Argument(help="case id (or its workflow id, case-<id>)")],
    reason: Annotated[ErasureBasis, typer.Option(help="the legal basis of the erasure")],
) -> None:
    """Erase a closed case's personal data now, as the retention schedule does (DESIGN §9):
    its data key is destroyed and its personal fields become tombstones."""
    import asyncio

    from sqlmodel import Session

    from core.temporal import connect
    from models.tables import Case
    from store.erasure import (
        STILL_RUNNING,
        NotErasable,
        erase_case,
        why_not_erasable,
        workflow_finished,
    )

    settings = _settings_and_logging()
    keys = _keys(settings)
    assert keys.engine is not None
    workflow_id = _workflow_id(case)
    case_id = workflow_id.removeprefix("case-")

    def refuse(why: str) -> NoReturn:
        typer.echo(f"not erased: {why}", err=True)
        raise typer.Exit(1)

    with Session(keys.engine) as s:
        row = s.get(Case, case_id)
    if row is None:
        refuse("no such case")
    if (why := why_not_erasable(row)) is not None:
        refuse(why)

    async def finished() -> bool:
        return await workflow_finished(await connect(settings, keys), workflow_id)

    if row.erased_at is None and not asyncio.run(finished()):
        refuse(STILL_RUNNING)
    try:
        done = erase_case(keys.engine, keys, case_id, reason, "cli", audit=True)
    except NotErasable as exc:
        refuse(str(exc))
    when = f"{done.erased_at:%Y-%m-%d %H:%M} UTC"
    typer.echo(f"{'already erased' if done.already else 'erased'} at {when}", err=True)


@app.command()
def rewrap() -> None:
    """After a keyring rotation: wrap every case's data key with the new active key, so the
    old key can leave the ring. The cases' data is not re-encrypted."""
    keys = _keys(_settings_and_logging())
    changed = keys.rewrap()
    typer.echo(f"rewrapped {changed} data keys under key {keys.keyring.active!r}", err=True)


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
        client = await connect(settings, _keys(settings))
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
        client = await connect(settings, _keys(settings))
        runs = await history.fetch(client, _workflow_id(case))
        return history.export_json(runs[run_number - 1 if run_number else -1])

    text = asyncio.run(run())
    if output == "-":
        sys.stdout.write(text + "\n")
    else:
        Path(output).write_text(text + "\n", encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)
