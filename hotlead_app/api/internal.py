"""``python -m hotlead_app.api.internal``: ``/metrics``, ``/readyz`` and
``/healthz`` on the internal port (``HOTLEAD_INTERNAL_HOST``:``HOTLEAD_INTERNAL_PORT``),
without a token, for Prometheus and the orchestrator's health checks.

It shares ``PROMETHEUS_MULTIPROC_DIR`` with the web server's processes, so one scrape
here aggregates all of them, plus the gauges read from PostgreSQL and Redis.  Bind it
to an address only the monitoring network reaches; the public port refuses these paths
outside dev (``api/ops.py``).
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    from hotlead_app.infra.logging import configure_logging
    from hotlead_app.settings import get_settings

    settings = get_settings()
    parser = argparse.ArgumentParser(prog="hotlead-internal", description=__doc__)
    parser.add_argument("--host", default=settings.internal_host)
    parser.add_argument("--port", type=int, default=settings.internal_port)
    args = parser.parse_args(argv)
    if not args.port:
        print("HOTLEAD_INTERNAL_PORT is 0: the internal server is disabled", file=sys.stderr)
        return 2
    configure_logging("internal")

    import uvicorn

    from hotlead_app.api.ops import build_internal_app
    from hotlead_app.infra.logging import RequestIdMiddleware

    app = build_internal_app()
    app.add_middleware(RequestIdMiddleware)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False, lifespan="off", workers=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
