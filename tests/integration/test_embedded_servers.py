"""The project's own PostgreSQL and Redis (tests, benchmarks, `make run`) are private
(issue 13 item 12): their folders are made by us or checked with lstat, a symlink or a
folder others can write is refused, and both servers want a password."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import psycopg
import pytest
import redis

from hotlead_app.devstack import embedded
from hotlead_app.devstack.embedded import EmbeddedPostgres, EmbeddedRedis, UnsafePathError, free_port

# --------------------------------------------------------------------------- paths


def test_a_symlinked_postgres_data_path_is_refused(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / "pg").symlink_to(elsewhere)
    server = EmbeddedPostgres(tmp_path / "pg", free_port())
    with pytest.raises(UnsafePathError, match="symlink"):
        server.start()
    assert list(elsewhere.iterdir()) == [], "nothing was written through the link"


def test_a_symlinked_redis_data_path_is_refused(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / "redis").symlink_to(elsewhere)
    server = EmbeddedRedis(tmp_path / "redis", free_port(), persistent=False)
    with pytest.raises(UnsafePathError, match="symlink"):
        server.start()
    assert server.process is None and list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("kind", ["pg", "redis"])
def test_a_pre_created_world_writable_data_path_is_refused(tmp_path, kind):
    data = tmp_path / kind
    data.mkdir()
    data.chmod(0o777)
    server = EmbeddedPostgres(data, free_port()) if kind == "pg" else EmbeddedRedis(data, free_port(), persistent=False)
    with pytest.raises(UnsafePathError, match="writable"):
        server.start()
    assert list(data.iterdir()) == []


def test_a_data_path_in_a_folder_others_can_write_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp: anyone could swap the path under us
    server = EmbeddedRedis(shared / "redis", free_port(), persistent=False)
    with pytest.raises(UnsafePathError, match="writable"):
        server.start()
    assert not (shared / "redis").exists()


def test_a_pre_created_binary_folder_is_not_trusted(tmp_path, monkeypatch):
    """Where the server's account cannot run the wheel's binaries, they are copied to
    /var/tmp: a path there that someone else made first (here a symlink) is refused."""
    private_tmp = tmp_path / "vartmp"
    private_tmp.mkdir()
    monkeypatch.setattr(embedded, "PRIVATE_TMP", private_tmp)
    monkeypatch.setattr(embedded, "_can_reach", lambda path, ids: False)
    planted = tmp_path / "planted"
    (planted / "bin").mkdir(parents=True)
    (planted / "bin" / "postgres").write_text("#!/bin/sh\n")
    embedded._bin_cache_dir(embedded.wheel_pg_dir()).symlink_to(planted)
    with pytest.raises(UnsafePathError, match="symlink"):
        embedded.pg_bin_dir()


@pytest.mark.skipif(os.geteuid() != 0, reason="the nobody arrangement exists only as root")
def test_as_root_an_unreachable_cluster_lives_in_a_private_home(pg):
    home = pg._private_home()
    assert home is not None, "the test cluster sits under a 0700 pytest folder"
    st = os.lstat(home)
    assert home.parent == Path("/var/tmp") and st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o711
    data = os.lstat(pg.real_dir)
    assert data.st_uid != 0 and stat.S_IMODE(data.st_mode) == 0o700
    secret = os.lstat(pg.real_dir / embedded.PASSWORD_FILE)
    assert secret.st_uid == os.geteuid() and stat.S_IMODE(secret.st_mode) == 0o600
    assert home.name != "hotlead-pg" and len(home.name) > len("hotlead-pg-"), "a mkdtemp name, not a fixed one"


# --------------------------------------------------------------------------- passwords


def test_postgres_refuses_a_connection_without_or_with_a_wrong_password(pg):
    base = f"host=127.0.0.1 port={pg.port} user=hotlead dbname=postgres connect_timeout=5"
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(base).close()
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(f"{base} password=not-{pg.password}").close()
    with psycopg.connect(pg.conninfo("postgres")) as conn:
        method = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = 'hotlead'").fetchone()[0]
        assert method.startswith("SCRAM-SHA-256$")
    assert f":{pg.password}@" in pg.url()


def test_redis_refuses_an_unauthenticated_command(redis_server):
    client = redis.Redis(host="127.0.0.1", port=redis_server.port, socket_timeout=5)
    try:
        with pytest.raises(redis.exceptions.RedisError, match=r"(?i)auth"):
            client.set("hotlead:probe", "1")
    finally:
        client.close()
    wrong = redis.Redis(host="127.0.0.1", port=redis_server.port, password="wrong", socket_timeout=5)
    try:
        with pytest.raises(redis.exceptions.RedisError):
            wrong.ping()
    finally:
        wrong.close()
    client = redis.Redis.from_url(redis_server.url(), socket_timeout=5)
    try:
        assert client.ping()
    finally:
        client.close()
    assert "requirepass" not in " ".join(Path(f"/proc/{redis_server.process.pid}/cmdline").read_text().split("\0"))


def test_a_kept_cluster_and_redis_keep_their_passwords_between_runs(tmp_path):
    """`make run`: the data stays between runs, and so does the password stored with it."""
    pg = EmbeddedPostgres(tmp_path / "pg", free_port(), fast_unsafe=True, reap_with_owner=True)
    rd = EmbeddedRedis(tmp_path / "redis", free_port(), persistent=True, reap_with_owner=True)
    try:
        pg.start()
        rd.start()
        first_pg, first_redis = pg.url(), rd.url()
        pg.stop()
        rd.stop()
        again = EmbeddedPostgres(tmp_path / "pg", pg.port, fast_unsafe=True)
        again_redis = EmbeddedRedis(tmp_path / "redis", rd.port, persistent=True)
        again.start()
        again_redis.start()
        try:
            assert again.url() == first_pg and again_redis.url() == first_redis
            with psycopg.connect(again.conninfo("postgres")) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
            client = redis.Redis.from_url(again_redis.url(), socket_timeout=5)
            assert client.ping()
            client.close()
        finally:
            again_redis.stop()
            again.stop()
    finally:
        rd.stop()
        pg.destroy()


def test_a_cluster_made_before_passwords_gets_one_at_its_next_start(tmp_path):
    """`make run` data from before this change (trust auth, no password file) keeps working."""
    pg = EmbeddedPostgres(tmp_path / "pg", free_port(), fast_unsafe=True, reap_with_owner=True)
    try:
        pg.start()
        pg.stop()
        real = pg.real_dir
        (real / embedded.PASSWORD_FILE).unlink()
        fd = os.open(real / "pg_hba.conf", os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW)
        os.write(fd, b"host all all 127.0.0.1/32 trust\n")
        os.close(fd)
        pg.start()
        base = f"host=127.0.0.1 port={pg.port} user=hotlead dbname=postgres connect_timeout=5"
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(base).close()
        with psycopg.connect(pg.conninfo("postgres")) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        pg.destroy()
