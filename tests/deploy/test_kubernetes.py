"""The Kubernetes manifests: every overlay renders with kustomize, validates against the Kubernetes
schemas offline (kubeconform, strict), and is consistent with the service it deploys."""

from __future__ import annotations

import copy
import itertools
import json
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
import yaml

from consumer.observability import Health, create_app
from consumer.route import Router
from consumer.routing_loader import load_routing
from consumer.settings import Environment, Settings
from tests.deploy.conftest import (
    OVERLAYS,
    Doc,
    Rendered,
    is_setting,
    kustomize_build,
    schema_dir,
    tool,
    tool_versions,
    variant,
)

# Custom resources: no schema ships with Kubernetes; their structure is checked below instead.
CRD_KINDS = ("ScaledObject", "TriggerAuthentication", "ServiceMonitor", "PrometheusRule")
# Secrets the platform engineer creates per environment (docs/deploying/kubernetes.md).
EXTERNAL_SECRETS = {
    "hubspot-private-app-qa",
    "hubspot-private-app-prod",
    "kafka-credentials",
    "hubspot-simulator-control",
}
SHUTDOWN_MARGIN_S = 15  # after the drain: commit, leave the group, close the DLQ producer
SettingsFromEnv = Callable[[Mapping[str, str]], Settings]


def kubeconform_run(docs: list[Doc], k8s_version: str) -> subprocess.CompletedProcess[str]:
    """kubeconform, strict, against the offline schemas of ``k8s_version``, custom resources skipped."""
    location = str(
        schema_dir()
        / "{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}"
        / "{{ .ResourceKind }}{{ .KindSuffix }}.json"
    )
    args = [
        str(tool("kubeconform")),
        "-strict",
        "-summary",
        "-output",
        "json",
        "-kubernetes-version",
        k8s_version,
        "-schema-location",
        location,
        "-skip",
        ",".join(CRD_KINDS),
        "-",
    ]
    return subprocess.run(
        args, input=yaml.safe_dump_all(docs), capture_output=True, text=True, timeout=120, check=False
    )


def kubeconform(docs: list[Doc], k8s_version: str) -> dict[str, int]:
    """The summary of a run that must pass (a failure shows kubeconform's findings)."""
    result = kubeconform_run(docs, k8s_version)
    assert result.returncode == 0, result.stdout + result.stderr
    summary: dict[str, int] = json.loads(result.stdout)["summary"]
    return summary


def k8s_versions() -> list[str]:
    return tool_versions()["KUBERNETES_VERSIONS"].split()


# ------------------------------------------------------------------------------------------- schema


@pytest.mark.parametrize("k8s_version", k8s_versions())
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_validates_against_the_kubernetes_schemas(
    rendered: dict[str, Rendered], overlay: str, k8s_version: str
) -> None:
    docs = rendered[overlay].docs
    summary = kubeconform(docs, k8s_version)
    assert summary == {"valid": len(docs), "invalid": 0, "errors": 0, "skipped": 0}


@pytest.mark.parametrize(
    ("overlay", "components"),
    [("prod", ["prometheus-operator", "keda"]), ("qa", ["keda"]), ("dev", ["prometheus-operator"])],
)
def test_optional_components_render_and_validate(tmp_path: Path, overlay: str, components: list[str]) -> None:
    docs = kustomize_build(variant(tmp_path / "variant", overlay, components))
    crds = [d for d in docs if d["kind"] in CRD_KINDS]
    assert crds, "the components add their custom resources"
    summary = kubeconform(docs, k8s_versions()[-1])
    assert summary == {"valid": len(docs) - len(crds), "invalid": 0, "errors": 0, "skipped": len(crds)}


def test_kubeconform_rejects_an_unknown_field_so_the_schemas_really_load(
    rendered: dict[str, Rendered],
) -> None:
    docs = copy.deepcopy(rendered["prod"].docs)
    workload = next(d for d in docs if d["kind"] == "StatefulSet")
    workload["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGett"] = {"path": "/healthz"}
    result = kubeconform_run(docs, k8s_versions()[-1])
    assert result.returncode == 1
    assert "httpGett" in result.stdout


