"""Deploy/k8s rendered with `kubectl kustomize`, and the Temporal Helm values."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from models.policy import load_policy
from tests.deploy_docs import (
    ACCESS_DOC,
    K8S,
    K8S_TEMPORAL,
    POSTGRES_PLUGINS,
    SEARCH_ATTRIBUTES,
    SITE_SECRETS,
    TEMPORAL_CLIENTS,
    Doc,
    container_env,
    containers,
    frontend_names,
    objects,
    one,
    pod_spec,
    rendered,
    secret_file,
    setup_script_attributes,
    workloads,
)


def test_kustomize_renders_the_expected_objects() -> None:
    kinds = Counter(d["kind"] for d in rendered())
    assert kinds["Deployment"] == 2, kinds
    assert kinds["PodDisruptionBudget"] == 2, kinds
    assert kinds["HorizontalPodAutoscaler"] >= 1, kinds
    assert kinds["Secret"] >= 1, kinds
    assert kinds["ConfigMap"] >= 1, kinds
    assert kinds["Job"] >= 1, kinds
    assert kinds["Service"] >= 1, kinds
    assert kinds["NetworkPolicy"] >= 4, kinds
    temporal_side = rendered(K8S_TEMPORAL)
    assert {d["kind"] for d in temporal_side} == {"NetworkPolicy"}, temporal_side
    assert {d["metadata"]["namespace"] for d in temporal_side} == {"temporal"}
    commands = {
        d["metadata"]["name"]: containers(d)[-1].get("args", [])
        for d in objects("Deployment") + objects("Job")
        if containers(d)[-1]["image"].split("/")[-1].startswith("mediation")
    }
    assert sorted(c[0] for c in commands.values()) == ["api", "migrate", "worker"], commands


def test_k8s_references_resolve() -> None:
    names = {(d["kind"], d["metadata"]["name"]) for d in rendered()}
    # The site's own Secrets are mounted, never rendered, and ACCESS.md says how to make them.
    access = ACCESS_DOC.read_text(encoding="utf-8")
    for secret in SITE_SECRETS:
        assert ("Secret", secret) not in names, f"{secret} would overwrite the site's"
        assert f"kubectl -n mediation create secret generic {secret} " in access, secret
    for obj in workloads():
        spec = pod_spec(obj)
        for c in containers(obj):
            for src in c.get("envFrom", []):
                if "configMapRef" in src:
                    assert ("ConfigMap", src["configMapRef"]["name"]) in names, src
                if "secretRef" in src:
                    assert ("Secret", src["secretRef"]["name"]) in names, src
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                assert ("ConfigMap", volume["configMap"]["name"]) in names, volume
            if "secret" in volume:
                secret = volume["secret"]["secretName"]
                assert ("Secret", secret) in names or secret in SITE_SECRETS, volume
    pod_labels = [d["spec"]["template"]["metadata"]["labels"] for d in objects("Deployment")]

    def selects(selector: dict[str, str]) -> bool:
        return any(selector.items() <= labels.items() for labels in pod_labels)

    for pdb in objects("PodDisruptionBudget"):
        assert selects(pdb["spec"]["selector"]["matchLabels"]), pdb["metadata"]["name"]
    for svc in objects("Service"):
        assert selects(svc["spec"]["selector"]), svc["metadata"]["name"]
    for hpa in objects("HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) in names, target


def test_k8s_api_has_health_probes_service_and_cpu_autoscaling() -> None:
    api = one("Deployment", "mediation-api")
    (container,) = pod_spec(api)["containers"]
    assert container["args"] == ["api"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    hpa = one("HorizontalPodAutoscaler", "mediation-api")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == "mediation-api"
    assert hpa["spec"]["minReplicas"] >= 2
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    assert "replicas" not in api["spec"], "the HPA owns the API's replica count"
    service = one("Service", "mediation-api")
    ports = {p["containerPort"] for p in container["ports"]}
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    assert int(env["MEDIATION_API_PORT"]) in ports
    assert env["MEDIATION_API_HOST"] == "0.0.0.0"
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= {
        *ports,
        *(p["name"] for p in container["ports"]),
    }


def test_k8s_worker_runs_two_replicas_with_a_probe_on_its_metrics_port() -> None:
    worker = one("Deployment", "mediation-worker")
    assert worker["spec"]["replicas"] == 2
    (container,) = pod_spec(worker)["containers"]
    assert container["args"] == ["worker"]
    probe = container["livenessProbe"]
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    metrics_port = int(env["MEDIATION_SDK_METRICS_BIND"].rpartition(":")[2])
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    port = (probe.get("httpGet") or probe.get("tcpSocket"))["port"]
    assert named.get(port, port) == metrics_port


def test_k8s_pods_are_non_root_with_requests_and_limits() -> None:
    for obj in objects("Deployment") + objects("Job"):
        name = obj["metadata"]["name"]
        assert pod_spec(obj).get("securityContext", {}).get("runAsNonRoot") is True, name
        for c in containers(obj):
            resources = c.get("resources", {})
            assert {"cpu", "memory"} <= set(resources.get("requests", {})), name
            assert {"cpu", "memory"} <= set(resources.get("limits", {})), name
            assert c.get("securityContext", {}).get("allowPrivilegeEscalation") is False, name


def test_k8s_policy_configmap_is_a_valid_policy(tmp_path: Path) -> None:
    source = K8S / "policy.toml"
    load_policy(source)  # raises PolicyError on an unknown key or a bad value
    api = one("Deployment", "mediation-api")
    (container,) = pod_spec(api)["containers"]
    policy_file = Path(
        next(e["value"] for e in container["env"] if e["name"] == "MEDIATION_POLICY_FILE")
    )
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == str(policy_file.parent))
    volume = next(v for v in pod_spec(api)["volumes"] if v["name"] == mount["name"])
    configmap = one("ConfigMap", volume["configMap"]["name"])
    text = configmap["data"][policy_file.name]
    copy = tmp_path / policy_file.name
    copy.write_text(text, encoding="utf-8")
    assert load_policy(copy) == load_policy(source)


def test_k8s_temporal_setup_job_registers_every_search_attribute() -> None:
    job = one("Job", "mediation-temporal-setup")
    (container,) = pod_spec(job)["containers"]
    assert container["image"].startswith("temporalio/admin-tools:")
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env.get("NAMESPACE_RETENTION")
    config = next(d for d in objects("ConfigMap") if "MEDIATION_TEMPORAL_NAMESPACE" in d["data"])
    assert env["TEMPORAL_NAMESPACE"] == config["data"]["MEDIATION_TEMPORAL_NAMESPACE"]
    script = next(d for d in objects("ConfigMap") if "temporal-setup.sh" in d.get("data", {}))
    assert script["data"]["temporal-setup.sh"] == (K8S / "temporal-setup.sh").read_text(
        encoding="utf-8"
    )
    assert setup_script_attributes() == SEARCH_ATTRIBUTES


def test_temporal_helm_values_run_on_postgresql_with_the_ui_codec_endpoint() -> None:
    values = yaml.safe_load((K8S / "temporal-values.yaml").read_text(encoding="utf-8"))
    # Chart 1.x has no database or monitoring sub-charts and fails on these keys.
    removed = {"cassandra", "elasticsearch", "mysql", "postgresql", "prometheus", "grafana"}
    assert not removed & set(values), removed & set(values)
    persistence = values["server"]["config"]["persistence"]
    assert not {"default", "visibility"} & set(persistence), "pre-1.0 persistence format"
    stores = persistence["datastores"]
    for role in ("defaultStore", "visibilityStore"):
        sql = stores[persistence[role]]["sql"]
        assert sql["pluginName"] in POSTGRES_PLUGINS, (role, sql)
    web_env = {e["name"]: e["value"] for e in values["web"]["additionalEnv"]}
    assert urlsplit(web_env["TEMPORAL_CODEC_ENDPOINT"]).path == "/codec"


# --- mutual TLS to Temporal ---------------------------------------------------------------


def tls_problems(
    spec: Doc, container: Doc, env: dict[str, str], names: dict[str, str | None]
) -> list[str]:
    """What is wrong with a Temporal client's certificate settings: each file variable must
    name the right key of a mounted Secret, and the server name one of the frontend's."""
    problems = []
    for variable, key in names.items():
        value = env.get(variable)
        if not value:
            problems.append(f"{variable} is not set")
        elif key is None:
            if value not in frontend_names():
                problems.append(f"{variable}={value} is no name of the frontend certificate")
        else:
            found = secret_file(spec, container, value)
            if found is None:
                problems.append(f"{variable}={value} is in no mounted Secret")
            elif found[1] != key:
                problems.append(f"{variable}={value} is {found[1]} of {found[0]}, not {key}")
    return problems


