"""ops/prometheus: the config and the rules pass promtool, every alert has unit tests
(one where it fires and one where it stays quiet), the alerts the operations issue asks
for exist, and every metric the rules read is one the platform really exports."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from hotlead_app.settings import PROJECT_ROOT
from tests.ops.promql import PROMETHEUS_OWN, metric_names

PROM_DIR = PROJECT_ROOT / "ops" / "prometheus"
RULE_TESTS = sorted(PROM_DIR.glob("alerts_test*.yml"))
REQUIRED = {
    "HotleadQueueBacklog",
    "HotleadTaskFailureRate",
    "HotleadPaymentWebhookErrors",
    "HotleadReconciliationIssuesOpen",
    "HotleadLedgerDrift",
    "HotleadApprovedLeadsWaiting",
    "HotleadEmailFailures",
    "HotleadAppDown",
    "HotleadRestoreCheckStale",
}


def promtool() -> str:
    found = shutil.which("promtool")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("promtool is missing in CI: .ci/run installs Debian's `prometheus` package, which ships it")
    pytest.skip("promtool is not installed (Debian: apt-get install prometheus); CI installs it")


def run_promtool(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([promtool(), *args], cwd=PROM_DIR, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"promtool {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def alert_rules() -> list[dict]:
    groups = yaml.safe_load((PROM_DIR / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_promtool_accepts_the_config():
    out = run_promtool("check", "config", "prometheus.yml").stdout
    assert "1 rule files found" in out


def test_promtool_accepts_the_rules():
    out = run_promtool("check", "rules", "alerts.yml").stdout
    assert f"{len(alert_rules())} rules found" in out


def test_promtool_unit_tests_of_the_rules_pass():
    out = run_promtool("test", "rules", *(p.name for p in RULE_TESTS)).stdout
    assert out.count("SUCCESS") == len(RULE_TESTS)


def test_every_alert_has_a_test_where_it_fires_and_one_where_it_does_not():
    fires, quiet = set(), set()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fires if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in alert_rules()}
    assert names - fires == set(), "alerts never shown firing"
    assert names - quiet == set(), "alerts never shown staying quiet"


def test_the_alerts_the_operations_issue_asks_for_exist_with_a_severity_and_a_description():
    rules = alert_rules()
    assert {rule["alert"] for rule in rules} >= REQUIRED
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]


def test_prometheus_scrapes_the_app_and_the_workers():
    config = yaml.safe_load((PROM_DIR / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["hotlead-app"]["static_configs"][0]["targets"] == ["app:9400"]
    assert jobs["hotlead-worker"]["dns_sd_configs"][0]["names"] == ["worker"]
    assert jobs["hotlead-worker"]["dns_sd_configs"][0]["port"] == 9401
    assert config["rule_files"] == ["alerts.yml"]


def test_every_metric_the_alerts_read_is_exported(exported_metric_names):
    for rule in alert_rules():
        missing = metric_names(rule["expr"]) - exported_metric_names - PROMETHEUS_OWN
        assert not missing, f"{rule['alert']} reads {missing}, which nothing exports"
