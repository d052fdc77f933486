"""Deploy/k8s rendered with `kubectl kustomize`, and the Temporal Helm values."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from models.policy import load_policy
from tests.deploy_docs import (
    K8S,
    POSTGRES_PLUGINS,
    SEARCH_ATTRIBUTES,
    containers,
    objects,
    one,
    pod_spec,
    rendered,
    setup_script_attributes,
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
    commands = {
        d["metadata"]["name"]: containers(d)[-1].get("args", [])
        for d in objects("Deployment") + objects("Job")
        if containers(d)[-1]["image"].split("/")[-1].startswith("mediation")
    }
    assert sorted(c[0] for c in commands.values()) == ["api", "migrate", "worker"], commands


def test_k8s_references_resolve() -> None:
    names = {(d["kind"], d["metadata"]["name"]) for d in rendered()}
    for obj in objects("Deployment") + objects("Job"):
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
                assert ("Secret", volume["secret"]["secretName"]) in names, volume
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


# --- settings cross-check -----------------------------------------------------------------
