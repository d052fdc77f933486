"""The NetworkPolicies of deploy/k8s and deploy/k8s/temporal, evaluated: which pod may open a
connection to which port of which other pod (deploy/ACCESS.md, "Network policies").

The evaluation follows the NetworkPolicy API: a pod selected by no Ingress policy of its
namespace takes anything; a selected one takes only what some rule of a selecting policy
admits, a rule admitting a source (`from`, where a peer's podSelector alone means the
policy's own namespace) on a port (`ports`; none listed means every port).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tests.deploy_docs import K8S_TEMPORAL, Doc, objects, pod_template, workloads

MEDIATION, TEMPORAL = "mediation", "temporal"


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: dict[str, str]
    ports: dict[str, int] = field(default_factory=dict)  # named container ports


def selects(selector: Doc | None, labels: dict[str, str]) -> bool:
    """A label selector: matchLabels and matchExpressions, all of them ({} selects all)."""
    if selector is None:
        return False
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


def namespace_labels(namespace: str) -> dict[str, str]:
    return {"kubernetes.io/metadata.name": namespace}  # set by Kubernetes on every namespace


def peer_admits(peer: Doc, policy_namespace: str, source: Pod) -> bool:
    assert "ipBlock" not in peer, "ipBlock peers are not evaluated here"
    if "namespaceSelector" in peer:
        in_namespace = selects(peer["namespaceSelector"], namespace_labels(source.namespace))
    else:
        in_namespace = source.namespace == policy_namespace
    return in_namespace and selects(peer.get("podSelector", {}), source.labels)


def port_admits(ports: list[Doc] | None, target: Pod, port: int) -> bool:
    if not ports:
        return True
    for p in ports:
        if p.get("protocol", "TCP") != "TCP":
            continue
        number = p.get("port")
        if number is None:  # every port of the protocol
            return True
        if isinstance(number, str):
            number = target.ports.get(number)
        if number is not None and number <= port <= (p.get("endPort") or number):
            return True
    return False


def admitted(policies: list[Doc], source: Pod, target: Pod, port: int) -> bool:
    """May `source` open a TCP connection to `port` of `target`?"""
    isolating = [
        p
        for p in policies
        if p["metadata"]["namespace"] == target.namespace
        and "Ingress" in p["spec"].get("policyTypes", ["Ingress"])
        and selects(p["spec"]["podSelector"], target.labels)
    ]
    if not isolating:
        return True
    return any(
        (
            not rule.get("from")
            or any(peer_admits(peer, target.namespace, source) for peer in rule["from"])
        )
        and port_admits(rule.get("ports"), target, port)
        for policy in isolating
        for rule in policy["spec"].get("ingress", [])
    )


def all_policies() -> list[Doc]:
    return objects("NetworkPolicy") + objects("NetworkPolicy", K8S_TEMPORAL)


def our_pods() -> dict[str, Pod]:
    """The pods deploy/k8s runs, as rendered (their namespace and template labels)."""
    pods = {}
    for obj in workloads():
        template = pod_template(obj)
        ports = {
            p["name"]: p["containerPort"]
            for c in template["spec"]["containers"]
            for p in c.get("ports", [])
            if "name" in p
        }
        pods[obj["metadata"]["name"]] = Pod(
            obj["metadata"]["namespace"], template["metadata"]["labels"], ports
        )
    return pods


def chart_pod(component: str) -> Pod:
    """A pod of the Helm release `temporal`, labelled as the chart labels them."""
    return Pod(
        TEMPORAL,
        {
            "app.kubernetes.io/name": "temporal",
            "app.kubernetes.io/instance": "temporal",
            "app.kubernetes.io/component": component,
        },
    )


def pods() -> dict[str, Pod]:
    found = our_pods()
    assert {"mediation-worker", "mediation-api", "mediation-migrate"} <= set(found), found
    return found | {
        **{f"temporal-{c}": chart_pod(c) for c in ("frontend", "history", "matching", "worker")},
        "temporal-web": chart_pod("web"),
        "temporal-admintools": chart_pod("admintools"),
        # The case store, when it runs in the service's namespace (ACCESS.md's label).
        "case-store": Pod(MEDIATION, {"app.kubernetes.io/name": "case-store"}),
        # Others: a debugging pod beside the service, Temporal's database, a pod elsewhere
        # wearing the worker's label, the site's ingress controller and Prometheus
        # (the placeholder namespaces of the manifests).
        "stranger": Pod(MEDIATION, {"app.kubernetes.io/name": "debug-shell"}),
        "unlabelled": Pod(MEDIATION, {}),
        "temporal-db": Pod(TEMPORAL, {"app.kubernetes.io/name": "postgresql"}),
        "impostor": Pod("default", {"app.kubernetes.io/name": "mediation-worker"}),
        "ingress": Pod("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"}),
        "prometheus": Pod("monitoring", {"app.kubernetes.io/name": "prometheus"}),
    }


TEMPORAL_SERVERS = ["temporal-frontend", "temporal-history", "temporal-matching", "temporal-worker"]

# (target, port): who may connect; every other pod of pods() may not.
EXPECTED: dict[tuple[str, int], set[str]] = {
    # The frontend's gRPC port, behind mutual TLS.
    ("temporal-frontend", 7233): {
        "mediation-worker",
        "mediation-api",
        "mediation-temporal-setup",
        "temporal-web",
        "temporal-admintools",
        *TEMPORAL_SERVERS,
    },
    ("temporal-frontend", 7243): set(TEMPORAL_SERVERS),  # its HTTP API: no client uses it
    ("temporal-frontend", 6933): set(TEMPORAL_SERVERS),  # membership
    ("temporal-history", 7234): set(TEMPORAL_SERVERS),  # plain-text internode gRPC
    ("temporal-matching", 7235): set(TEMPORAL_SERVERS),
    ("temporal-worker", 6939): set(TEMPORAL_SERVERS),
    ("temporal-history", 9090): {*TEMPORAL_SERVERS, "prometheus"},
    ("temporal-web", 8080): set(),  # not exposed: port-forward only
    ("temporal-admintools", 22): set(),
    ("case-store", 5432): {"mediation-worker", "mediation-api", "mediation-migrate"},
    ("mediation-api", 8000): {"ingress", "prometheus"},
    ("mediation-worker", 9464): {"prometheus"},
    ("mediation-migrate", 8000): set(),
    ("mediation-temporal-setup", 8000): set(),
}


@pytest.mark.parametrize(("target", "port"), list(EXPECTED), ids=lambda v: str(v))
def test_network_policies_admit_exactly_the_intended_clients(target: str, port: int) -> None:
    policies = all_policies()
    everyone = pods()
    expected = EXPECTED[(target, port)] - {target}  # a pod's connections to itself aside
    admits = {
        name
        for name, source in everyone.items()
        if name != target and admitted(policies, source, everyone[target], port)
    }
    assert admits == expected, (
        f"{target}:{port} admits {sorted(admits - expected)} too, "
        f"and not {sorted(expected - admits)}"
    )


def test_without_the_policies_everything_would_be_admitted() -> None:
    """The evaluation is not vacuous: the deny comes from the policies."""
    everyone = pods()
    frontend, store = everyone["temporal-frontend"], everyone["case-store"]
    assert admitted([], everyone["stranger"], frontend, 7233)
    without_temporal_side = objects("NetworkPolicy")
    assert admitted(without_temporal_side, everyone["impostor"], frontend, 7233)
    assert not admitted(all_policies(), everyone["impostor"], frontend, 7233)
    no_default_deny = [p for p in all_policies() if p["metadata"]["name"] != "default-deny-ingress"]
    assert admitted(no_default_deny, everyone["stranger"], everyone["mediation-migrate"], 8000)
    assert not admitted(no_default_deny, everyone["stranger"], store, 5432)


def test_selector_semantics() -> None:
    labels = {"app": "a", "tier": "x"}
    assert selects({}, labels)
    assert selects({"matchLabels": {"app": "a"}}, labels)
    assert not selects({"matchLabels": {"app": "b"}}, labels)
    assert selects(
        {"matchExpressions": [{"key": "app", "operator": "In", "values": ["a"]}]}, labels
    )
    assert not selects(
        {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["a"]}]}, labels
    )
    assert selects({"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]}, labels)
    assert not selects({"matchExpressions": [{"key": "zone", "operator": "Exists"}]}, labels)
    # A peer with both selectors: that namespace AND those pods; podSelector alone: the
    # policy's own namespace.
    peer = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "n1"}},
        "podSelector": {"matchLabels": {"app": "a"}},
    }
    assert peer_admits(peer, "n2", Pod("n1", labels))
    assert not peer_admits(peer, "n2", Pod("n3", labels))
    assert not peer_admits({"podSelector": {}}, "n2", Pod("n1", labels))
