"""The processes' memory: glibc's allocator told to keep fewer, tidier arenas, and Python's
collector told to leave alone what a process made to start.

A worker keeps up to a thousand cases in its workflow cache, and runs workflow tasks and
activities on many threads; glibc gives each thread that allocates an arena of its own (up
to 8 per core), and freed memory stays in them. Measured with 500 open cases in one
worker (tests' harness, RSS per case): 189 KB by default, 169 KB with two arenas, 156 KB
with two arenas and a trim. No-ops where the C library is not glibc.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc

_M_ARENA_MAX = -8  # mallopt's parameter number for M_ARENA_MAX (malloc.h)


def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        libc.mallopt  # noqa: B018  (glibc only)
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def limit_arenas(arenas: int = 2) -> bool:
    """Call before the process starts its threads; True when it took effect."""
    libc = _glibc()
    return bool(libc and libc.mallopt(_M_ARENA_MAX, arenas) == 1)


async def trim_every(seconds: float, stop: asyncio.Event) -> None:
    """Hand freed memory back to the system now and then (on a thread: it takes a moment
    with a large heap)."""
    libc = _glibc()
    if libc is None:
        return
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), seconds)
        except TimeoutError:
            await asyncio.to_thread(libc.malloc_trim, 0)


def settle_heap() -> None:
    """Call once the process has started (its modules imported, its dictionaries loaded):
    what is alive then is moved out of the cyclic collector's sight for good.

    A full collection looks at every object the collector tracks, and it runs whenever a
    quarter more have come to stay: in the worker, as its cache fills with cases. Each one
    holds the whole process up, every case and request in it. Measured under make bench
    (gc.callbacks): full collections of 100-250 ms in the worker and the API, a few per
    minute, 120,000-180,000 of their objects being the modules and tables they start with;
    those take 100 ms to look through on their own here.

    Then full collections are considered after every 100 collections of the middle
    generation instead of every 10 (a quarter more long-lived objects is still needed):
    what is left for them to look through is the worker's cached cases, about 240 objects
    each, and at 1,000 cases each full collection held the worker up for 50-150 ms, a few
    a minute, enough for the commands' p99. make bench, two runs: paced command p99
    76/80/96 and 93/93/135 ms (91-165 before), saturated 0.25 and 0.33 T (0.23-0.25), the
    worker's RSS with 1,000 open cases 325 MB (310): the garbage of evicted cases waits
    longer, and a full collection, when it comes, is larger (up to 0.5 s seen)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*gc.get_threshold()[:2], 100)
