"""ops/grafana: the provisioning files point at the services docker-compose runs, the
dashboard covers what the operations issue asks for, and every metric a panel's query
reads is one the platform really exports (read from real scrapes: tests/ops/conftest.py)."""

from __future__ import annotations

import json

import yaml

from hotlead_app.settings import PROJECT_ROOT
from tests.ops.promql import PROMETHEUS_OWN, metric_names

GRAFANA = PROJECT_ROOT / "ops" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))


def prometheus_targets():
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                datasource = target.get("datasource") or panel.get("datasource") or {}
                if datasource.get("type") == "prometheus":
                    yield path.name, panel, target


def test_datasources_are_provisioned_with_the_uids_the_dashboard_uses():
    provisioned = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "datasources.yml").read_text())
    sources = {s["uid"]: s for s in provisioned["datasources"]}
    assert sources["prometheus"]["url"] == "http://prometheus:9090" and sources["prometheus"]["isDefault"]
    assert sources["loki"]["url"] == "http://loki:3100"
    used = set()
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                used.add((target.get("datasource") or panel["datasource"])["uid"])
    assert used <= set(sources)


def test_the_dashboard_provider_loads_the_dashboards_folder():
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "hotlead.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    assert DASHBOARDS, "no dashboard JSON"


def test_the_dashboard_covers_funnel_latency_revenue_queues_failures_payments_and_drift():
    read = set()
    titles = {}
    for _name, panel, target in prometheus_targets():
        read |= metric_names(target["expr"])
        titles[panel["id"]] = panel["title"]
    for needed in (
        "hotlead_lead_transitions_total",
        "hotlead_distribution_duration_seconds_bucket",
        "hotlead_charges_amount_total",
        "hotlead_refunds_amount_total",
        "hotlead_celery_queue_length",
        "hotlead_celery_tasks_total",
        "hotlead_emails_total",
        "hotlead_webhook_events_total",
        "hotlead_deposits_amount_total",
        "hotlead_ledger_drift_providers",
        "hotlead_leads_waiting_distribution",
        "hotlead_reconciliation_issues_open",
    ):
        assert needed in read, needed
    assert len(titles) == len(set(titles.values())), "two panels share a title"


def test_panels_have_unique_ids_and_every_prometheus_panel_has_a_query():
    for path in DASHBOARDS:
        panels = json.loads(path.read_text())["panels"]
        ids = [p["id"] for p in panels]
        assert len(ids) == len(set(ids)), path.name
        for panel in panels:
            if panel["type"] != "row":
                assert panel.get("targets"), f"{path.name}: {panel['title']} has no query"


def test_every_metric_a_panel_reads_is_exported(exported_metric_names):
    checked = 0
    for name, panel, target in prometheus_targets():
        read = metric_names(target["expr"])
        assert read, f"{name}: no metric found in {target['expr']!r}"
        missing = read - exported_metric_names - PROMETHEUS_OWN
        assert not missing, f"{name}: panel {panel['title']!r} reads {missing}, which nothing exports"
        checked += 1
    assert checked >= 20


def test_metric_names_reads_names_not_functions_labels_or_durations():
    expr = (
        'histogram_quantile(0.95, sum by (le, route) (rate(hotlead_x_bucket{route=~"/a.*", b="c"}[5m])))'
        ' / on(job) group_left hotlead_y offset 5m > 1e3 and absent(up{job="z"}) or time() - hotlead_z'
    )
    assert metric_names(expr) == {"hotlead_x_bucket", "hotlead_y", "up", "hotlead_z"}
    assert metric_names("sum(rate(a_total[$__rate_interval])) by (task) * 60") == {"a_total"}
