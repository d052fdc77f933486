"""Child processes of a supervisor (`mediation up`, `mediation rehearse`): started with
their output in a log file, in a session of their own, and sent SIGTERM by the kernel if
the supervisor itself dies."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the supervisor goes away."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


class Child:
    """A running child; `kill` and `start` again to rehearse a crash."""

    def __init__(self, name: str, cmd: list[str], log_file: Path, env: dict[str, str]) -> None:
        self.name, self.cmd, self.log_file, self.env = name, cmd, log_file, env
        self.log: IO[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.log = open(self.log_file, "ab")
        self.proc = subprocess.Popen(
            self.cmd,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._close_log()

    def stop(self, timeout: float = 15) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                print(f"{self.name} did not stop in {timeout:.0f}s; killing it", file=sys.stderr)
                self.proc.kill()
                self.proc.wait()
        self._close_log()

    def usage(self) -> tuple[float, float]:
        """CPU seconds and peak resident MB since (re)start, from /proc."""
        stat = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
        status = Path(f"/proc/{self.proc.pid}/status").read_text().splitlines()
        peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
        return cpu, peak_kb / 1024

    def _close_log(self) -> None:
        if self.log is not None:
            self.log.close()
            self.log = None
