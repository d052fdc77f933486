"""Every MEDIATION_* variable the Dockerfile, compose and the rendered manifests
set is a real setting, with a value the settings model accepts."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from core.settings import Settings
from tests.deploy_docs import (
    PREFIX,
    containers,
    dockerfile_env,
    env_of,
    known_variables,
    objects,
    services,
)


def mediation_variables() -> dict[str, dict[str, str]]:
    """Every MEDIATION_* variable the artefacts set, with its value, by where it is set."""
    found: dict[str, dict[str, str]] = {"Dockerfile": dockerfile_env()}
    for name, svc in services().items():
        found[f"compose service {name}"] = env_of(svc)
    for obj in objects("Deployment") + objects("Job"):
        for c in containers(obj):
            found[f"k8s {obj['metadata']['name']}/{c['name']}"] = {
                e["name"]: str(e.get("value", "")) for e in c.get("env", [])
            }
    for cm in objects("ConfigMap"):
        found[f"k8s ConfigMap {cm['metadata']['name']}"] = dict(cm.get("data", {}))
    for secret in objects("Secret"):
        keys = {**secret.get("data", {}), **secret.get("stringData", {})}
        found[f"k8s Secret {secret['metadata']['name']}"] = {k: "(secret)" for k in keys}
    return {
        where: {k: v for k, v in env.items() if k.startswith(PREFIX)}
        for where, env in found.items()
    }


def test_every_mediation_variable_set_is_a_setting() -> None:
    known = known_variables()
    unknown = {
        f"{where}: {name}"
        for where, env in mediation_variables().items()
        for name in env
        if name not in known
    }
    assert not unknown, f"not fields of core.settings.Settings: {sorted(unknown)}"
    everywhere = {name for env in mediation_variables().values() for name in env}
    assert {"MEDIATION_DATABASE_URL", "MEDIATION_TEMPORAL_ADDRESS"} <= everywhere


def test_every_mediation_value_set_is_accepted_by_the_settings_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Read as the processes read them: from the environment (JSON for lists)."""
    for name in [k for k in os.environ if k.startswith(PREFIX)]:
        monkeypatch.delenv(name)
    for where, env in mediation_variables().items():
        with monkeypatch.context() as m:
            for name, value in env.items():
                if value != "(secret)":
                    m.setenv(name, value)
            try:
                Settings()
            except ValidationError as exc:
                pytest.fail(f"{where}: {exc}")
