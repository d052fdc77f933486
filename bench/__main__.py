"""`python -m bench` (`make bench BENCH_ARGS=...`): start the system in var/bench/run-<ts>/,
run the phases, print the figures and write them to var/bench/<ts>.json."""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.report import print_report, write_json
from bench.run import run_phases
from bench.system import running_system

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BENCH_DIR = Path("var/bench")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--cases", type=int, default=200, help="saturated mode: cases (200)")
    p.add_argument("--clients", type=int, default=40, help="concurrency C everywhere (40)")
    p.add_argument("--pace", type=float, default=0.16, help="paced rate as a fraction of T")
    p.add_argument("--pace-seconds", type=float, default=60.0, help="paced mode: seconds (60)")
    p.add_argument("--open-cases", type=int, default=1000, help="open cases for memory; 0 skips")
    p.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL case store")
    p.add_argument("--admin-url", default=ADMIN_URL, help="PostgreSQL for --postgres")
    p.add_argument("--list-rows", type=int, default=0, help="synthetic rows to list (postgres)")
    p.add_argument("--list-requests", type=int, default=50, help="requests per list filter")
    p.add_argument("--bare-seconds", type=float, default=10.0, help="bare Temporal: seconds (10)")
    p.add_argument(
        "--dynamic-config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra dev-server dynamic config, beyond make up's (repeatable; experiments only)",
    )
    p.add_argument("--skip-saturated", action="store_true")
    p.add_argument("--skip-paced", action="store_true")
    p.add_argument("--json", type=Path, default=None, help="report path (var/bench/<ts>.json)")
    args = p.parse_args(argv)
    if args.list_rows and not args.postgres:
        p.error("--list-rows needs --postgres")
    if args.clients < 1 or args.cases < 0 or args.open_cases < 0 or args.list_rows < 0:
        p.error("counts must not be negative, and --clients at least 1")
    return args


@contextmanager
def case_store(args: argparse.Namespace) -> Iterator[str | None]:
    """None: SQLite in the run dir; else a throwaway PostgreSQL database's URL."""
    if not args.postgres:
        yield None
        return
    from ops.pgtemp import throwaway_postgres

    with throwaway_postgres(args.admin_url, "bench") as url:
        yield url


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    console = Console(soft_wrap=True)
    if not console.is_terminal:  # piped or logged: wide enough for the tables, not 80
        console = Console(soft_wrap=True, width=160)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = (BENCH_DIR / f"run-{stamp}").resolve()
    json_path: Path = args.json or BENCH_DIR / f"{stamp}.json"

    def say(line: str) -> None:
        console.print(f"[dim]{datetime.now().strftime('%H:%M:%S')}[/] {line}")

    report: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(),
        "store": "postgresql" if args.postgres else "sqlite",
        "run_dir": str(run_dir),
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }
    try:
        with (
            case_store(args) as db_url,
            running_system(run_dir, db_url, say, tuple(args.dynamic_config)) as system,
        ):
            report.update(asyncio.run(run_phases(system, args, say)))
            say("stopping the system")
    except KeyboardInterrupt:
        console.print("[red]interrupted; every child stopped")
        return 130
    except RuntimeError as exc:
        console.print(f"[red]{exc}[/] (logs: {run_dir / 'logs'})")
        return 1
    report["finished_at"] = datetime.now(UTC).isoformat()
    print_report(report, console)
    write_json(report, json_path)
    console.print(f"report written to [bold]{json_path.resolve()}[/]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
