from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from core.settings import Settings
from models.policy import Policy, PolicyError, load_policy


def test_defaults_follow_the_design(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("DATABASE_URL", "DATA_DIR", "TEMPORAL_ADDRESS", "API_PORT", "TEMPORAL_PORT"):
        monkeypatch.delenv(f"MEDIATION_{var}", raising=False)
    s = Settings()
    assert s.data_dir == Path("var")
    assert s.db_url == "sqlite:///var/mediation.db"
    assert s.temporal_target == "127.0.0.1:7233"
    assert (s.api_port, s.temporal_port, s.temporal_ui_port) == (8000, 7233, 8233)
    assert s.log_format == "console"


def test_environment_overrides_and_derived_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDIATION_DATABASE_URL", raising=False)
    monkeypatch.delenv("MEDIATION_TEMPORAL_ADDRESS", raising=False)
    monkeypatch.setenv("MEDIATION_DATA_DIR", "/srv/mediation")
    monkeypatch.setenv("MEDIATION_TEMPORAL_PORT", "7300")
    monkeypatch.setenv("MEDIATION_API_PORT", "8100")
    monkeypatch.setenv("MEDIATION_LOG_FORMAT", "json")
    s = Settings()
    assert s.db_url == "sqlite:////srv/mediation/mediation.db"
    assert s.temporal_target == "127.0.0.1:7300"
    assert s.api_port == 8100
    assert s.log_format == "json"
    monkeypatch.setenv("MEDIATION_TEMPORAL_ADDRESS", "temporal.internal:7233")
    assert Settings().temporal_target == "temporal.internal:7233"


def test_bad_settings_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIATION_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="log_format"):
        Settings()
    monkeypatch.setenv("MEDIATION_LOG_FORMAT", "json")
    monkeypatch.setenv("MEDIATION_API_PORT", "70000")
    with pytest.raises(ValueError, match="api_port"):
        Settings()


def test_policy_defaults_are_the_legal_ones() -> None:
    p = load_policy(None)
    assert p.labor_mediation_deadline == timedelta(days=15)
    assert p.mediation_deadline == timedelta(days=30)
    assert p.judicial_confirmation_window == timedelta(days=30)
    assert p.risk_ack_sla == timedelta(hours=2)
    assert p.collective_headcount == 10


def test_policy_file_iso_durations_and_unknown_keys(tmp_path: Path) -> None:
    f = tmp_path / "policy.toml"
    f.write_text('acceptance_timeout = "PT5S"\nmax_extensions = 2\n', encoding="utf-8")
    p = load_policy(f)
    assert p.acceptance_timeout == timedelta(seconds=5)
    assert p.max_extensions == 2
    assert p.mediation_deadline == Policy().mediation_deadline
    f.write_text('acceptance_timout = "PT5S"\n', encoding="utf-8")
    with pytest.raises(PolicyError, match="acceptance_timout"):
        load_policy(f)
    f.write_text('acceptance_timeout = "soon"\n', encoding="utf-8")
    with pytest.raises(PolicyError, match="acceptance_timeout"):
        load_policy(f)


@pytest.mark.parametrize("part", ["worker", "api"])
def test_a_zero_duration_stops_the_worker_and_the_api_at_start(tmp_path: Path, part: str) -> None:
    """`PT0S` would fire a deadline at once and spin the reminder loops: the process refuses
    to start, naming the key, before it connects to anything."""
    f = tmp_path / "policy.toml"
    f.write_text('supervisor_reminder_every = "PT0S"\nrisk_ack_sla = "PT5S"\n', encoding="utf-8")
    env = {**os.environ, "MEDIATION_POLICY_FILE": str(f), "MEDIATION_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "ops", part], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "supervisor_reminder_every = PT0S" in done.stderr
    assert "at least 1 second" in done.stderr
    assert "risk_ack_sla" not in done.stderr