# ------------------------------------------------------------------------------- settings and files


def test_setting_name_check_refuses_typos_and_sections() -> None:
    assert is_setting("SSC_KAFKA__BOOTSTRAP_SERVERS")
    assert is_setting("SSC_HUBSPOT__RATE_LIMIT__REPLICA_SHARE")
    assert not is_setting("SSC_KAFKA__BOOTSTRAP_SERVER")
    assert not is_setting("SSC_KAFKA")
    assert not is_setting("KAFKA__BOOTSTRAP_SERVERS")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_environment_variable_is_a_real_setting_with_a_valid_value(
    rendered: dict[str, Rendered], overlay: str, settings_from_env: SettingsFromEnv
) -> None:
    env = rendered[overlay].env()
    unknown = sorted(name for name in env if not is_setting(name))
    assert not unknown, f"{overlay}: not settings of consumer/settings.py: {unknown}"
    settings = settings_from_env(env)
    assert settings.environment is Environment(overlay)
    assert settings.kafka.group_instance_id == "single-send-consumer-0"


def _mount_for(r: Rendered, path: Path) -> tuple[Doc, Doc]:
    """The (volumeMount, volume) whose mountPath is ``path``'s directory."""
    mount = next(m for m in r.container["volumeMounts"] if Path(m["mountPath"]) == path.parent)
    volumes = r.workload["spec"]["template"]["spec"]["volumes"]
    return mount, next(v for v in volumes if v["name"] == mount["name"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_routing_file_is_mounted_and_builds_for_the_environment(
    rendered: dict[str, Rendered], overlay: str, settings_from_env: SettingsFromEnv, tmp_path: Path
) -> None:
    r = rendered[overlay]
    settings = settings_from_env(r.env())
    _mount, volume = _mount_for(r, settings.routing_file)
    data = r.configmap(volume["configMap"]["name"])["data"]
    routing = tmp_path / "routing.yaml"
    routing.write_text(data[settings.routing_file.name], encoding="utf-8")
    router = Router.build(load_routing(routing), settings.environment)
    assert router.email_ids


def test_environments_send_different_template_ids(rendered: dict[str, Rendered], tmp_path: Path) -> None:
    text = rendered["prod"].configmap(
        next(
            d["metadata"]["name"]
            for d in rendered["prod"].of_kind("ConfigMap")
            if "routing" in d["metadata"]["name"]
        )
    )["data"]["routing.yaml"]
    (tmp_path / "routing.yaml").write_text(text, encoding="utf-8")
    config = load_routing(tmp_path / "routing.yaml")
    ids = {env: Router.build(config, env).email_ids for env in Environment}
    for a, b in itertools.combinations(Environment, 2):
        assert ids[a].isdisjoint(ids[b]), f"{a} and {b} share email ids"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_token_secret_is_mounted_as_a_directory_so_rotation_reaches_the_pod(
    rendered: dict[str, Rendered], overlay: str, settings_from_env: SettingsFromEnv
) -> None:
    r = rendered[overlay]
    settings = settings_from_env(r.env())
    token_file = settings.hubspot.auth.token_file
    assert token_file is not None
    assert settings.hubspot.auth.token is None, "no token in the environment"
    mount, volume = _mount_for(r, token_file)
    assert "subPath" not in mount, "a subPath mount never sees an updated Secret"
    assert mount.get("readOnly") is True
    secret_name = volume["secret"]["secretName"]
    generated = {d["metadata"]["name"]: d for d in r.of_kind("Secret")}
    if secret_name in generated:
        assert token_file.name in generated[secret_name].get("data", {})
    else:
        assert secret_name in EXTERNAL_SECRETS, (
            f"{overlay}: {secret_name} is neither generated nor documented"
        )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_referenced_configmap_exists(rendered: dict[str, Rendered], overlay: str) -> None:
    r = rendered[overlay]
    names = {d["metadata"]["name"] for d in r.of_kind("ConfigMap")}
    for workload in (*r.of_kind("StatefulSet"), *r.of_kind("Deployment")):
        spec = workload["spec"]["template"]["spec"]
        refs = [v["configMap"]["name"] for v in spec.get("volumes", []) if "configMap" in v]
        for c in spec["containers"]:
            refs += [s["configMapRef"]["name"] for s in c.get("envFrom", []) if "configMapRef" in s]
        assert set(refs) <= names


# ------------------------------------------------------------------------------- probes and service


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_and_service_match_the_observability_server(
    rendered: dict[str, Rendered], overlay: str, settings_from_env: SettingsFromEnv
) -> None:
    r = rendered[overlay]
    settings = settings_from_env(r.env())
    app = create_app(lambda: Health(alive=True, ready=True, detail={}))
    served = {route.resource.canonical for route in app.router.routes() if route.resource is not None}
    ports = {p["name"]: p["containerPort"] for p in r.container["ports"]}

    probes = {
        kind: r.container[kind]["httpGet"] for kind in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    assert probes["livenessProbe"]["path"] == "/healthz"
    assert probes["startupProbe"]["path"] == "/healthz"
    assert probes["readinessProbe"]["path"] == "/readyz"
    for probe in probes.values():
        assert probe["path"] in served
        assert ports[probe["port"]] == settings.observability.port

    service = r.one("Service", "single-send-consumer")
    (port,) = service["spec"]["ports"]
    assert ports[port["targetPort"]] == settings.observability.port
    for scrape in (
        service["metadata"]["annotations"],
        r.workload["spec"]["template"]["metadata"]["annotations"],
    ):
        assert scrape["prometheus.io/port"] == str(settings.observability.port)
        assert scrape["prometheus.io/path"] in served


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_grace_period_exceeds_the_drain_deadline(
    rendered: dict[str, Rendered], overlay: str, settings_from_env: SettingsFromEnv
) -> None:
    r = rendered[overlay]
    settings = settings_from_env(r.env())
    grace = r.workload["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace >= settings.engine.drain_deadline_s + SHUTDOWN_MARGIN_S


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_static_membership_uses_the_stable_pod_name(rendered: dict[str, Rendered], overlay: str) -> None:
    r = rendered[overlay]
    (item,) = [e for e in r.container["env"] if e["name"] == "SSC_KAFKA__GROUP_INSTANCE_ID"]
    assert item["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    # Only a StatefulSet restarts a pod under the same name (a Deployment's names are random).
    assert r.workload["kind"] == "StatefulSet"
    assert r.workload["spec"]["serviceName"] == r.one("Service", "single-send-consumer")["metadata"]["name"]


def _selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_selectors_pick_the_consumer_pods_and_nothing_else(
    rendered: dict[str, Rendered], overlay: str
) -> None:
    r = rendered[overlay]
    consumer_labels = r.workload["spec"]["template"]["metadata"]["labels"]
    others = [d["spec"]["template"]["metadata"]["labels"] for d in r.of_kind("Deployment")]
    selectors = [
        r.workload["spec"]["selector"]["matchLabels"],
        r.one("Service", "single-send-consumer")["spec"]["selector"],
        r.one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
    ]
    for selector in selectors:
        assert _selects(selector, consumer_labels)
        assert not any(_selects(selector, labels) for labels in others)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_run_unprivileged_with_requests_and_limits(rendered: dict[str, Rendered], overlay: str) -> None:
    r = rendered[overlay]
    for workload in (*r.of_kind("StatefulSet"), *r.of_kind("Deployment")):
        spec = workload["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["automountServiceAccountToken"] is False
        for c in spec["containers"]:
            assert c["securityContext"]["allowPrivilegeEscalation"] is False
            assert c["securityContext"]["readOnlyRootFilesystem"] is True
            assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
            assert {"cpu", "memory"} <= set(c["resources"]["requests"])
            assert {"cpu", "memory"} <= set(c["resources"]["limits"])


def test_disruption_budget_allows_evicting_paused_pods(rendered: dict[str, Rendered]) -> None:
    # A paused pipeline makes every pod unready; evictions (node drains) must still go through.
    pdb = rendered["prod"].one("PodDisruptionBudget")["spec"]
    assert pdb["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    assert pdb["maxUnavailable"] == 1


# ------------------------------------------------------------------------------------- environments


def test_overlays_differ_in_credentials_topics_replicas_and_limits(
    rendered: dict[str, Rendered], settings_from_env: SettingsFromEnv
) -> None:
    def facts(r: Rendered) -> dict[str, object]:
        settings = settings_from_env(r.env())
        volumes = r.workload["spec"]["template"]["spec"]["volumes"]
        return {
            "secret": next(v["secret"]["secretName"] for v in volumes if v["name"] == "hubspot-token"),
            "namespace": r.workload["metadata"]["namespace"],
            "topics": settings.kafka.topics,
            "group": settings.kafka.group_id,
            "replicas": r.workload["spec"]["replicas"],
            "limits": json.dumps(r.container["resources"], sort_keys=True),
        }

    all_facts = {o: facts(rendered[o]) for o in OVERLAYS}
    for a, b in itertools.combinations(OVERLAYS, 2):
        same = [k for k in all_facts[a] if all_facts[a][k] == all_facts[b][k]]
        assert not same, f"{a} and {b} share {same}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_replicas_share_the_hubspot_budget_without_exceeding_it(
    rendered: dict[str, Rendered], overlay: str, settings_from_env: SettingsFromEnv
) -> None:
    r = rendered[overlay]
    share = settings_from_env(r.env()).hubspot.rate_limit.replica_share
    assert r.workload["spec"]["replicas"] * share <= 1.0


def test_keda_scales_this_statefulset_on_this_group_within_the_budget(
    tmp_path: Path, settings_from_env: SettingsFromEnv
) -> None:
    r = Rendered("prod+keda", kustomize_build(variant(tmp_path / "v", "prod", ["keda"])))
    settings = settings_from_env(r.env())
    scaled = r.one("ScaledObject")["spec"]
    assert scaled["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "name": r.workload["metadata"]["name"],
    }
    (trigger,) = scaled["triggers"]
    assert trigger["metadata"]["bootstrapServers"] == settings.kafka.bootstrap_servers
    assert trigger["metadata"]["consumerGroup"] == settings.kafka.group_id
    assert trigger["metadata"]["allowIdleConsumers"] == "false"
    assert trigger["authenticationRef"]["name"] == r.one("TriggerAuthentication")["metadata"]["name"]
    assert scaled["maxReplicaCount"] * settings.hubspot.rate_limit.replica_share <= 1.0
    assert 1 <= scaled["minReplicaCount"] <= scaled["maxReplicaCount"]


def test_service_monitor_scrapes_the_metrics_port(tmp_path: Path) -> None:
    r = Rendered("prod+monitoring", kustomize_build(variant(tmp_path / "v", "prod", ["prometheus-operator"])))
    monitor = r.one("ServiceMonitor")["spec"]
    service = r.one("Service", "single-send-consumer")
    assert _selects(monitor["selector"]["matchLabels"], service["metadata"]["labels"])
    (endpoint,) = monitor["endpoints"]
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"


def test_dev_simulator_accepts_the_consumers_token_and_is_its_base_url(
    rendered: dict[str, Rendered], settings_from_env: SettingsFromEnv
) -> None:
    r = rendered["dev"]
    settings = settings_from_env(r.env())
    simulator = r.one("Deployment", "hubspot-simulator")
    service = r.one("Service", "hubspot-simulator")
    assert (
        settings.hubspot.base_url
        == f"http://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}"
    )
    container = simulator["spec"]["template"]["spec"]["containers"][0]
    assert "--token=$(HUBSPOT_TOKEN)" in container["args"]
    (token_env,) = [e for e in container["env"] if e["name"] == "HUBSPOT_TOKEN"]
    volumes = r.workload["spec"]["template"]["spec"]["volumes"]
    consumer_secret = next(v["secret"]["secretName"] for v in volumes if v["name"] == "hubspot-token")
    assert token_env["valueFrom"]["secretKeyRef"]["name"] == consumer_secret


# ---------------------------------------------------------------------------------- network exposure


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_and_the_scraper_reach_the_observability_server(
    rendered: dict[str, Rendered], overlay: str, settings_from_env: SettingsFromEnv
) -> None:
    # The setting defaults to loopback (a laptop); in a pod the kubelet and Prometheus come from outside.
    assert settings_from_env(rendered[overlay].env()).observability.host == "0.0.0.0"  # noqa: S104


def test_the_dev_simulator_guards_its_control_api_with_a_token_from_a_secret(
    rendered: dict[str, Rendered],
) -> None:
    simulator = rendered["dev"].one("Deployment", "hubspot-simulator")
    (container,) = simulator["spec"]["template"]["spec"]["containers"]
    assert "--host=0.0.0.0" in container["args"]
    (control,) = [e for e in container["env"] if e["name"] == "SSC_SIMULATOR_CONTROL_TOKEN"]
    ref = control["valueFrom"]["secretKeyRef"]
    assert ref["name"] in EXTERNAL_SECRETS, "created outside git, never a literal in the overlay"
    generated = {d["metadata"]["name"] for d in rendered["dev"].of_kind("Secret")}
    assert ref["name"] not in generated


def _rule_ports(rule: Doc) -> set[tuple[object, str]]:
    return {(p["port"], p.get("protocol", "TCP")) for p in rule.get("ports", [])}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policy_component_allows_exactly_what_the_consumer_needs(
    tmp_path: Path, overlay: str, settings_from_env: SettingsFromEnv
) -> None:
    r = Rendered(
        f"{overlay}+network-policy", kustomize_build(variant(tmp_path / "v", overlay, ["network-policy"]))
    )
    summary = kubeconform(r.docs, k8s_versions()[-1])
    assert summary["invalid"] == summary["errors"] == 0
    settings = settings_from_env(r.env())
    policy = r.one("NetworkPolicy", "single-send-consumer")["spec"]
    consumer_labels = r.workload["spec"]["template"]["metadata"]["labels"]
    assert _selects(policy["podSelector"]["matchLabels"], consumer_labels)
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}

    (scrape,) = policy["ingress"]
    ports = {p["name"]: p["containerPort"] for p in r.container["ports"]}
    assert {ports[p["port"]] for p in scrape["ports"]} == {settings.observability.port}

    dns, kafka, hubspot, simulator = policy["egress"]
    assert _rule_ports(dns) == {(53, "UDP"), (53, "TCP")}
    host, _, port = settings.kafka.bootstrap_servers.split(",")[0].rpartition(":")
    (brokers,) = kafka["to"]
    assert brokers["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == host.split(".")[1]
    assert (int(port), "TCP") in _rule_ports(kafka)
    (public,) = hubspot["to"]
    assert public["ipBlock"]["cidr"] == "0.0.0.0/0"
    assert "169.254.0.0/16" in public["ipBlock"]["except"], "no cloud metadata endpoint"
    assert "10.0.0.0/8" in public["ipBlock"]["except"]
    assert _rule_ports(hubspot) == {(443, "TCP")}
    if overlay == "dev":
        sim = r.one("Deployment", "hubspot-simulator")
        assert _selects(
            simulator["to"][0]["podSelector"]["matchLabels"], sim["spec"]["template"]["metadata"]["labels"]
        )
        assert settings.hubspot.base_url.endswith(f":{simulator['ports'][0]['port']}")
        guard = r.one("NetworkPolicy", "hubspot-simulator")["spec"]
        (only,) = guard["ingress"]
        assert _selects(only["from"][0]["podSelector"]["matchLabels"], consumer_labels)
        assert guard["egress"] == []
    else:
        assert settings.hubspot.base_url.startswith("https://")
