"""Every Prometheus metric the platform exports, declared in one place.

Code that records a fact imports the metric from here (``metrics.EMAILS.labels(...).inc()``),
so the Grafana dashboard and the alert rules can be checked against this list.

Multiprocess mode (several server workers, Celery workers) is set up by the operations
work: ``PROMETHEUS_MULTIPROC_DIR`` must be set before ``prometheus_client`` is imported;
the scrape endpoint then aggregates every process's files.  Gauges that describe the
database (waiting leads, ledger drift, open reconciliation issues) are not kept here as
process state: a collector reads them from PostgreSQL at scrape time.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "hotlead_http_requests_total", "HTTP requests by route template, method and status",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "hotlead_http_request_duration_seconds", "HTTP request latency by route template",
    ["route", "method"], buckets=LATENCY_BUCKETS,
)
LEAD_TRANSITIONS = Counter(
    "hotlead_lead_transitions_total", "Lead state transitions by niche",
    ["niche", "from_state", "to_state"],
)
DISTRIBUTION_DURATION = Histogram(
    "hotlead_distribution_duration_seconds", "Time to distribute one lead (engine call, retries included)",
    buckets=LATENCY_BUCKETS,
)
ASSIGNMENTS = Counter("hotlead_assignments_total", "Assignments made by niche", ["niche"])
CHARGES_AMOUNT = Counter("hotlead_charges_amount_total", "Money charged for leads (in the platform currency)")
REFUNDS_AMOUNT = Counter("hotlead_refunds_amount_total", "Money refunded to providers (in the platform currency)")
CELERY_TASKS = Counter(
    "hotlead_celery_tasks_total", "Celery task outcomes by task name",
    ["task", "outcome"],  # outcome: success | failure | retry
)
EMAILS = Counter("hotlead_emails_total", "Emails by template and outcome", ["template", "outcome"])  # sent | failed
WEBHOOK_EVENTS = Counter(
    "hotlead_webhook_events_total", "Payment webhook events by processor and outcome",
    ["processor", "outcome"],  # processed | duplicate | ignored | invalid_signature | error
)
DEPOSITS_AMOUNT = Counter("hotlead_deposits_amount_total", "Completed deposits by processor", ["processor"])
PAYMENT_REVERSALS = Counter(
    "hotlead_payment_reversals_total", "Refunds/disputes of deposits posted as debits", ["processor", "kind"],
)
ADMIN_ALERTS = Counter("hotlead_admin_alerts_total", "Alerts sent to admins by kind", ["kind"])
