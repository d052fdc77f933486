"""Patches of the case workflow, and the baseline that stands for all of them.

Every `workflow.patched` call records a marker in the history, and Temporal's SDK upserts
the `TemporalChangeVersion` search attribute with it: two commands, two events and a
visibility write each, five of them at every intake. A case started since BASELINE takes
the new path of every patch made before it with one marker for them all; a case started
before replays its own markers as it always did (`make test` replays the committed
histories of both). A patch made after BASELINE is called as `workflow.patched` again
(until the next baseline).

Deterministic workflow code, run inside the sandbox.
"""

from __future__ import annotations

from temporalio import workflow

# Since this baseline (new here, not an older patch's path):
# - routing is a local activity whose answer the store keeps per (case, step)
#   (workflows/steps.py, activities/routing.py);
# - the search attributes are upserted once the case's lock is free, not at every step
#   (workflows/case.py).
BASELINE = "baseline-2026-11-30"


def baseline() -> bool:
    """Whether the case started since BASELINE. The case workflow asks first thing in its
    run, so the marker's place in the history is always the same."""
    return workflow.patched(BASELINE)


def patched(patch_id: str) -> bool:
    """`workflow.patched(patch_id)` for a patch made before BASELINE: true without a marker
    of its own in a case started since."""
    return baseline() or workflow.patched(patch_id)
