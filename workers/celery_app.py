"""``celery -A workers.celery_app worker|beat``: the app with every task registered."""

from hotlead_app.infra.queue import get_celery

app = get_celery()

import workers.tasks  # noqa: E402,F401  (registers the tasks on app)
