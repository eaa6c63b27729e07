"""The engine's one home: every live SQL function, trigger and view of the database.

Each ``*.sql`` file beside this module holds the CURRENT definition of one function
(with the ``CREATE TRIGGER`` statements that use it) or one view, written with
``CREATE OR REPLACE`` so that it can be run again.  Migrations keep their frozen
snapshots in ``alembic/sql/``; the files here are what a freshly migrated database
has.  To change the engine: edit the file, then ``alembic revision --autogenerate``
(``hotlead_app/engine/autogen.py`` compares the files with the database and writes
the migration, with the SQL frozen inside it).

``FILES`` lists the files in load order (a file may use what an earlier one
defines) and the objects each defines; ``tests/integration/test_engine_definitions.py``
checks that a migrated database has exactly these objects, each equal to its file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ENGINE_DIR = Path(__file__).resolve().parent

Kind = Literal["function", "trigger", "view"]


@dataclass(frozen=True)
class EngineObject:
    """One object in schema ``public``: a function or view by name, a trigger by
    ``table.trigger``."""

    kind: Kind
    name: str

    @property
    def key(self) -> str:
        return f"{self.kind} {self.name}"


def _fn(name: str) -> EngineObject:
    return EngineObject("function", name)


def _trigger(table: str, name: str) -> EngineObject:
    return EngineObject("trigger", f"{table}.{name}")


@dataclass(frozen=True)
class EngineFile:
    file: str
    objects: tuple[EngineObject, ...]

    def sql(self, directory: Path | None = None) -> str:
        return ((directory or engine_dir()) / self.file).read_text()


FILES: tuple[EngineFile, ...] = (
    # Guards: the ledger, the audit log, assignments and deposits refuse what they must.
    EngineFile(
        "append_only.sql",
        (
            _fn("hotlead_refuse_change"),
            _trigger("ledger_entries", "ledger_entries_append_only"),
            _trigger("ledger_entries", "ledger_entries_no_truncate"),
            _trigger("audit_logs", "audit_logs_append_only"),
            _trigger("audit_logs", "audit_logs_no_truncate"),
            _trigger("lead_assignments", "lead_assignments_no_truncate"),
        ),
    ),
    EngineFile(
        "outcomes_append_only.sql",
        (
            _trigger("lead_outcomes", "lead_outcomes_append_only"),
            _trigger("lead_outcomes", "lead_outcomes_no_truncate"),
        ),
    ),
    EngineFile("signed_amount.sql", (_fn("hotlead_signed_amount"),)),
    EngineFile("ledger_apply.sql", (_fn("hotlead_ledger_apply"), _trigger("ledger_entries", "ledger_entries_apply"))),
    EngineFile(
        "provider_balance_guard.sql",
        (_fn("hotlead_provider_balance_guard"), _trigger("service_providers", "service_providers_balance_guard")),
    ),
    EngineFile("balance_drift.sql", (EngineObject("view", "balance_drift"),)),
    EngineFile(
        "assignment_guard.sql",
        (_fn("hotlead_assignment_guard"), _trigger("lead_assignments", "lead_assignments_guard")),
    ),
    EngineFile(
        "deposits_forward_only.sql",
        (_fn("hotlead_deposits_forward_only"), _trigger("deposits", "deposits_forward_only")),
    ),
    EngineFile(
        "deposits_no_delete.sql", (_fn("hotlead_deposits_no_delete"), _trigger("deposits", "deposits_no_delete"))
    ),
    # After-commit work: the outbox wakes its relay.
    EngineFile("outbox_notify.sql", (_fn("hotlead_outbox_notify"), _trigger("outbox", "outbox_notify"))),
    # The distribution engine and its helpers.
    EngineFile("lock_niche_of.sql", (_fn("hotlead_lock_niche_of"),)),
    EngineFile("unlock_niche.sql", (_fn("hotlead_unlock_niche"),)),
    EngineFile("visible.sql", (_fn("hotlead_visible"),)),
    EngineFile("zip_within.sql", (_fn("hotlead_zip_within"),)),
    EngineFile("filter_mismatch.sql", (_fn("hotlead_filter_mismatch"),)),
    # Buyer controls: the engine's clock, calendar periods, schedules and caps.
    EngineFile("now.sql", (_fn("hotlead_now"),)),
    EngineFile("period_bounds.sql", (_fn("hotlead_period_bounds"),)),
    EngineFile("schedule_open.sql", (_fn("hotlead_schedule_open"),)),
    EngineFile("cap_reached.sql", (_fn("hotlead_cap_reached"),)),
    EngineFile("spend_cap_reached.sql", (_fn("hotlead_spend_cap_reached"),)),
    # Auto-recharge: started by the balance rules after a decrease.
    EngineFile("start_recharge.sql", (_fn("hotlead_start_recharge"),)),
    EngineFile("apply_balance_rules.sql", (_fn("hotlead_apply_balance_rules"),)),
    EngineFile("distribute_lead.sql", (_fn("hotlead_distribute_lead"),)),
    # Webhook delivery: the events of lead_assignments / leads become deliveries.
    EngineFile("webhook_enqueue.sql", (_fn("hotlead_webhook_enqueue"),)),
    EngineFile(
        "webhook_events.sql",
        (
            _fn("hotlead_webhook_events"),
            _trigger("leads", "leads_webhook_assigned"),
            _trigger("lead_assignments", "lead_assignments_webhook_refunded"),
            _trigger("webhook_attempts", "webhook_attempts_append_only"),
            _trigger("webhook_attempts", "webhook_attempts_no_truncate"),
        ),
    ),
)


def engine_dir() -> Path:
    """Where the files are read from (tests point it at an edited copy)."""
    return ENGINE_DIR


def declared() -> dict[str, EngineFile]:
    """Every declared object's key → the file that defines it."""
    return {obj.key: f for f in FILES for obj in f.objects}
