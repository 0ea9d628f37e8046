"""deploy/ checked offline: the Kubernetes manifests of every overlay against the bundled
Kubernetes JSON schemas (kubernetes-validate, strict: unknown fields fail), what operations
need of them (probes, resources, autoscaling, the migration Job, secrets, network policies),
and the alert rules and dashboard against the metrics the services export."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from launcher.embedded import SETTINGS
from shared.observability import metrics
from tests.support.kustomize import containers, render

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
OVERLAYS = sorted(p.parent.name for p in (DEPLOY / "k8s" / "overlays").glob("*/kustomization.yaml"))
KUBERNETES_VERSIONS = ("1.30.0", "1.33.0")
SERVICES = ("gateway", "ingest", "mapping", "invoicing")
SETTINGS_VARIABLES = {f"ICB_{name.upper()}" for cls in SETTINGS for name in cls.model_fields}
PUBLIC_PATHS = {"/v1", "/openapi.json", "/docs", "/redoc", "/problems", "/console"}


def of_kind(resources: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


@pytest.fixture(params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(DEPLOY / "k8s" / "overlays" / request.param)


def test_there_are_overlays_for_staging_and_production() -> None:
    assert {"staging", "production"} <= set(OVERLAYS)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_is_valid_kubernetes(rendered: list[dict[str, Any]], version: str) -> None:
    for resource in rendered:
        kubernetes_validate.validate(resource, version, strict=True)


def test_the_validator_refuses_a_misspelt_field(rendered: list[dict[str, Any]]) -> None:
    deployment = next(r for r in rendered if r["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)


def test_each_service_is_deployed_with_probes_resources_and_an_autoscaler(
    rendered: list[dict[str, Any]],
) -> None:
    deployments = of_kind(rendered, "Deployment")
    services = of_kind(rendered, "Service")
    autoscalers = {
        h["spec"]["scaleTargetRef"]["name"]: h
        for h in rendered
        if h["kind"] == "HorizontalPodAutoscaler"
    }
    assert set(deployments) == {f"icb-{s}" for s in SERVICES}
    for name, deployment in deployments.items():
        (container,) = containers(deployment)
        assert container["args"][:2] == ["serve", name.removeprefix("icb-")]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert "memory" in container["resources"]["limits"]
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/path"] == "/metrics"
        assert name in services
        hpa = autoscalers[name]
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]


def test_settings_and_secrets_name_only_options_the_services_read(
    rendered: list[dict[str, Any]],
) -> None:
    config = of_kind(rendered, "ConfigMap")
    secrets = of_kind(rendered, "Secret")
    assert set(config["icb-config"]["data"]) <= SETTINGS_VARIABLES
    assert {"ICB_INTERNAL_SECRET", "ICB_CONNECTION_KEY", "ICB_DATABASE_URL"} <= set(
        secrets["icb-secrets"]["stringData"]
    )
    assert not set(config["icb-config"]["data"]) & set(secrets["icb-secrets"]["stringData"])
    for workload in [*of_kind(rendered, "Deployment").values(), *of_kind(rendered, "Job").values()]:
        for container in containers(workload):
            for source in container["envFrom"]:
                ref = source.get("configMapRef") or source["secretRef"]
                assert ref["name"] in config or ref["name"] in secrets
            assert {e["name"] for e in container.get("env", [])} <= SETTINGS_VARIABLES


def test_migrations_run_as_a_job(rendered: list[dict[str, Any]]) -> None:
    (container,) = containers(of_kind(rendered, "Job")["icb-migrate"])
    assert container["args"] == ["migrate"]


def test_only_the_gateway_is_reachable_from_outside(rendered: list[dict[str, Any]]) -> None:
    policies = of_kind(rendered, "NetworkPolicy")
    deny = [
        p
        for p in policies.values()
        if p["spec"]["podSelector"] == {} and not p["spec"].get("ingress")
    ]
    assert deny, "a default deny of ingress"
    open_to_all = {
        p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name")
        for p in policies.values()
        for rule in p["spec"].get("ingress", [])
        if "from" not in rule
    }
    assert open_to_all == {"icb-gateway"}
    (ingress,) = of_kind(rendered, "Ingress").values()
    backends = [
        (path["path"], path["backend"]["service"]["name"])
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]
    assert {path for path, _ in backends} <= PUBLIC_PATHS
    assert {service for _, service in backends} == {"icb-gateway"}


def exported() -> dict[str, set[str]]:
    """Every series name the services export, with the labels it may carry."""
    series: dict[str, set[str]] = {}
    for metric in vars(metrics).values():
        if not isinstance(metric, MetricWrapperBase):
            continue
        (family,) = metric.describe()
        labels = set(metric._labelnames)
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}
        for suffix in suffixes.get(family.type, [""]):
            series[family.name + suffix] = labels | ({"le"} if suffix == "_bucket" else set())
    return series


def check_expression(expr: str) -> None:
    series = exported()
    used = set(re.findall(r"\bicb_[a-z_]+\b", expr))
    assert used, expr
    assert used <= set(series), f"unknown series {used - set(series)} in {expr}"
    labels = set().union(*(series[u] for u in used))
    for group in re.findall(r"\bby \(([^)]*)\)", expr):
        assert {g.strip() for g in group.split(",")} <= labels, expr
    for name in re.findall(r"([a-z_]+)=~?\"", expr):
        assert name in labels, expr
    assert expr.count("(") == expr.count(")"), expr


def alert_rules() -> Iterator[dict[str, Any]]:
    document = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text())
    for group in document["groups"]:
        assert group["name"] and group["rules"]
        yield from group["rules"]


def test_alert_rules_cover_what_operations_needs_and_use_exported_metrics() -> None:
    rules = list(alert_rules())
    names = {r["alert"] for r in rules}
    assert {
        "IcbConsumerLagGrowing",
        "IcbOutboxStuck",
        "IcbDeadLetters",
        "IcbSyncsFailing",
        "IcbHttp5xxRate",
        "IcbBillingRunsFailing",
    } <= names
    runbook = (DEPLOY / "RUNBOOK.md").read_text().lower()
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert {"summary", "description", "runbook_url"} <= set(rule["annotations"])
        anchor = rule["annotations"]["runbook_url"].split("#")[1]
        assert f"## {anchor}" in runbook, f"the runbook explains {rule['alert']}"
        if "for" in rule:
            assert re.fullmatch(r"\d+[smh]", rule["for"])
        if "up{" not in rule["expr"]:
            check_expression(rule["expr"])


def test_the_dashboard_charts_exported_metrics() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "icb-operations.json").read_text())
    assert dashboard["uid"] and dashboard["title"]
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridPos"]
        mine = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not mine & cells, f"panel {panel['title']} overlaps another"
        assert grid["x"] + grid["w"] <= 24
        cells |= mine
        assert panel["targets"]
        for target in panel["targets"]:
            check_expression(target["expr"])
    charted = {
        m
        for p in panels
        for t in p["targets"]
        for m in re.findall(r"\bicb_[a-z]+(?:_[a-z]+)*", t["expr"])
    }
    for family in ("icb_consumer_lag", "icb_outbox_oldest_age_seconds", "icb_dead_letters_total"):
        assert family in charted
