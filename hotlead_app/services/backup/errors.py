"""Errors a backup, restore or WAL archive operation raises."""

from __future__ import annotations


class BackupError(RuntimeError):
    """A backup or restore could not be done; the message says why, for an operator."""


class WrongKey(BackupError):
    pass


class TamperedBackup(BackupError):
    pass
