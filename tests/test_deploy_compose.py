"""The image and deploy/compose.yaml, validated offline."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from tests.deploy_docs import (
    COMPOSE_FILE,
    DEPLOY,
    K8S,
    POSTGRES_PLUGINS,
    ROOT,
    SEARCH_ATTRIBUTES,
    cli_commands,
    command_of,
    docker_compose_config,
    dockerfile_env,
    dockerfile_instructions,
    env_of,
    ours,
    published,
    published_ports,
    required_compose_variables,
    services,
    setup_script_attributes,
)


def test_dockerfile_one_slim_non_root_image_whose_command_picks_the_part() -> None:
    instructions = dockerfile_instructions()
    bases = [rest.split()[0] for word, rest in instructions if word == "FROM"]
    assert bases and all(b == "python:3.11-slim" for b in bases), bases
    assert any(w == "RUN" and "pip install ." in r for w, r in instructions)
    users = [rest for word, rest in instructions if word == "USER"]
    assert users, "the image must not run as root"
    uid = users[-1].split(":")[0]
    assert uid not in ("0", "root"), users
    assert ("ENTRYPOINT", '["mediation"]') in instructions
    cmd = [rest for word, rest in instructions if word == "CMD"]
    assert cmd == ['["api"]'], cmd
    # Listening on loopback in a container would answer nobody.
    assert dockerfile_env().get("MEDIATION_API_HOST") == "0.0.0.0"
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".venv", "var", ".git"} <= set(ignored)


# --- compose ------------------------------------------------------------------------------


def test_compose_file_is_valid_for_docker_compose() -> None:
    assert set(services()) >= {
        "temporal",
        "temporal-setup",
        "temporal-ui",
        "case-db",
        "migrate",
        "prometheus",
    }


def test_the_validator_rejects_a_broken_compose_file(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    broken.write_text(text.replace("\n  migrate:\n", "\n  migrate:\n    no_such_option: 1\n", 1))
    proc = docker_compose_config(broken)
    assert proc.returncode != 0
    assert "no_such_option" in proc.stderr


def test_compose_runs_two_workers_and_two_api_replicas_from_our_image() -> None:
    replicas: Counter[str] = Counter()
    for name, svc in services().items():
        if ours(svc):
            cmd = command_of(svc)
            assert cmd and cmd[0] in cli_commands(), f"{name}: {cmd} is no `mediation` command"
            replicas[cmd[0]] += int((svc.get("deploy") or {}).get("replicas", 1))
    assert replicas["worker"] == 2, replicas
    assert replicas["api"] == 2, replicas
    assert replicas["migrate"] == 1, replicas


def test_compose_jobs_run_once_and_gate_the_service() -> None:
    svcs = services()
    assert svcs["migrate"].get("restart", "no") == "no"
    assert svcs["temporal-setup"].get("restart", "no") == "no"
    for name, svc in svcs.items():
        if ours(svc) and command_of(svc)[0] in ("worker", "api"):
            deps = svc.get("depends_on") or {}
            for job in ("migrate", "temporal-setup"):
                assert deps.get(job, {}).get("condition") == "service_completed_successfully", (
                    f"{name} must wait for {job}"
                )


def test_compose_temporal_runs_on_postgresql_for_persistence_and_visibility() -> None:
    svcs = services()
    env = env_of(svcs["temporal"])
    assert env.get("DB") in POSTGRES_PLUGINS, env
    assert env.get("ENABLE_ES", "false").lower() != "true", "visibility must stay on SQL"
    assert env.get("VISIBILITY_DBNAME"), "visibility database on the same PostgreSQL"
    temporal_db = env["POSTGRES_SEEDS"]
    assert str(svcs[temporal_db]["image"]).startswith("postgres:"), svcs[temporal_db]
    assert "temporal-db" in (svcs["temporal"].get("depends_on") or {})


def test_compose_case_store_is_its_own_postgresql() -> None:
    svcs = services()
    temporal_db = env_of(svcs["temporal"])["POSTGRES_SEEDS"]
    for name, svc in svcs.items():
        if ours(svc):
            url = urlsplit(env_of(svc)["MEDIATION_DATABASE_URL"])
            assert url.scheme == "postgresql+psycopg", (name, url.scheme)
            assert url.hostname != temporal_db, f"{name}: the case store shares Temporal's db"
            assert url.hostname in svcs, f"{name}: no service {url.hostname}"
            assert str(svcs[url.hostname]["image"]).startswith("postgres:"), url.hostname


def test_compose_sets_up_the_namespace_and_every_search_attribute() -> None:
    svcs = services()
    setup = svcs["temporal-setup"]
    assert str(setup["image"]).startswith("temporalio/admin-tools:")
    env = env_of(setup)
    assert env.get("NAMESPACE_RETENTION"), "the namespace needs a retention"
    namespaces = {env_of(s)["MEDIATION_TEMPORAL_NAMESPACE"] for s in svcs.values() if ours(s)}
    assert namespaces == {env["TEMPORAL_NAMESPACE"]}, namespaces
    script = K8S / "temporal-setup.sh"
    mounts = [str(v) for v in setup.get("volumes", [])]
    assert any(m.startswith(f"{script}:") for m in mounts), mounts
    assert setup_script_attributes() == SEARCH_ATTRIBUTES


def test_compose_ui_decodes_through_the_api_codec_endpoint() -> None:
    svcs = services()
    endpoint = urlsplit(env_of(svcs["temporal-ui"])["TEMPORAL_CODEC_ENDPOINT"])
    assert endpoint.path == "/codec"
    assert endpoint.hostname == "localhost"  # the browser calls it, from the host
    api_host_ports = {
        published_ports(s).get(int(env_of(s)["MEDIATION_API_PORT"]))
        for s in svcs.values()
        if ours(s) and command_of(s)[0] == "api"
    }
    assert endpoint.port in api_host_ports, (endpoint.port, api_host_ports)


def test_prometheus_scrapes_every_worker_and_api() -> None:
    svcs = services()
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text(encoding="utf-8"))
    targets = {
        target
        for job in config["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
    }
    expected = set()
    for name, svc in svcs.items():
        if not ours(svc):
            continue
        env = env_of(svc)
        if command_of(svc)[0] == "api":
            expected.add(f"{name}:{env['MEDIATION_API_PORT']}")
        elif command_of(svc)[0] == "worker":
            assert env.get("MEDIATION_SDK_METRICS_BIND"), f"{name} serves no SDK metrics"
            expected.add(f"{name}:{env['MEDIATION_SDK_METRICS_BIND'].rpartition(':')[2]}")
    assert len(expected) == 4 and expected <= targets, (expected, targets)
    mounted = [str(v) for v in svcs["prometheus"].get("volumes", [])]
    assert any(m.startswith(f"{DEPLOY / 'prometheus.yml'}:") for m in mounted), mounted


# --- secrets and exposure -----------------------------------------------------------------

# An environment variable that holds a secret, by its name.
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|PWD|SECRET|TOKEN|_KEYS?$")
INTERPOLATION = re.compile(r"\$\{(\w+)(?:(:?[-?+])([^}]*))?\}")


def secret_problems(env: dict[str, str]) -> list[str]:
    """Every secret in an environment (as written, before interpolation) must come from a
    required variable: `${NAME:?message}`, never a literal or a default; a URL's password
    likewise."""
    problems = []
    for name, value in env.items():
        url_password = re.search(r"://[^/:@\s]+:(.*)@", value)
        for secret in ([value] if SECRET_NAME.search(name) else []) + (
            [url_password.group(1)] if url_password else []
        ):
            match = INTERPOLATION.fullmatch(secret)
            if not match or match.group(2) != ":?":
                problems.append(f"{name}: {secret!r} is not ${{VAR:?message}}")
    return problems


def raw_services() -> dict[str, dict[str, str]]:
    """Each service's environment as written in compose.yaml (anchors merged, nothing
    interpolated)."""
    raw = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return {name: env_of(svc) for name, svc in raw["services"].items()}


def test_compose_no_password_or_key_has_a_default() -> None:
    envs = raw_services()
    problems = {name: secret_problems(env) for name, env in envs.items()}
    assert not any(problems.values()), problems
    # The services that hold secrets at all: both databases, Temporal, all of ours.
    holders = {name for name, env in envs.items() if any(SECRET_NAME.search(k) for k in env)}
    assert {"temporal-db", "temporal", "case-db", "migrate", "api-1", "worker-1"} <= holders
    assert required_compose_variables() >= {
        "CASE_DB_PASSWORD",
        "TEMPORAL_DB_PASSWORD",
        "MEDIATION_KEYS",
    }


def test_the_secret_check_catches_a_default_and_a_literal() -> None:
    url = "postgresql+psycopg://mediation:${CASE_DB_PASSWORD:-mediation}@case-db:5432/mediation"
    assert len(secret_problems({"MEDIATION_DATABASE_URL": url})) == 1
    assert len(secret_problems({"POSTGRES_PASSWORD": "temporal"})) == 1
    assert len(secret_problems({"POSTGRES_PWD": "${TEMPORAL_DB_PASSWORD}"})) == 1
    assert not secret_problems({"POSTGRES_PWD": "${TEMPORAL_DB_PASSWORD:?required}"})


def test_compose_refuses_to_start_without_each_password() -> None:
    for variable in sorted(required_compose_variables()):
        proc = docker_compose_config(COMPOSE_FILE, without=frozenset({variable}))
        assert proc.returncode != 0, f"compose starts without {variable}"
        assert variable in proc.stderr, proc.stderr


def test_compose_temporal_and_its_ui_listen_on_loopback_only_and_the_ui_is_read_only() -> None:
    svcs = services()
    for name in ("temporal", "temporal-ui"):
        ports = published(svcs[name])
        assert ports and all(ip == "127.0.0.1" for ip, _, _ in ports), (name, ports)
    assert env_of(svcs["temporal-ui"])["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "true"
