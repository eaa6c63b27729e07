"""Where sealed files live: a local folder or an S3-compatible bucket, and their names."""

from __future__ import annotations

import io
import os
import re
import secrets
import shutil
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from hotlead_app.services.backup.crypto import CHUNK_SIZE
from hotlead_app.services.backup.errors import BackupError
from hotlead_app.settings import Settings, get_settings

SUFFIX = ".dump.enc"
NAME_RE = re.compile(r"^hotlead-(\d{8}T\d{6}Z)(?:-[0-9a-f]{6})?\.dump\.enc$")


class Store(Protocol):
    def put(self, name: str, chunks: Iterable[bytes]) -> int: ...
    def list(self) -> list[str]: ...
    def exists(self, name: str) -> bool: ...
    def fetch(self, name: str, target: Path) -> None: ...
    def delete(self, name: str) -> None: ...
    def read_text(self, name: str) -> str | None: ...
    def append_text(self, name: str, text: str) -> None: ...
    def describe(self, name: str) -> str: ...


class LocalStore:
    def __init__(self, folder: Path, pattern: re.Pattern[str] = NAME_RE) -> None:
        self.folder = folder
        self.pattern = pattern

    def put(self, name: str, chunks: Iterable[bytes]) -> int:
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.folder / f".{name}.partial"
        size = 0
        try:
            with open(partial, "wb") as out:
                os.fchmod(out.fileno(), 0o600)
                for data in chunks:
                    out.write(data)
                    size += len(data)
                out.flush()
                os.fsync(out.fileno())
            partial.rename(self.folder / name)
            dir_fd = os.open(self.folder, os.O_RDONLY)
            try:
                os.fsync(dir_fd)  # the rename itself survives a crash
            finally:
                os.close(dir_fd)
        finally:
            partial.unlink(missing_ok=True)
        return size

    def list(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.name for p in self.folder.iterdir() if self.pattern.match(p.name))

    def exists(self, name: str) -> bool:
        return (self.folder / name).is_file()

    def fetch(self, name: str, target: Path) -> None:
        shutil.copyfile(self.folder / name, target)

    def delete(self, name: str) -> None:
        (self.folder / name).unlink(missing_ok=True)

    def read_text(self, name: str) -> str | None:
        try:
            return (self.folder / name).read_text()
        except FileNotFoundError:
            return None

    def append_text(self, name: str, text: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / name, "a") as out:
            out.write(text)

    def describe(self, name: str) -> str:
        return str(self.folder / name)


class _ChunkReader(io.RawIOBase):
    """A read-only file over an iterator of byte strings (for boto3's upload_fileobj)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        self.size += n
        return n


class S3Store:
    """An S3-compatible bucket; credentials from the usual AWS_* variables or roles."""

    def __init__(self, bucket: str, prefix: str, endpoint_url: str | None, pattern: re.Pattern[str] = NAME_RE) -> None:
        import boto3

        self.pattern = pattern
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = boto3.client("s3", endpoint_url=endpoint_url or None)

    def _key(self, name: str) -> str:
        return self.prefix + name

    def put(self, name: str, chunks: Iterable[bytes]) -> int:
        reader = _ChunkReader(chunks)
        # A failed dump raises inside the reader: upload_fileobj aborts the upload.
        self.client.upload_fileobj(io.BufferedReader(reader, CHUNK_SIZE), self.bucket, self._key(name))
        return reader.size

    def list(self) -> list[str]:
        names = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            for obj in page.get("Contents", []):
                name = obj["Key"][len(self.prefix) :]
                if self.pattern.match(name):
                    names.append(name)
        return sorted(names)

    def fetch(self, name: str, target: Path) -> None:
        self.client.download_file(self.bucket, self._key(name), str(target))

    def exists(self, name: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(name))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return False
            raise
        return True

    def delete(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(name))

    def read_text(self, name: str) -> str | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"].read().decode()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise

    def append_text(self, name: str, text: str) -> None:
        # Objects cannot be appended to: read, add, write (one writer: the weekly job).
        current = self.read_text(name) or ""
        self.client.put_object(Bucket=self.bucket, Key=self._key(name), Body=(current + text).encode())

    def describe(self, name: str) -> str:
        return f"s3://{self.bucket}/{self._key(name)}"


def get_store(settings: Settings | None = None, *, sub: str = "", pattern: re.Pattern[str] = NAME_RE) -> Store:
    """The configured location, or its folder / key prefix ``sub`` (``wal``, ``base``:
    the point-in-time archive beside the daily backups), listing names ``pattern`` matches."""
    settings = settings or get_settings()
    location = settings.backup_location.strip()
    if location.startswith("s3://"):
        bucket, _, prefix = location[len("s3://") :].partition("/")
        if not bucket:
            raise BackupError("HOTLEAD_BACKUP_LOCATION=s3://... names no bucket")
        if sub:
            prefix = f"{prefix.strip('/')}/{sub}" if prefix.strip("/") else sub
        return S3Store(bucket, prefix, settings.backup_s3_endpoint_url, pattern)
    folder = Path(location) if location else settings.data_dir / "backups"
    return LocalStore(folder / sub if sub else folder, pattern)


def _backup_name(now: datetime) -> str:
    return f"hotlead-{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}{SUFFIX}"


def backup_time(name: str) -> datetime | None:
    match = NAME_RE.match(name)
    if not match:
        return None
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