def test_every_workload_that_reaches_temporal_holds_a_client_certificate() -> None:
    """Issue 15: the frontend requires mutual TLS, so a pod with Temporal's address and no
    certificate is a pod that cannot work, or one that a frontend without TLS would take."""
    clients = set()
    for obj in workloads():
        for c in containers(obj):
            env = container_env(c)
            for address, names in TEMPORAL_CLIENTS.items():
                if address not in env:
                    continue
                where = f"{obj['kind']} {obj['metadata']['name']}/{c['name']}"
                clients.add(obj["metadata"]["name"])
                assert env[address].split(":")[0] in frontend_names(), (where, env[address])
                problems = tls_problems(pod_spec(obj), c, env, names)
                assert not problems, f"{where}: {problems}"
    assert clients == {"mediation-worker", "mediation-api", "mediation-temporal-setup"}, clients


def test_the_tls_check_catches_a_missing_mount_and_a_wrong_key() -> None:
    worker = one("Deployment", "mediation-worker")
    (container,) = pod_spec(worker)["containers"]
    env = container_env(container)
    names = TEMPORAL_CLIENTS["MEDIATION_TEMPORAL_ADDRESS"]
    assert not tls_problems(pod_spec(worker), container, env, names)
    unmounted = {
        **container,
        "volumeMounts": [m for m in container["volumeMounts"] if m["name"] != "temporal-tls"],
    }
    assert len(tls_problems(pod_spec(worker), unmounted, env, names)) == 3
    swapped = {**env, "MEDIATION_TEMPORAL_TLS_CERT": env["MEDIATION_TEMPORAL_TLS_KEY"]}
    assert tls_problems(pod_spec(worker), container, swapped, names) == [
        f"MEDIATION_TEMPORAL_TLS_CERT={env['MEDIATION_TEMPORAL_TLS_KEY']} is tls.key of "
        "mediation-temporal-tls, not tls.crt"
    ]
    renamed = {**env, "MEDIATION_TEMPORAL_TLS_SERVER_NAME": "temporal.example.org"}
    assert len(tls_problems(pod_spec(worker), container, renamed, names)) == 1


