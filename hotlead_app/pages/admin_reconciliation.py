"""``/admin/reconciliation``: payment reconciliation issues — what Stripe or PayPal and
the deposits disagree on.  Open issues first (newest first, paginated); an admin
resolves one after checking it at the processor, with a note, confirmed in a dialog."""

from __future__ import annotations

import uuid

import reflex as rx

from hotlead_app import routes
from hotlead_app.components import format as fmt
from hotlead_app.components.backoffice import empty_state
from hotlead_app.components.page import admin_page
from hotlead_app.components.widgets import confirm_dialog, data_table, keyset_pager, loading_or
from hotlead_app.domain.errors import DomainError
from hotlead_app.services.payments import issues
from hotlead_app.state.events import event
from hotlead_app.state.guards import AdminPageState, guarded
from hotlead_app.state.paging import KeysetPages

PAGE_SIZE = 20


def _row(i: issues.IssueRead) -> dict[str, str]:
    return {
        "id": str(i.id),
        "kind": fmt.label(issues.KIND_LABELS, i.kind),
        "processor": i.processor,
        "reference": i.processor_reference,
        "deposit": str(i.deposit_id) if i.deposit_id else "—",
        "expected": fmt.money_or(i.expected_amount),
        "actual": fmt.money_or(i.actual_amount),
        "details": i.details or "",
        "created": fmt.when(i.created_at),
        "status": i.status,
        "note": i.resolution_note or "",
    }


class ReconciliationState(KeysetPages, AdminPageState):
    rows: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    status: rx.Field[str] = rx.field("open")
    loading: rx.Field[bool] = rx.field(True)
    resolving_id: rx.Field[str] = rx.field("")
    resolving_ref: rx.Field[str] = rx.field("")
    note: rx.Field[str] = rx.field("")
    dialog_open: rx.Field[bool] = rx.field(False)

    def _show_page(self, principal, start: list[str] | None) -> None:
        found = issues.list_issues(
            actor=principal.actor, status=self.status, limit=PAGE_SIZE + 1, cursor=tuple(start) if start else None
        )
        shown = self._take_page(found, PAGE_SIZE, lambda i: [i.created_at.isoformat(), str(i.id)])
        self.rows = [_row(i) for i in shown]
        self.loading = False

    @event
    @guarded
    def load(self, principal):
        self.loading = True
        self._first_page(principal)

    @event
    @guarded
    def show(self, principal, status: str | list[str]):
        status = status[0] if isinstance(status, list) and status else status
        self.status = status if status in ("open", "resolved", "all") else "open"
        self._first_page(principal)

    @event
    def ask_resolve(self, issue_id: str, reference: str):
        self.resolving_id, self.resolving_ref, self.note, self.dialog_open = issue_id, reference, "", True

    @event
    def set_note(self, value: str):
        self.note = value

    @event
    def set_dialog_open(self, value: bool):
        self.dialog_open = value

    @event
    @guarded
    def resolve(self, principal):
        try:
            issues.resolve_issue(actor=principal.actor, issue_id=uuid.UUID(self.resolving_id), note=self.note)
        except (DomainError, ValueError) as exc:
            return rx.toast.error(getattr(exc, "message", "This issue cannot be resolved."))
        self.dialog_open = False
        self._reload_page(principal)
        return rx.toast.success(f"Issue {self.resolving_ref} marked resolved.")


S = ReconciliationState


def _issue_row(r) -> rx.Component:
    return rx.table.row(
        rx.table.cell(r["created"], white_space="nowrap"),
        rx.table.cell(r["kind"]),
        rx.table.cell(r["processor"]),
        rx.table.cell(rx.code(r["reference"]), white_space="nowrap"),
        rx.table.cell(r["expected"]),
        rx.table.cell(r["actual"]),
        rx.table.cell(rx.text(r["details"], size="1"), min_width="16em"),
        rx.table.cell(
            rx.cond(
                r["status"] == "open",
                rx.button(
                    "Resolve",
                    size="1",
                    variant="soft",
                    on_click=S.ask_resolve(r["id"], r["reference"]),
                    class_name="resolve-issue",
                ),
                rx.text(r["note"], size="1", color_scheme="gray"),
            )
        ),
        class_name="issue-row",
    )


def _dialog() -> rx.Component:
    return confirm_dialog(
        ("Resolve issue ", S.resolving_ref, "?"),
        "Only after you have checked it at the processor and fixed the balance if needed "
        "(e.g. with a credit or debit on the provider's page). This cannot be undone.",
        rx.text_area(
            placeholder="What was done (kept in the audit log)",
            aria_label="What was done",
            value=S.note,
            on_change=S.set_note,
            margin_top="1em",
            id="resolve-note",
        ),
        confirm=rx.button("Mark resolved", on_click=S.resolve, id="confirm-resolve"),
        cancel_color=None,
        close_on_confirm=True,
        open=S.dialog_open,
        on_open_change=S.set_dialog_open,
    )


@admin_page(route=routes.ADMIN_RECONCILIATION, title="Payments reconciliation", on_load=ReconciliationState.load)
def admin_reconciliation() -> rx.Component:
    return rx.vstack(
        rx.text(
            "Differences between Stripe / PayPal and the deposits, found by the hourly reconciliation. "
            "Missing payments are applied automatically; what is listed here needs a person.",
            size="2",
            color_scheme="gray",
        ),
        rx.segmented_control.root(
            rx.segmented_control.item("Open", value="open"),
            rx.segmented_control.item("Resolved", value="resolved"),
            rx.segmented_control.item("All", value="all"),
            value=S.status,
            on_change=S.show,
            id="issue-status",
        ),
        loading_or(
            S.loading,
            rx.cond(
                S.rows.length() > 0,
                rx.vstack(
                    data_table(
                        ("Found", "Kind", "Processor", "Reference", "Expected", "Paid", "Details", ""),
                        S.rows,
                        _issue_row,
                    ),
                    keyset_pager(S),
                    width="100%",
                ),
                empty_state("Nothing to reconcile: every payment matches its deposit.", id="issues-empty"),
            ),
        ),
        _dialog(),
        spacing="4",
        width="100%",
    )
