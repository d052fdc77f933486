"""The happy path over HTTP, one case at a time (intake → the assigned organisation's
mediator reads, accepts, records the agreement and the follow-up → closed), and the three
ways the bench drives it: saturated (closed loop), paced (open loop), open cases (intake
only)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp

from bench.stats import Stats
from ops.rehearse_load import SAMPLE_AGREEMENT

CASES = "/api/v1/cases"
RETRY_404 = 0.05  # s between tries when the assigned mediator cannot see the case yet
POLL = 0.05  # s between polls of a case intake answered as `registered`
PATIENCE = 60.0  # s before a case that does not move counts as failed


class CaseFailed(Exception):
    pass


def intake_body(n: int) -> dict[str, Any]:
    return {
        "dispute_type": "family" if n % 2 == 0 else "neighbor",
        "channel": "walk_in",
        "summary": "压测案件",
        "town": "三庙镇",
        "community": "七间社区",
        "parties": [
            {"role": "applicant", "name": f"压测甲{n}", "phone": f"1380000{n % 10000:04d}"},
            {"role": "respondent", "name": f"压测乙{n}", "phone": f"1390000{n % 10000:04d}"},
        ],
    }


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]  # case-insensitive, as the response's own
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        return json.loads(self.body)


def http_session(connections: int, timeout: float = 60.0) -> aiohttp.ClientSession:
    """The driver's one connection pool. aiohttp, not httpx: at 40 clients httpx cost the
    driver 6-7 ms of CPU per request on this machine against aiohttp's 0.4 (3,000 POSTs to
    a bare FastAPI route, twice each), and the driver shares the machine it measures."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections),
        timeout=aiohttp.ClientTimeout(total=timeout),
    )


class Driver:
    """Cases through one API over one connection pool, recording into a Stats."""

    def __init__(self, http: aiohttp.ClientSession, api_url: str, tokens: dict[str, str]) -> None:
        self.http, self.api_url, self.tokens = http, api_url, tokens

    async def _send(
        self, stats: Stats, route: str, method: str, path: str, token: str, **kw: Any
    ) -> Reply:
        headers = {"Authorization": f"Bearer {token}", **kw.pop("headers", {})}
        started = time.monotonic()
        try:
            async with self.http.request(method, self.api_url + path, headers=headers, **kw) as r:
                reply = Reply(r.status, r.headers, await r.read())
        except (aiohttp.ClientError, TimeoutError) as exc:
            stats.fail(route, type(exc).__name__, str(exc))
            raise CaseFailed from exc
        if reply.ok:
            stats.latencies[route].append(time.monotonic() - started)
        return reply

    def _check(self, stats: Stats, route: str, r: Reply) -> dict[str, Any]:
        if not r.ok:
            stats.fail(route, str(r.status), r.body.decode(errors="replace"))
            raise CaseFailed
        body: dict[str, Any] = r.json()
        return body

    async def _as_mediator(
        self, stats: Stats, route: str, method: str, path: str, token: str, **kw: Any
    ) -> dict[str, Any]:
        """A request of the assigned organisation's mediator; a 404 means the store's row
        does not show the assignment yet: counted, and tried again shortly."""
        deadline = time.monotonic() + PATIENCE
        while True:
            r = await self._send(stats, route, method, path, token, **kw)
            if r.status != 404:
                return self._check(stats, route, r)
            stats.mediator_404s[route] += 1
            if time.monotonic() > deadline:
                stats.fail(route, "404 for longer than the patience")
                raise CaseFailed
            await asyncio.sleep(RETRY_404)

    async def intake(self, stats: Stats, n: int) -> dict[str, Any]:
        """Register a case; the case once routed (polled, when intake answers `registered`)."""
        key = {"Idempotency-Key": f"bench-{uuid.uuid4()}"}
        officer = self.tokens["officer"]
        deadline = time.monotonic() + PATIENCE
        while True:  # as a client should: a 503 with Retry-After is tried again, same key
            r = await self._send(
                stats, "intake", "POST", CASES, officer, json=intake_body(n), headers=key
            )
            wait = r.headers.get("Retry-After")
            if r.status != 503 or wait is None or time.monotonic() > deadline:
                break
            stats.retried_503 += 1
            await asyncio.sleep(float(wait))
        case = self._check(stats, "intake", r)
        while case.get("assignment") is None and case["status"] == "registered":
            if time.monotonic() > deadline:
                stats.fail("intake_poll", "still registered after the patience")
                raise CaseFailed
            await asyncio.sleep(POLL)
            stats.intake_polls += 1
            r = await self._send(stats, "intake_poll", "GET", f"{CASES}/{case['case_id']}", officer)
            case = self._check(stats, "intake_poll", r)
        if case.get("assignment") is None:
            stats.fail("intake", f"routed to {case['status']} without an assignment")
            raise CaseFailed
        return case

    async def happy_path(self, stats: Stats, n: int) -> None:
        case = await self.intake(stats, n)
        cid, assignment = case["case_id"], case["assignment"]
        token = self.tokens.get(assignment["mediator_id"] or assignment["org_id"])
        if token is None:
            stats.fail("intake", f"assigned to unknown organisation {assignment['org_id']}")
            raise CaseFailed
        path = f"{CASES}/{cid}"
        await self._as_mediator(stats, "get", "GET", path, token)
        accept = {"mediator_id": assignment["mediator_id"]}
        await self._as_mediator(stats, "accept", "POST", f"{path}/accept", token, json=accept)
        await self._as_mediator(
            stats, "agreement", "POST", f"{path}/agreement", token, json=SAMPLE_AGREEMENT
        )
        visit = {"result": "performed", "notes": "", "visited_at": datetime.now(UTC).isoformat()}
        final = await self._as_mediator(
            stats, "follow_ups", "POST", f"{path}/follow-ups", token, json=visit
        )
        if final.get("status") != "closed":
            stats.fail("follow_ups", f"case not closed but {final.get('status')}")
            raise CaseFailed

    async def run_one(self, stats: Stats, n: int, intake_only: bool = False) -> None:
        started = time.monotonic()
        stats.begin(started)
        try:
            if intake_only:
                await self.intake(stats, n)
            else:
                await self.happy_path(stats, n)
            stats.finished += 1
            stats.case_seconds.append(time.monotonic() - started)
        except CaseFailed:
            pass
        except Exception as exc:  # a bug or a malformed answer: counted, not fatal
            stats.fail("case", type(exc).__name__, str(exc))
        finally:
            stats.end(time.monotonic())


async def closed_loop(
    driver: Driver, cases: int, clients: int, intake_only: bool = False, first: int = 0
) -> Stats:
    """`cases` cases by `clients` concurrent clients, each starting its next when done."""
    stats = Stats()
    numbers = iter(range(first, first + cases))

    async def client() -> None:
        for n in numbers:
            await driver.run_one(stats, n, intake_only)

    await asyncio.gather(*(client() for _ in range(clients)))
    return stats


async def open_loop(driver: Driver, rate: float, seconds: float, first: int = 0) -> Stats:
    """A case every 1/rate s for `seconds`, whether or not the earlier ones are done; then
    the ones in flight are waited for."""
    stats = Stats()
    tasks: list[asyncio.Task[None]] = []
    started = time.monotonic()
    n = 0
    while (due := started + n / rate) < started + seconds:
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        tasks.append(asyncio.create_task(driver.run_one(stats, first + n)))
        n += 1
    await asyncio.gather(*tasks)
    return stats
