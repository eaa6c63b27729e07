"""The container image's way of serving, without Docker: the Dockerfile's frontend
stage (`reflex export`, public URL baked in) and its runtime stage (only the files it
COPYs, then its CMD, `hotlead serve`) are replayed from the Dockerfile itself, and a
real Chromium signs in through the result (pages, websocket and API on one port)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from hotlead_app.devstack.embedded import free_port
from hotlead_app.settings import PROJECT_ROOT
from tests.conftest import _copy_app, child_env, http_ok, point_settings_at, stop_process_group, wait_for
from tests.e2e.conftest import new_admin, sign_in


def _stages() -> dict[str, list[tuple[str, str]]]:
    """Each Dockerfile stage's instructions, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (PROJECT_ROOT / "Dockerfile").read_text())
    stages: dict[str, list[tuple[str, str]]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            current = rest.split()[-1]
            stages[current] = []
        elif current is not None:
            stages[current].append((word.upper(), rest.strip()))
    return stages


@pytest.fixture(scope="module")
def image_server(shared_db_url, redis_server) -> Iterator[tuple[str, int]]:
    point_settings_at(database_url=shared_db_url, redis_url=redis_server.url())
    from hotlead_app.services import bootstrap

    bootstrap.bootstrap()
    stages = _stages()
    port, internal_port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    base = Path(os.environ.get("HOTLEAD_E2E_APP_DIR") or PROJECT_ROOT / ".hotlead" / "e2e-app")
    build_dir = base.with_name(base.name + "-image-build")
    runtime_dir = base.with_name(base.name + "-image-runtime")

    # Frontend stage: the same sources, the same command, the public URL as REFLEX_API_URL.
    _copy_app(build_dir)
    if not any(rest.split()[0] == "assets" for word, rest in stages["frontend"] if word == "COPY"):
        shutil.rmtree(build_dir / "assets", ignore_errors=True)  # only what the stage copies
    shutil.rmtree(build_dir / ".web" / "public", ignore_errors=True)  # no asset left by an earlier build
    shutil.rmtree(build_dir / "reflex.lock", ignore_errors=True)
    shutil.copytree(PROJECT_ROOT / "reflex.lock", build_dir / "reflex.lock")
    (export,) = [rest for word, rest in stages["frontend"] if word == "RUN" and "reflex export" in rest]
    argv = shlex.split(export.split("&&")[0])
    assert argv[0] == "reflex"
    env = child_env(shared_db_url, redis_server.url(), REFLEX_API_URL=url, HOTLEAD_PUBLIC_URL=url)
    done = subprocess.run(
        [sys.executable, "-m", *argv], cwd=build_dir, env=env, capture_output=True, text=True, timeout=1200
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    # Runtime stage: only what it copies.
    shutil.rmtree(runtime_dir, ignore_errors=True)
    runtime_dir.mkdir(parents=True)
    for word, rest in stages["runtime"]:
        if word != "COPY":
            continue
        parts = shlex.split(rest)
        if parts[0].startswith("--from=frontend"):
            source, dest = parts[1], parts[2]
            src = build_dir / Path(source).relative_to("/app")
        elif parts[0].startswith("--from"):
            continue  # the virtualenv: this test runs in the project's own
        else:
            *sources, dest = parts
            if len(sources) > 1:
                for s in sources:
                    shutil.copy2(PROJECT_ROOT / s, runtime_dir / s)
                continue
            src = PROJECT_ROOT / sources[0]
        target = runtime_dir / dest
        if src.is_dir():
            shutil.copytree(src, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, target)
    # The build stage's sources are the runtime's (a helper editing files meanwhile
    # must not make the two differ).
    for name in ("hotlead_app", "workers"):
        shutil.rmtree(runtime_dir / name)
        shutil.copytree(build_dir / name, runtime_dir / name, ignore=shutil.ignore_patterns("__pycache__"))

    (cmd,) = [json.loads(rest) for word, rest in stages["runtime"] if word == "CMD"]
    assert cmd[:4] == ["python", "-m", "hotlead_app.cli", "serve"]
    log = runtime_dir / "serve.log"
    run_env = child_env(
        shared_db_url,
        redis_server.url(),
        HOTLEAD_PORT=str(port),
        HOTLEAD_PUBLIC_URL=url,
        HOTLEAD_INTERNAL_HOST="127.0.0.1",
        HOTLEAD_INTERNAL_PORT=str(internal_port),
        PROMETHEUS_MULTIPROC_DIR=str(runtime_dir / "metrics"),
        GRANIAN_WORKERS="2",
        PYTHONPATH=str(runtime_dir),
        HOTLEAD_DATA_DIR=str(runtime_dir / "data"),
    )
    with open(log, "wb") as handle:
        argv = [sys.executable, *cmd[1:]]
        argv[argv.index("--host") + 1] = "127.0.0.1"  # the image listens on every interface
        proc = subprocess.Popen(
            argv, cwd=runtime_dir, env=run_env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_for(
            lambda: proc.poll() is not None or http_ok(f"{url}/healthz"),
            timeout=120,
            interval=0.5,
            message="hotlead serve",
        )
        assert proc.poll() is None, log.read_text()[-3000:]
        yield url, internal_port
    finally:
        stop_process_group(proc)


def test_the_image_serves_pages_websocket_and_api_on_one_port(page: Page, image_server, shared_db):
    url, internal_port = image_server
    assert http_ok(f"{url}/api/v1/niches")
    assert http_ok(f"{url}/logo.svg") and http_ok(f"{url}/favicon.ico"), "assets/ is served"
    assert http_ok(f"http://127.0.0.1:{internal_port}/metrics"), "the internal metrics server runs beside it"
    email = new_admin("image-admin")

    sockets = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    sign_in(page, url, email, lands_on=r"/admin/queue")
    expect(page.get_by_text("A new version of this app is available")).to_have_count(0)
    assert sockets and all(s.startswith(f"ws://127.0.0.1:{url.rsplit(':', 1)[1]}/_event") for s in sockets)
