"""GET /bench/bare and GET /bench/write (bench/intake.py's baselines) exist only with
HOTLEAD_BENCH_BARE=1 (the durable write itself is measured by the bench, against its
own table)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from hotlead_app.settings import PROJECT_ROOT

PROBE = """
import json, warnings
warnings.simplefilter("ignore")
from fastapi.testclient import TestClient
from hotlead_app.api import build_app
app = build_app()
client = TestClient(app)
bare = client.get("/bench/bare")
print(json.dumps({
    "healthz": client.get("/healthz").status_code,
    "status": bare.status_code,
    "body": bare.json() if bare.status_code == 200 else None,
    "openapi": client.get("/api/v1/openapi.json").text,
    # POST on a GET route: 405 when the route exists, 404 when not (the write never runs).
    "write": client.post("/bench/write").status_code,
}))
"""


def _probe(bench_bare: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "HOTLEAD_BENCH_BARE"}
    if bench_bare is not None:
        env["HOTLEAD_BENCH_BARE"] = bench_bare
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_bench_route_is_absent_by_default():
    for value in (None, "0", ""):
        probe = _probe(value)
        assert probe["healthz"] == 200
        assert probe["status"] == 404
        assert "bench" not in probe["openapi"]
        assert probe["write"] == 404


def test_bench_route_answers_with_the_variable_and_stays_out_of_openapi():
    probe = _probe("1")
    assert probe["healthz"] == 200
    assert probe["status"] == 200
    assert probe["body"] == {"ok": True}
    assert "bench" not in probe["openapi"]
    assert probe["write"] == 405