def test_the_migration_job_gets_neither_temporal_nor_its_certificate() -> None:
    job = one("Job", "mediation-migrate")
    for c in containers(job):
        env = container_env(c)
        assert not {"MEDIATION_TEMPORAL_ADDRESS", "TEMPORAL_ADDRESS"} & set(env), env
    secrets = {v["secret"]["secretName"] for v in pod_spec(job).get("volumes", []) if "secret" in v}
    assert not secrets & SITE_SECRETS, secrets


def helm_values() -> Doc:
    values: Doc = yaml.safe_load((K8S / "temporal-values.yaml").read_text(encoding="utf-8"))
    return values


def mounted(component: Doc, path: str) -> tuple[str, str] | None:
    """(Secret, key) of a file of a chart component, through its additional volumes."""
    return secret_file(
        {"volumes": component.get("additionalVolumes", [])},
        {"volumeMounts": component.get("additionalVolumeMounts", [])},
        path,
    )


def test_temporal_frontend_requires_client_certificates_from_the_secret() -> None:
    server = helm_values()["server"]
    tls = server["config"]["tls"]
    frontend = tls["frontend"]["server"]
    assert frontend["requireClientAuth"] is True
    assert mounted(server, frontend["certFile"]) == ("temporal-frontend-tls", "tls.crt")
    assert mounted(server, frontend["keyFile"]) == ("temporal-frontend-tls", "tls.key")
    assert [mounted(server, f) for f in frontend["clientCaFiles"]] == [
        ("temporal-frontend-tls", "ca.crt")
    ]
    # The server's own system worker is a client of the frontend like any other.
    system = tls["systemWorker"]
    assert mounted(server, system["certFile"]) == ("temporal-client-tls", "tls.crt")
    assert mounted(server, system["keyFile"]) == ("temporal-client-tls", "tls.key")
    assert [mounted(server, f) for f in system["client"]["rootCaFiles"]] == [
        ("temporal-client-tls", "ca.crt")
    ]
    assert system["client"]["serverName"] in frontend_names()


def test_temporal_ui_and_admin_tools_connect_with_the_client_certificate() -> None:
    values = helm_values()
    ui_names = {  # the UI server's own variables (temporalio/ui, server/config/docker.yaml)
        "TEMPORAL_TLS_CA": "ca.crt",
        "TEMPORAL_TLS_CERT": "tls.crt",
        "TEMPORAL_TLS_KEY": "tls.key",
        "TEMPORAL_TLS_SERVER_NAME": None,
    }
    for part, names in (("web", ui_names), ("admintools", TEMPORAL_CLIENTS["TEMPORAL_ADDRESS"])):
        component = values[part]
        env = {e["name"]: str(e["value"]) for e in component["additionalEnv"]}
        spec = {"volumes": component["additionalVolumes"]}
        container = {"volumeMounts": component["additionalVolumeMounts"]}
        assert not tls_problems(spec, container, env, names), (part, env)
        secrets = {v["secret"]["secretName"] for v in component["additionalVolumes"]}
        assert secrets == {"temporal-client-tls"}, (part, secrets)
    web_env = {e["name"]: str(e["value"]) for e in values["web"]["additionalEnv"]}
    assert web_env["TEMPORAL_TLS_ENABLE_HOST_VERIFICATION"] == "true"


def test_temporal_ui_is_read_only_and_not_exposed() -> None:
    web = helm_values()["web"]
    env = {e["name"]: str(e["value"]) for e in web["additionalEnv"]}
    assert env["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "true"
    assert web["ingress"]["enabled"] is False
    assert web["service"]["type"] == "ClusterIP"
    # The operator's browser reaches the UI and the codec through port-forwards to
    # localhost, and the API allows that origin.
    codec = urlsplit(env["TEMPORAL_CODEC_ENDPOINT"])
    assert (codec.hostname, codec.path) == ("localhost", "/codec")
    api = one("Deployment", "mediation-api")
    origins = yaml.safe_load(
        container_env(pod_spec(api)["containers"][0])["MEDIATION_TEMPORAL_UI_ORIGINS"]
    )
    assert "http://localhost:8080" in origins, origins
