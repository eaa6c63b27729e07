"""The encrypted backup format: round trip, and every kind of tampering refused."""

from __future__ import annotations

import base64
import io
import secrets
import struct
from datetime import UTC, datetime, timedelta

import pytest

from hotlead_app.services import backup
from hotlead_app.services.backup import CHUNK_HEAD, HEADER, TamperedBackup, WrongKey

KEY = secrets.token_bytes(32)
CHUNK = 64


def _encrypt(data: bytes, key: bytes = KEY, pieces: int = 7) -> bytes:
    parts = [data[i : i + pieces] for i in range(0, len(data), pieces)]
    return b"".join(backup.encrypt_stream(parts, key, chunk_size=CHUNK))


def _decrypt(blob: bytes, keys=(KEY,)) -> bytes:
    return b"".join(backup.decrypt_stream(io.BytesIO(blob), list(keys)))


def _chunks(blob: bytes) -> tuple[bytes, list[bytes]]:
    """The header and each chunk record of a file, as bytes."""
    header, rest, records = blob[: HEADER.size], blob[HEADER.size :], []
    while rest:
        _flag, length = CHUNK_HEAD.unpack(rest[: CHUNK_HEAD.size])
        end = CHUNK_HEAD.size + length
        records.append(rest[:end])
        rest = rest[end:]
    return header, records


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK, 5 * CHUNK + 3])
def test_round_trip_for_every_size_around_the_chunk_boundary(size):
    data = secrets.token_bytes(size)
    blob = _encrypt(data)
    assert _decrypt(blob) == data
    _header, records = _chunks(blob)
    assert [r[0] for r in records] == [0] * (len(records) - 1) + [1], "only the last chunk is final"
    assert len(records) == max(1, -(-size // CHUNK))


def test_the_ciphertext_does_not_contain_the_plaintext_and_differs_each_time():
    data = b"provider@example.com " * 20
    first, second = _encrypt(data), _encrypt(data)
    assert b"provider@example.com" not in first and first != second


def test_a_wrong_key_is_named_as_such():
    blob = _encrypt(b"x" * 200)
    with pytest.raises(WrongKey, match="wrong key"):
        _decrypt(blob, keys=[secrets.token_bytes(32)])


def test_a_previous_key_still_restores_older_backups():
    old = secrets.token_bytes(32)
    assert _decrypt(_encrypt(b"old data", key=old), keys=[KEY, old]) == b"old data"


@pytest.mark.parametrize("offset", [HEADER.size + CHUNK_HEAD.size + 3, -5])
def test_a_flipped_byte_is_refused(offset):
    blob = bytearray(_encrypt(b"y" * 300))
    blob[offset] ^= 0x01
    with pytest.raises(TamperedBackup, match="fails authentication"):
        _decrypt(bytes(blob))


def test_a_changed_header_salt_is_refused():
    blob = bytearray(_encrypt(b"z" * 100))
    blob[HEADER.size - 5] ^= 0x80  # inside the salt: a different file key
    with pytest.raises(TamperedBackup):
        _decrypt(bytes(blob))


def test_a_file_cut_after_a_whole_chunk_is_refused():
    header, records = _chunks(_encrypt(b"a" * 300))
    with pytest.raises(TamperedBackup, match="truncated"):
        _decrypt(header + b"".join(records[:-1]))
    with pytest.raises(TamperedBackup, match="truncated"):
        _decrypt(header + b"".join(records)[:-10])


def test_reordered_chunks_are_refused():
    header, records = _chunks(_encrypt(bytes(range(256)) * 2))
    records[0], records[1] = records[1], records[0]
    with pytest.raises(TamperedBackup, match="chunk 0 fails authentication"):
        _decrypt(header + b"".join(records))


def test_a_chunk_re_flagged_as_final_is_refused():
    header, records = _chunks(_encrypt(b"b" * 300))
    forged = bytes([1]) + records[0][1:]
    with pytest.raises(TamperedBackup, match="fails authentication"):
        _decrypt(header + forged)


def test_data_after_the_final_chunk_is_refused():
    blob = _encrypt(b"c" * 100)
    with pytest.raises(TamperedBackup, match="follows its final chunk"):
        _decrypt(blob + b"\x00")


def test_not_a_backup():
    with pytest.raises(TamperedBackup, match="not a Hot Lead backup"):
        _decrypt(b"PGDMP" + b"\x00" * 100)


def test_a_failing_source_never_yields_a_final_chunk():
    def source():
        yield b"d" * 200
        raise backup.BackupError("pg_dump exited with 1")

    out = []
    with pytest.raises(backup.BackupError):
        for piece in backup.encrypt_stream(source(), KEY, chunk_size=CHUNK):
            out.append(piece)
    with pytest.raises(TamperedBackup, match="truncated"):
        _decrypt(b"".join(out))


def test_keys_must_be_32_bytes_of_base64():
    assert len(base64.b64decode(backup.generate_key())) == 32
    with pytest.raises(backup.BackupError, match="32 bytes"):
        backup._decode_key(base64.b64encode(b"short").decode(), "HOTLEAD_BACKUP_KEY")
    with pytest.raises(backup.BackupError, match="32 bytes"):
        backup._decode_key("not base64!!", "HOTLEAD_BACKUP_KEY")


def _name(when: datetime) -> str:
    return f"hotlead-{when.strftime('%Y%m%dT%H%M%SZ')}-abcdef.dump.enc"


def test_retention_keeps_the_newest_of_each_recent_day_and_week():
    start = datetime(2026, 11, 1, 3, 15, tzinfo=UTC)  # a Sunday
    names = [_name(start + timedelta(days=d, hours=h)) for d in range(42) for h in (0, 6)]
    keep = backup.backups_to_keep(names, keep_daily=7, keep_weekly=4)
    newest_days = {_name(start + timedelta(days=d, hours=6)) for d in range(35, 42)}
    assert newest_days <= keep
    # One per ISO week for the 4 newest weeks: 2026-12-07..12 (Mon-Sat) is the newest week.
    weekly = keep - newest_days
    assert all(backup.backup_time(n).hour == 9 for n in keep)  # the newest of each day only
    assert len(keep) == 7 + len(weekly) and len(weekly) <= 4
    weeks = {tuple(backup.backup_time(n).isocalendar())[:2] for n in keep}
    assert len(weeks) == 4
    assert backup.backups_to_keep([], keep_daily=7, keep_weekly=4) == set()
    assert backup.backups_to_keep(["not-a-backup.txt"], keep_daily=7, keep_weekly=4) == set()


def test_manifest_prefix_is_split_from_the_dump():
    body = b'{"row_counts": {"a": 1}}'
    plain = [struct.pack(">I", len(body)) + body[:3], body[3:] + b"PGDMP", b"rest"]
    manifest, rest = backup._split_manifest(iter(plain))
    assert manifest == {"row_counts": {"a": 1}} and b"".join(rest) == b"PGDMPrest"
