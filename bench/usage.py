"""CPU seconds and memory of the bench's children and of the load driver itself, from /proc
and getrusage, so every mode can report deltas per process."""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

from ops.children import Child

DRIVER = "driver"
_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (all its threads), from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / _TICK


def memory_mb(pid: int) -> tuple[float, float]:
    """Current resident set (VmRSS) and its peak (VmHWM), MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields.get("VmRSS", 0.0), fields.get("VmHWM", 0.0)


def driver_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def driver_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@dataclass(frozen=True)
class Sample:
    at: float
    cpu: dict[str, float]


def sample(children: dict[str, Child]) -> Sample:
    cpu = {name: cpu_seconds(c.proc.pid) for name, c in children.items() if c.alive()}
    cpu[DRIVER] = driver_cpu()
    return Sample(time.monotonic(), cpu)


@dataclass(frozen=True)
class ModeUsage:
    wall: float
    cpu: dict[str, float]  # CPU seconds spent by each process over the mode

    def per_unit(self, units: int) -> dict[str, float]:
        return {k: v / units for k, v in self.cpu.items()} if units else {}

    def share_of_core(self) -> dict[str, float]:
        return {k: v / self.wall for k, v in self.cpu.items()} if self.wall > 0 else {}

    @property
    def driver_bound(self) -> bool:
        """The driver used more than half a core: it may be what limits the figure."""
        return self.share_of_core().get(DRIVER, 0.0) > 0.5


def between(before: Sample, after: Sample) -> ModeUsage:
    names = before.cpu.keys() & after.cpu.keys()
    return ModeUsage(after.at - before.at, {n: after.cpu[n] - before.cpu[n] for n in sorted(names)})
