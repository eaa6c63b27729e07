"""``celery -A workers.celery_app worker|beat``: the app with every task registered."""

from typing import ClassVar

from celery import bootsteps

import workers.tasks  # noqa: F401  (registers the tasks on the app)
from hotlead_app.infra import logging as _logging
from hotlead_app.infra import metrics as _metrics
from hotlead_app.infra.queue import get_celery
from hotlead_app.services import outbox as _outbox

app = get_celery()

_logging.install_celery_signals()  # JSON logs with task_id, lead_id, provider_id
_metrics.install_celery_signals()  # task outcomes; the worker's metrics port


class OutboxRelay(bootsteps.StartStopStep):
    """Every worker runs the outbox relay on a thread of its main process: the
    jobs that transactions wrote go to the broker within a fraction of a second
    (several workers share the rows with SKIP LOCKED).  Started after the pool, so
    the pool's processes are forked before the relay opens database connections."""

    requires: ClassVar[set[str]] = {"celery.worker.components:Pool"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.relay = _outbox.Relay()

    def start(self, worker):
        self.relay.start()

    def stop(self, worker):
        self.relay.stop()


app.steps["worker"].add(OutboxRelay)
