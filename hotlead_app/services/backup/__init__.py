"""Encrypted database backups, restores and the weekly restore check.

``hotlead backup`` runs ``pg_dump --format=custom`` and streams its output through
authenticated encryption into a local folder or an S3-compatible bucket, then applies
the retention (keep the newest backup of each of the last N days and M ISO weeks).
``hotlead restore FILE --into URL`` authenticates the whole file before anything is
written to the target database, then feeds the dump to ``pg_restore`` in one
transaction: a wrong key or a tampered file is refused and leaves the target untouched.

File format (version 1), all integers big-endian::

    header  = b"HOTLEADBK" | version (1 byte) | key id (8 bytes) | salt (16 bytes) | chunk size (4 bytes)
    chunk   = final flag (1 byte) | ciphertext length (4 bytes) | AES-256-GCM ciphertext + tag

The file key is HKDF-SHA256(HOTLEAD_BACKUP_KEY, salt, "hotlead-backup v1"), so no two
files share a key; chunk ``i`` is sealed with the nonce ``i`` (12 bytes) and the
associated data ``header | i (8 bytes) | final flag``: a chunk moved, dropped, cut off
or re-flagged fails authentication, and a file that ends before a final chunk (or goes
on after it) is refused.  The key id (a hash of the key) lets a restore name a wrong
key instead of reporting tampering, and pick the right one among previous keys.

The plaintext is a manifest (4-byte length + JSON: row counts of every table and
checksums of ``ledger_entries`` and ``audit_logs``, taken in the very snapshot pg_dump
exports) followed by the dump, so that a restore can be verified against the source
as it was at backup time.

Modules: ``errors``; ``crypto`` (the file format and its keys); ``pg`` (libpq targets,
binaries, fingerprints); ``stores`` (local folder or S3 bucket, backup names); ``dump``
(``create_backup``); ``retention``; ``restore`` (``restore``, ``verify_restored``);
``drill`` (the weekly restore check, ``last_good_restore_at``).  Everything is re-exported
here, so ``from hotlead_app.services import backup`` keeps working.
"""

from __future__ import annotations

from hotlead_app.services.backup.crypto import (
    CHUNK_HEAD,
    CHUNK_SIZE,
    HEADER,
    MAGIC,
    TAG_SIZE,
    VERSION,
    _aad,
    _current_key,
    _decode_key,
    _file_cipher,
    _known_keys,
    _nonce,
    _pick_key,
    _read_exact,
    decrypt_stream,
    encrypt_stream,
    generate_key,
    key_id,
    read_header,
    verify_file,
)
from hotlead_app.services.backup.drill import (
    LAST_GOOD_CACHE_SECONDS,
    RESTORE_CHECKS,
    _last_good_cache,
    last_good_restore_at,
    restore_check,
    restore_checks,
    scratch_database_url,
)
from hotlead_app.services.backup.dump import BackupResult, _dump_chunks, create_backup
from hotlead_app.services.backup.errors import BackupError, TamperedBackup, WrongKey
from hotlead_app.services.backup.pg import (
    CHECKED_TABLES,
    PgTarget,
    _connect,
    _create_database_if_missing,
    _db_is_empty,
    _recreate_database,
    _with_database,
    database_fingerprint,
    pg_binary,
    pg_target,
)
from hotlead_app.services.backup.restore import (
    RestoreResult,
    _resolve_source,
    _split_manifest,
    restore,
    verify_restored,
)
from hotlead_app.services.backup.retention import apply_retention_policy, backups_to_keep, latest_backup
from hotlead_app.services.backup.stores import (
    NAME_RE,
    SUFFIX,
    LocalStore,
    S3Store,
    Store,
    _backup_name,
    _ChunkReader,
    backup_time,
    get_store,
)

__all__ = [
    "CHECKED_TABLES",
    "CHUNK_HEAD",
    "CHUNK_SIZE",
    "HEADER",
    "LAST_GOOD_CACHE_SECONDS",
    "MAGIC",
    "NAME_RE",
    "RESTORE_CHECKS",
    "SUFFIX",
    "TAG_SIZE",
    "VERSION",
    "BackupError",
    "BackupResult",
    "LocalStore",
    "PgTarget",
    "RestoreResult",
    "S3Store",
    "Store",
    "TamperedBackup",
    "WrongKey",
    "_ChunkReader",
    "_aad",
    "_backup_name",
    "_connect",
    "_create_database_if_missing",
    "_current_key",
    "_db_is_empty",
    "_decode_key",
    "_dump_chunks",
    "_file_cipher",
    "_known_keys",
    "_last_good_cache",
    "_nonce",
    "_pick_key",
    "_read_exact",
    "_recreate_database",
    "_resolve_source",
    "_split_manifest",
    "_with_database",
    "apply_retention_policy",
    "backup_time",
    "backups_to_keep",
    "create_backup",
    "database_fingerprint",
    "decrypt_stream",
    "encrypt_stream",
    "generate_key",
    "get_store",
    "key_id",
    "last_good_restore_at",
    "latest_backup",
    "pg_binary",
    "pg_target",
    "read_header",
    "restore",
    "restore_check",
    "restore_checks",
    "scratch_database_url",
    "verify_file",
    "verify_restored",
]
