"""The store's own errors: one line naming the database or file and what to do."""

from __future__ import annotations

from priorauth.core import PriorAuthError


class StoreError(PriorAuthError):
    """A database or backup cannot be used as asked (missing, unreachable, not migrated, not a backup)."""


class DatabaseMissing(StoreError):
    """A command that reads a database found none; it never creates one."""


class SettingsError(StoreError):
    """The settings file cannot be used; names the file and the key or problem."""
