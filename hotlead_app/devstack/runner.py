"""``make run``: bring up every process of the platform, show each step, stop them all.

Steps: PostgreSQL and Redis (project-owned, unless HOTLEAD_DATABASE_URL /
HOTLEAD_REDIS_URL name existing servers), migrations, the bootstrap admin, a Celery
worker and Celery beat, and the Reflex app in prod mode on one port.  Ctrl-C or
SIGTERM stops every process it started, in reverse order.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hotlead_app.devstack.embedded import (
    EmbeddedPostgres,
    EmbeddedRedis,
    EmbeddedServerError,
    _tail,
)
from hotlead_app.infra.queue import QUEUES
from hotlead_app.settings import (
    EMBEDDED_PG_PORT,
    EMBEDDED_REDIS_PORT,
    PROJECT_ROOT,
    get_settings,
)

VENV_BIN = Path(sys.executable).parent
DEFAULT_WORKER_METRICS_PORT = 9401


class StepFailed(RuntimeError):
    def __init__(self, step: str, message: str, log: Path | None = None) -> None:
        super().__init__(message)
        self.step = step
        self.log = log


def say(message: str) -> None:
    print(f"\033[1m==> {message}\033[0m", flush=True)


def celery_command(role: str, *args: str) -> list[str]:
    """The command line of a Celery ``worker`` or ``beat`` of this project (``make run``,
    the tests' worker, the benchmarks): the same interpreter and app, ``args`` after."""
    return [sys.executable, "-m", "celery", "-A", "workers.celery_app", role, *args]


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every child: the venv first on PATH (its Node 24 for
    Reflex), npm instead of bun, no telemetry, and the settings made explicit."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("REFLEX_USE_NPM", "1")
    env.setdefault("REFLEX_TELEMETRY_ENABLED", "false")
    env.setdefault("TELEMETRY_ENABLED", "false")
    env.setdefault("NEXT_TELEMETRY_DISABLED", "1")
    env.setdefault("PYTHONUNBUFFERED", "1")
    env["PYTHONPATH"] = f"{PROJECT_ROOT}{os.pathsep}{env.get('PYTHONPATH', '')}".rstrip(os.pathsep)
    if extra:
        env.update(extra)
    return env


def wait_http(url: str, *, timeout: float, process: subprocess.Popen | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status < 500:
                    return True
        except Exception:
            pass
        time.sleep(0.5)
    return False


@dataclass
class Supervisor:
    """Starts children in their own process groups and stops them in reverse order."""

    log_dir: Path
    children: list[tuple[str, subprocess.Popen, Path]] = field(default_factory=list)
    stoppers: list[tuple[str, Callable[[], object]]] = field(default_factory=list)

    def spawn(self, name: str, args: list[str], env: dict[str, str], cwd: Path = PROJECT_ROOT) -> subprocess.Popen:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        with open(log, "ab", buffering=0) as handle:  # the child keeps its own copy of the descriptor
            handle.write(f"\n--- started {time.strftime('%Y-%m-%d %H:%M:%S')}: {' '.join(args)}\n".encode())
            proc = subprocess.Popen(
                args, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.children.append((name, proc, log))
        return proc

    def on_stop(self, name: str, fn: Callable[[], object]) -> None:
        self.stoppers.append((name, fn))

    def dead_child(self) -> tuple[str, subprocess.Popen, Path] | None:
        for name, proc, log in self.children:
            if proc.poll() is not None:
                return name, proc, log
        return None

    def stop_all(self) -> None:
        for name, proc, _log in reversed(self.children):
            if proc.poll() is None:
                say(f"stopping {name}")
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for name, proc, _log in reversed(self.children):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                say(f"{name} did not stop in 20 s: killing it")
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
            else:
                # The group may hold grandchildren (Granian workers, Celery pool).
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.children.clear()
        for name, fn in reversed(self.stoppers):
            say(f"stopping {name}")
            try:
                fn()
            except Exception as exc:  # keep stopping the others
                print(f"    could not stop {name}: {exc}", file=sys.stderr)
        self.stoppers.clear()


def start_backing_services(sup: Supervisor, data_dir: Path) -> dict[str, str]:
    """PostgreSQL and Redis: the project's own unless URLs name existing servers."""
    env: dict[str, str] = {}
    if os.environ.get("HOTLEAD_DATABASE_URL"):
        say("PostgreSQL: using HOTLEAD_DATABASE_URL")
    else:
        say(f"PostgreSQL: starting the project's own on 127.0.0.1:{EMBEDDED_PG_PORT} (data {data_dir / 'pg'})")
        pg = EmbeddedPostgres(data_dir / "pg", EMBEDDED_PG_PORT)
        try:
            pg.start()
            pg.ensure_database("hotlead")
        except EmbeddedServerError as exc:
            raise StepFailed("PostgreSQL", str(exc), pg.log_path) from exc
        sup.on_stop("PostgreSQL", pg.stop)
        env["HOTLEAD_DATABASE_URL"] = pg.url("hotlead")
    if os.environ.get("HOTLEAD_REDIS_URL"):
        say("Redis: using HOTLEAD_REDIS_URL")
    else:
        say(f"Redis: starting the project's own on 127.0.0.1:{EMBEDDED_REDIS_PORT} (data {data_dir / 'redis'})")
        redis = EmbeddedRedis(data_dir / "redis", EMBEDDED_REDIS_PORT)
        try:
            redis.start()
        except EmbeddedServerError as exc:
            raise StepFailed("Redis", str(exc), redis.log_path) from exc
        sup.on_stop("Redis", redis.stop)
        env["HOTLEAD_REDIS_URL"] = redis.url()
    return env


MAILDEV_SOURCE = PROJECT_ROOT / "tools" / "maildev"
MAILDEV_SMTP_PORT = 1025


def start_mail_sandbox(sup: Supervisor, data_dir: Path, web_port: int) -> dict[str, str] | None:
    """MailDev (npm) as the dev SMTP sink with a web inbox; None when it cannot run."""
    target = data_dir / "tools" / "maildev"
    binary = target / "node_modules" / "maildev" / "bin" / "maildev"
    lock = MAILDEV_SOURCE / "package-lock.json"
    stamp = target / ".installed"
    if not binary.exists() or not stamp.exists() or stamp.read_text() != lock.read_text():
        say("Mail sandbox: installing MailDev (npm, first run only)")
        target.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            (target / name).write_text((MAILDEV_SOURCE / name).read_text())
        result = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--silent"],
            cwd=target,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if result.returncode != 0:
            print(f"    MailDev could not be installed; emails will wait and retry:\n{result.stdout[-2000:]}")
            return None
        stamp.write_text(lock.read_text())
    say(f"Mail sandbox: MailDev on smtp://127.0.0.1:{MAILDEV_SMTP_PORT}, inbox http://localhost:{web_port}")
    sup.spawn(
        "maildev",
        [
            str(VENV_BIN / "node"),
            str(binary),
            "--smtp",
            str(MAILDEV_SMTP_PORT),
            "--web",
            str(web_port),
            "--ip",
            "127.0.0.1",
            "--web-ip",
            "127.0.0.1",
            "--mail-directory",
            str(data_dir / "mail"),
        ],
        child_env(),
    )
    return {"HOTLEAD_SMTP_URL": f"smtp://127.0.0.1:{MAILDEV_SMTP_PORT}"}


def run_step(name: str, args: list[str], env: dict[str, str], log: Path) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as handle:
        result = subprocess.run(args, cwd=PROJECT_ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise StepFailed(name, f"{name} exited with {result.returncode}", log)


def run(*, dev: bool = False) -> int:
    settings = get_settings()
    data_dir = settings.data_dir
    log_dir = data_dir / "logs"
    sup = Supervisor(log_dir)
    stopping = False

    def handle_signal(signum, _frame):
        nonlocal stopping
        if stopping:
            return
        stopping = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handle_signal)
    signal.signal(signal.SIGINT, handle_signal)
    port = settings.port
    try:
        services_env = start_backing_services(sup, data_dir)
        inbox = None
        if settings.is_dev and not os.environ.get("HOTLEAD_SMTP_URL"):
            mail_env = start_mail_sandbox(sup, data_dir, settings.maildev_web_port)
            if mail_env:
                services_env.update(mail_env)
                inbox = f"http://localhost:{settings.maildev_web_port}"
        env = child_env(services_env)

        say("Migrations: alembic upgrade head")
        run_step("migrations", [sys.executable, "-m", "alembic", "upgrade", "head"], env, log_dir / "migrations.log")

        say("Bootstrap: dev admin account")
        run_step("bootstrap", [sys.executable, "-m", "hotlead_app.cli", "bootstrap"], env, log_dir / "bootstrap.log")

        # Metrics: each process group counts in its own folder, emptied for this run.
        from hotlead_app.infra.metrics import MULTIPROC_ENV, prepare_multiproc_dir

        worker_metrics_port = settings.worker_metrics_port or DEFAULT_WORKER_METRICS_PORT
        worker_env = dict(
            env,
            **{
                MULTIPROC_ENV: str(prepare_multiproc_dir(data_dir / "metrics" / "worker")),
                "HOTLEAD_WORKER_METRICS_PORT": str(worker_metrics_port),
            },
        )
        env[MULTIPROC_ENV] = str(prepare_multiproc_dir(data_dir / "metrics" / "web"))

        say(f"Celery: worker (metrics on port {worker_metrics_port}) and beat")
        sup.spawn(
            "worker",
            celery_command("worker", "--loglevel=INFO", "--concurrency=2", "--hostname=hotlead@%h", "-Q", QUEUES),
            worker_env,
        )
        sup.spawn(
            "beat",
            celery_command("beat", "--loglevel=INFO", f"--schedule={data_dir / 'celerybeat-schedule'}"),
            env,
        )

        if settings.internal_port:
            say(f"Internal server: /metrics and /readyz on {settings.internal_host}:{settings.internal_port}")
            sup.spawn("internal", [sys.executable, "-m", "hotlead_app.api.internal"], env)

        mode = "dev" if dev else "prod"
        say(f"Web: Reflex in {mode} mode on port {port} (the first start builds the frontend: a minute or more)")
        reflex_args = [sys.executable, "-m", "reflex", "run", "--env", mode, "--loglevel", "info"]
        web_env = dict(env)
        if dev:
            reflex_args += ["--frontend-port", str(port), "--backend-port", str(port + 1)]
        else:
            reflex_args += ["--frontend-port", str(port)]
            # Reflex 0.10 reads REFLEX_API_URL (not API_URL) and bakes it into the build.
            web_env.setdefault("REFLEX_API_URL", settings.public_url)
        web = sup.spawn("web", reflex_args, web_env)
        health = f"http://127.0.0.1:{port + 1 if dev else port}/healthz"
        if not wait_http(health, timeout=900, process=web):
            raise StepFailed("web", "the Reflex app did not answer /healthz", log_dir / "web.log")
        if dev:
            wait_http(f"http://127.0.0.1:{port}/", timeout=300, process=web)

        print()
        say(f"Find Me A Hot Lead is running: {settings.public_url}")
        print(f"    public lead form:  {settings.public_url}/n/<niche-slug>  (try /n/roofing)")
        api_base = f"http://localhost:{port + 1}" if dev else settings.public_url
        print(f"    REST API:          {api_base}/api/v1  (OpenAPI: /api/v1/openapi.json)")
        print(f"    health:            {api_base}/healthz, /readyz")
        if settings.internal_port:
            print(
                f"    metrics:           http://{settings.internal_host}:{settings.internal_port}/metrics (app), "
                f"http://127.0.0.1:{worker_metrics_port}/metrics (worker)"
            )
        print(
            f"    sign in as admin:  {settings.bootstrap_admin_email} / "
            f"{settings.bootstrap_admin_password if settings.is_dev else '(HOTLEAD_BOOTSTRAP_ADMIN_PASSWORD)'}"
        )
        if inbox:
            print(f"    dev mail inbox:    {inbox}  (every email the platform sends lands here)")
        print(f"    logs:              {log_dir}/")
        print("    Ctrl-C stops everything; data stays in .hotlead/ for the next run.", flush=True)

        while True:
            dead = sup.dead_child()
            if dead is not None:
                name, proc, log = dead
                raise StepFailed(name, f"{name} exited unexpectedly with {proc.returncode}", log)
            time.sleep(1)
    except KeyboardInterrupt:
        print()
        say("stopping")
        sup.stop_all()
        say("stopped; nothing left running")
        return 0
    except StepFailed as exc:
        print(f"\n\033[31m*** step '{exc.step}' failed: {exc}\033[0m", file=sys.stderr)
        if exc.log is not None:
            print(f"--- last lines of {exc.log}:\n{_tail(exc.log, 40)}\n---", file=sys.stderr)
        sup.stop_all()
        return 1
    except BaseException:
        sup.stop_all()
        raise
