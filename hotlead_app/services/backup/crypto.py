"""The encrypted file format and its keys (see the package docstring for the layout)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from hotlead_app.services.backup.errors import BackupError, TamperedBackup, WrongKey
from hotlead_app.settings import Settings

MAGIC = b"HOTLEADBK"
VERSION = 1
CHUNK_SIZE = 1024 * 1024
HEADER = struct.Struct(">9sB8s16sI")
CHUNK_HEAD = struct.Struct(">BI")
TAG_SIZE = 16

# --------------------------------------------------------------------------- keys


def generate_key() -> str:
    """A new HOTLEAD_BACKUP_KEY: base64 of 32 random bytes."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _decode_key(text: str, name: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != 32:
        raise BackupError(f"{name} must be base64 of exactly 32 bytes (make one with `hotlead backup-keygen`)")
    return raw


def key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"hotlead-backup-key-id\x00" + key).digest()[:8]


def _current_key(settings: Settings) -> bytes:
    if not settings.backup_key.strip():
        raise BackupError("HOTLEAD_BACKUP_KEY is not set: backups are encrypted with it (`hotlead backup-keygen`)")
    return _decode_key(settings.backup_key, "HOTLEAD_BACKUP_KEY")


def _known_keys(settings: Settings) -> list[bytes]:
    keys = [_current_key(settings)]
    for i, text in enumerate(k for k in settings.backup_previous_keys.split(",") if k.strip()):
        keys.append(_decode_key(text, f"HOTLEAD_BACKUP_PREVIOUS_KEYS item {i + 1}"))
    return keys


# --------------------------------------------------------------------------- encryption


def _file_cipher(key: bytes, salt: bytes):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    file_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"hotlead-backup v1").derive(key)
    return AESGCM(file_key)


def _nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")


def _aad(header: bytes, index: int, final: bool) -> bytes:
    return header + index.to_bytes(8, "big") + (b"\x01" if final else b"\x00")


def encrypt_stream(chunks: Iterable[bytes], key: bytes, *, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Encrypt a stream of bytes (any sizes) into the backup format, chunk by chunk.

    One plaintext chunk is held back so that the last one can be flagged final; an
    exception raised by ``chunks`` (pg_dump failed) propagates before the final chunk,
    so a failed dump never yields a complete-looking file."""
    salt = secrets.token_bytes(16)
    header = HEADER.pack(MAGIC, VERSION, key_id(key), salt, chunk_size)
    cipher = _file_cipher(key, salt)
    yield header
    index = 0
    buffer = bytearray()
    pending: bytes | None = None

    def seal(plain: bytes, final: bool) -> bytes:
        sealed = cipher.encrypt(_nonce(index), plain, _aad(header, index, final))
        return CHUNK_HEAD.pack(1 if final else 0, len(sealed)) + sealed

    for data in chunks:
        buffer += data
        while len(buffer) >= chunk_size:
            if pending is not None:
                yield seal(pending, False)
                index += 1
            pending = bytes(buffer[:chunk_size])
            del buffer[:chunk_size]
    if buffer or pending is None:
        if pending is not None:
            yield seal(pending, False)
            index += 1
        pending = bytes(buffer)
    yield seal(pending, True)


def _read_exact(src: IO[bytes], n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        data = src.read(n - len(out))
        if not data:
            break
        out += data
    return bytes(out)


def read_header(src: IO[bytes]) -> tuple[bytes, int, bytes, bytes, int]:
    raw = _read_exact(src, HEADER.size)
    if len(raw) < HEADER.size:
        raise TamperedBackup("not a Hot Lead backup: the file is shorter than its header")
    magic, version, kid, salt, chunk_size = HEADER.unpack(raw)
    if magic != MAGIC:
        raise TamperedBackup("not a Hot Lead backup (wrong magic bytes)")
    if version != VERSION:
        raise BackupError(f"backup format version {version} is not supported (this release reads {VERSION})")
    return raw, version, kid, salt, chunk_size


def _pick_key(kid: bytes, keys: list[bytes]) -> bytes:
    for key in keys:
        if key_id(key) == kid:
            return key
    raise WrongKey(
        f"wrong key: this backup was encrypted with key id {kid.hex()}, and neither HOTLEAD_BACKUP_KEY "
        f"({key_id(keys[0]).hex()}) nor HOTLEAD_BACKUP_PREVIOUS_KEYS is that key; nothing was restored"
    )


def decrypt_stream(src: IO[bytes], keys: list[bytes]) -> Iterator[bytes]:
    """Plaintext chunks of a backup, each authenticated before it is yielded.  Raises
    WrongKey or TamperedBackup; callers that must not act on a partial file read it
    to the end first (see :func:`verify_file`)."""
    from cryptography.exceptions import InvalidTag

    header, _version, kid, salt, chunk_size = read_header(src)
    cipher = _file_cipher(_pick_key(kid, keys), salt)
    index = 0
    while True:
        head = _read_exact(src, CHUNK_HEAD.size)
        if not head:
            raise TamperedBackup(f"the backup is truncated: it ends after chunk {index} without its final chunk")
        if len(head) < CHUNK_HEAD.size:
            raise TamperedBackup(f"the backup is truncated inside chunk {index}")
        flag, length = CHUNK_HEAD.unpack(head)
        if flag not in (0, 1) or length < TAG_SIZE or length > chunk_size + TAG_SIZE:
            raise TamperedBackup(f"the backup is corrupted or tampered with (bad chunk {index} header)")
        sealed = _read_exact(src, length)
        if len(sealed) < length:
            raise TamperedBackup(f"the backup is truncated inside chunk {index}")
        try:
            plain = cipher.decrypt(_nonce(index), sealed, _aad(header, index, flag == 1))
        except InvalidTag:
            raise TamperedBackup(
                f"the backup is corrupted or tampered with: chunk {index} fails authentication"
            ) from None
        yield plain
        if flag == 1:
            if src.read(1):
                raise TamperedBackup("the backup is tampered with: data follows its final chunk")
            return
        index += 1


def verify_file(path: Path, keys: list[bytes]) -> int:
    """Authenticate every chunk of a backup file; its plaintext size."""
    with open(path, "rb") as src:
        return sum(len(chunk) for chunk in decrypt_stream(src, keys))
