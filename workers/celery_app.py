"""``celery -A workers.celery_app worker|beat``: the app with every task registered."""

from hotlead_app.infra.queue import get_celery

app = get_celery()

from hotlead_app.infra import logging as _logging, metrics as _metrics  # noqa: E402

_logging.install_celery_signals()  # JSON logs with task_id, lead_id, provider_id
_metrics.install_celery_signals()  # task outcomes; the worker's metrics port

import workers.tasks  # noqa: E402,F401  (registers the tasks on app)
