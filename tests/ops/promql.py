"""The metric names a PromQL expression reads (enough PromQL for our rules and panels)."""

from __future__ import annotations

import re

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
            "offset", "atan2", "inf", "nan", "Inf", "NaN"}
# Series that Prometheus itself makes: not the app's to export.
PROMETHEUS_OWN = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}


def metric_names(expr: str) -> set[str]:
    s = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)           # string literals
    s = re.sub(r"'(?:\\.|[^'\\])*'", "''", s)
    s = re.sub(r"\{[^}]*\}", "", s)                          # label matchers ($variables too)
    s = re.sub(r"\[[^\]]*\]", "", s)                         # ranges, subqueries, $__rate_interval
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)  # label lists
    names = set()
    for match in re.finditer(r"(?<![\w.$:])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", s):
        name, call = match.group(1), match.group(2)
        if call or name in KEYWORDS:
            continue
        names.add(name)
    return names


def test_metric_names_reads_names_not_functions_labels_or_durations():
    expr = ('histogram_quantile(0.95, sum by (le, route) (rate(hotlead_x_bucket{route=~"/a.*", b="c"}[5m])))'
            ' / on(job) group_left hotlead_y offset 5m > 1e3 and absent(up{job="z"}) or time() - hotlead_z')
    assert metric_names(expr) == {"hotlead_x_bucket", "hotlead_y", "up", "hotlead_z"}
    assert metric_names('sum(rate(a_total[$__rate_interval])) by (task) * 60') == {"a_total"}
