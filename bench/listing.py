"""The case list at scale (PostgreSQL only): synthetic rows by COPY, VACUUM ANALYZE, then the
latency of `GET /api/v1/cases` under each filter, as a supervisor and as an organisation's
mediator. No indexes are added here: the figures show what the migrations give."""

from __future__ import annotations

import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import psycopg
from sqlalchemy import make_url

from bench.stats import latency_summary
from models.enums import Channel, DisputeType
from store.seed import ORGS, STREETS, TOWNS, mediator_id

MEDIATOR_ORG = "fe-sanmiao-qijian"
STATUSES = {
    "closed": 80,
    "follow_up": 6,
    "in_mediation": 8,
    "awaiting_acceptance": 4,
    "awaiting_supervisor": 1,
    "registered": 1,
}
RISKS = {"green": 85, "yellow": 12, "red": 3}
COLUMNS = (
    "id, case_no, workflow_id, status, dispute_type, channel, risk_level, town, community, "
    "summary, non_public, org_id, mediator_id, outcome, overdue, last_seq, state, policy, "
    "created_at, updated_at, closed_at"
)
# name → query parameters; each is asked as the supervisor and as MEDIATOR_ORG's mediator
FILTERS: dict[str, dict[str, str | int]] = {
    "none": {},
    "none, page 50": {"page": 50},
    "status": {"status": "in_mediation"},
    "dispute_type": {"dispute_type": "labor"},
    "org_id": {"org_id": MEDIATOR_ORG},
    "mediator_id": {"mediator_id": mediator_id(MEDIATOR_ORG, 0)},
    "town": {"town": "三庙镇"},
    "risk_level": {"risk_level": "red"},
    "overdue": {"overdue": "true"},
}


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _row(rng: random.Random, i: int, now: datetime) -> tuple[Any, ...]:
    org = rng.choice(ORGS)
    status = _weighted(rng, STATUSES)
    assigned = status not in ("registered", "awaiting_supervisor")
    created = now - timedelta(seconds=rng.uniform(0, 3 * 365 * 86400))
    closed = status == "closed"
    cid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return (
        cid,
        f"BENCH-{i:08d}",
        f"case-{cid}",
        status,
        rng.choice(list(DisputeType)).value,
        rng.choice(list(Channel)).value,
        _weighted(rng, RISKS),
        org.town or rng.choice((*STREETS, *TOWNS)),
        org.community,
        "合成案件",
        False,
        org.id if assigned else None,
        mediator_id(org.id, rng.randrange(len(org.mediators))) if assigned else None,
        rng.choice(("resolved", "terminated", "withdrawn")) if closed else None,
        (not closed) and rng.random() < 0.2,
        3,
        json.dumps({"synthetic": True, "status": status}),
        json.dumps({}),
        created,
        created + timedelta(days=rng.uniform(0, 30)),
        created + timedelta(days=rng.uniform(1, 60)) if closed else None,
    )


def fill_cases(db_url: str, rows: int, seed: int = 20240601) -> float:
    """COPY `rows` synthetic cases into the store and VACUUM ANALYZE it; returns the seconds
    taken."""
    conninfo = make_url(db_url).set(drivername="postgresql").render_as_string(False)
    rng = random.Random(seed)
    now = datetime.now(UTC)
    started = time.monotonic()
    with psycopg.connect(conninfo) as conn:
        with conn.cursor() as cur, cur.copy(f"COPY cases ({COLUMNS}) FROM STDIN") as copy:
            for i in range(rows):
                copy.write_row(_row(rng, i, now))
        conn.commit()
        conn.autocommit = True
        # As autovacuum leaves a table that has settled: statistics, and the visibility map
        # that lets the list's count read its index alone.
        conn.execute("VACUUM ANALYZE cases")
    return time.monotonic() - started


async def time_listing(
    http: aiohttp.ClientSession, api_url: str, tokens: dict[str, str], requests: int
) -> dict[str, dict[str, dict[str, Any]]]:
    """principal → filter → {n, p50_ms, p99_ms, total}: `requests` sequential requests each,
    after one untimed request."""
    who = {"supervisor": tokens["supervisor"], f"mediator of {MEDIATOR_ORG}": tokens[MEDIATOR_ORG]}
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for principal, token in who.items():
        out[principal] = {}
        headers = {"Authorization": f"Bearer {token}"}
        for name, params in FILTERS.items():
            seconds: list[float] = []
            total, errors = None, 0
            query = {"page_size": 20, **params}
            # One untimed request first: the cold one reads the index from disk and plans.
            async with http.get(f"{api_url}/api/v1/cases", params=query, headers=headers) as r:
                await r.read()
            for _ in range(requests):
                started = time.monotonic()
                async with http.get(f"{api_url}/api/v1/cases", params=query, headers=headers) as r:
                    body = await r.json() if r.ok else None
                if body is not None:
                    seconds.append(time.monotonic() - started)
                    total = body["total"]
                else:
                    errors += 1
            out[principal][name] = {**latency_summary(seconds), "total": total, "errors": errors}
    return out
