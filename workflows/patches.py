"""Patches of the case workflow, and the baselines that stand for them.

Every `workflow.patched` call records a marker in the history, and Temporal's SDK upserts
the `TemporalChangeVersion` search attribute with it: two commands, two events and a
visibility write each, five of them at every intake. A case started since a baseline takes
the new path of every patch made before it with one marker for them all: the newest
baseline's (each baseline stands for the ones before it too). A case started before
replays its own markers as it always did (`make test` replays the committed histories of
each). A patch made after the newest baseline is called as `workflow.patched` again (until
the next baseline).

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
# Since this baseline, also: a step's write runs side by side with what comes after it when
# that does not wait for it (intake's screening and routing, a closing visit's closure);
# see workflows/case.py.
SIDE_BY_SIDE = "baseline-2026-11-30-side-by-side"
# Newest first: a case started since the newest records its marker only.
BASELINES = (SIDE_BY_SIDE, BASELINE)


def since(baseline_id: str) -> bool:
    """Whether the case started since `baseline_id` or a newer baseline. The case workflow
    asks first thing in its run (through `baseline()`), so the marker's place in the
    history is always the same, and the SDK remembers each answer for the run."""
    for b in BASELINES:
        if workflow.patched(b):
            return True
        if b == baseline_id:
            return False
    raise ValueError(f"{baseline_id} is not a baseline")


def baseline() -> bool:
    """Whether the case started since BASELINE, the first of the baselines."""
    return since(BASELINE)


def patched(patch_id: str) -> bool:
    """`workflow.patched(patch_id)` for a patch made before BASELINE: true without a marker
    of its own in a case started since."""
    return baseline() or workflow.patched(patch_id)
