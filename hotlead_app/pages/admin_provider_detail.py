"""``/admin/providers/[provider_id]``: one provider's balance, status, logins,
subscriptions and ledger; switching it on or off and manual credits and debits.

An adjustment is reviewed first: the confirmation names the amount and the provider,
and carries an idempotency key made when the review opened, so a double click on
"Confirm" posts once (the ledger returns the first entry for a repeated key)."""

from __future__ import annotations

import json
import uuid

import reflex as rx

from hotlead_app import routes
from hotlead_app.components import format as fmt
from hotlead_app.components.backoffice import empty_state
from hotlead_app.components.layout import field_error, field_label
from hotlead_app.components.page import admin_page
from hotlead_app.components.widgets import confirm_dialog, data_table, keyset_pager, loading_or
from hotlead_app.domain import money
from hotlead_app.domain.errors import DomainError, InvalidInput
from hotlead_app.services import catalog, ledger
from hotlead_app.services.reads import ledger_entries, providers
from hotlead_app.services.reads import statements as statement_reads
from hotlead_app.state.events import event
from hotlead_app.state.fields import ObjectField, object_field
from hotlead_app.state.guards import AdminPageState, guarded
from hotlead_app.state.paging import KeysetPages

PAGE_SIZE = 25
RECENT_MONTHS = 6  # statements shown before "Show all months"
MAX_MEMO = 5000


class ProviderDetailState(KeysetPages, AdminPageState):
    provider_id: rx.Field[str] = rx.field("")
    found: rx.Field[bool] = rx.field(True)
    loading: rx.Field[bool] = rx.field(True)
    name: rx.Field[str] = rx.field("")
    email: rx.Field[str] = rx.field("")
    status: rx.Field[str] = rx.field("")
    status_word: rx.Field[str] = rx.field("")
    status_text: rx.Field[str] = rx.field("")
    status_reason: rx.Field[str] = rx.field("")
    balance: rx.Field[str] = rx.field("")
    logins: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    subscriptions: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    entries: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    statements: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    all_months: rx.Field[bool] = rx.field(False)

    @rx.var
    def shown_statements(self) -> list[dict[str, str]]:
        return self.statements if self.all_months else self.statements[:RECENT_MONTHS]

    @event
    def toggle_months(self):
        self.all_months = not self.all_months

    status_memo: rx.Field[str] = rx.field("")
    # The adjustment form and its review
    adj_type: rx.Field[str] = rx.field("credit")
    adj_amount: rx.Field[str] = rx.field("")
    adj_memo: rx.Field[str] = rx.field("")
    adj_errors: ObjectField[dict[str, str]] = object_field(dict)
    confirm_open: rx.Field[bool] = rx.field(False)
    pending_type: rx.Field[str] = rx.field("")
    pending_amount: rx.Field[str] = rx.field("")
    pending_memo: rx.Field[str] = rx.field("")
    _pending_value: str = ""  # the amount to post, plain (pending_amount is how it is shown)
    pending_key: rx.Field[str] = rx.field("")
    posting: rx.Field[bool] = rx.field(False)

    def _id_from_url(self) -> uuid.UUID | None:
        try:
            return uuid.UUID(str(self.router.url.path).rstrip("/").rsplit("/", 1)[-1])
        except ValueError:
            return None

    @rx.var
    def ledger_href(self) -> str:
        return f"{routes.ADMIN_LEDGER}?provider={self.provider_id}"

    @rx.var
    def audit_href(self) -> str:
        return f"{routes.ADMIN_AUDIT}?entity_type=provider&entity_id={self.provider_id}"

    def _load_provider(self, principal) -> None:
        view = providers.provider_detail(principal.actor, provider_id=uuid.UUID(self.provider_id))
        self.name = view["name"]
        self.email = view["email"]
        self.status = view["status"]
        self.status_word = fmt.status_word(fmt.PROVIDER_STATUS, view["status"])
        self.status_reason = view["status_reason"] or ""
        self.status_text = fmt.label(fmt.PROVIDER_STATUS_TEXT, view["status"])
        self.balance = fmt.money(view["balance"])
        self.logins = [
            {"email": u["email"], "active": "yes" if u["active"] else "no", "since": fmt.when(u["created_at"])}
            for u in view["logins"]
        ]
        self.subscriptions = [
            {
                "id": s["id"],
                "niche": s["niche_name"],
                "level": s["level"],
                "price": fmt.money(s["price_per_lead"]),
                "state": ("cancelled" if s["cancelled_at"] else "active" if s["active"] else s["pause_text"]),
                "filters": json.dumps(s["filters"], sort_keys=True) if s["filters"] else "every lead",
                "last": fmt.when(s["last_received_at"]) or "never",
            }
            for s in view["subscriptions"]
        ]

    def _load_statements(self, principal) -> None:
        """The provider's monthly statements, newest first, with their files."""
        files = f"/api/v1/admin/providers/{self.provider_id}/statements"
        self.statements = [
            {
                "month": s.month.key,
                "label": s.month.label + (" (to date)" if s.to_date else ""),
                "opening": fmt.money(s.opening),
                "closing": fmt.money(s.closing),
                "entries": f"{s.entries} {'entry' if s.entries == 1 else 'entries'}",
                "pdf": f"{files}/{s.month.key}.pdf",
                "csv": f"{files}/{s.month.key}.csv",
            }
            for s in statement_reads.admin_statements(principal.actor, provider_id=uuid.UUID(self.provider_id))
        ]

    def _show_page(self, principal, start: int | None) -> None:
        """A page of the provider's ledger entries."""
        rows = ledger_entries.all_entries(
            principal.actor, provider_id=uuid.UUID(self.provider_id), limit=PAGE_SIZE, before_seq=start or None
        )
        shown = self._take_page(rows, PAGE_SIZE, lambda e: e["seq"])
        self.entries = [
            {
                "id": e["id"],
                "when": fmt.when(e["created_at"]),
                "type": e["type"],
                "amount": fmt.signed_money(e["signed_amount"]),
                "balance_after": fmt.money_or(e["balance_after"], ""),
                "memo": e["memo"] or "",
                "related": e["related_entity_type"] or "",
            }
            for e in shown
        ]

    @event
    @guarded
    def load(self, principal):
        self.loading = True
        self.confirm_open = False
        self.adj_errors = {}
        provider_id = self._id_from_url()
        if provider_id is None:
            self.found = False
            self.loading = False
            return
        self.provider_id = str(provider_id)
        try:
            self._load_provider(principal)
        except DomainError:
            self.found = False
            self.loading = False
            return
        self.found = True
        self._load_statements(principal)
        self._first_page(principal)
        self.loading = False

    # ----------------------------------------------------------------- status

    @event
    def set_status_memo(self, value: str):
        self.status_memo = value

    @event
    @guarded
    def set_status(self, principal, status: str):
        try:
            provider = catalog.set_provider_status(
                provider_id=uuid.UUID(self.provider_id),
                status=status,
                actor=principal.actor,
                memo=self.status_memo.strip() or None,
            )
        except DomainError as exc:
            return rx.toast.error(exc.message)
        self.status_memo = ""
        self._load_provider(principal)
        if provider.status.value == "active":
            return rx.toast.success(f"{provider.name} is switched on.")
        if status == "active":
            return rx.toast.warning(
                f"{provider.name} is switched on but paused: its balance covers none of its subscriptions."
            )
        return rx.toast.success(f"{provider.name} is switched off: it receives no leads.")

    # ----------------------------------------------------------------- adjustments

    @event
    def set_adj_type(self, value: str):
        self.adj_type = value

    @event
    def set_adj_amount(self, value: str):
        self.adj_amount = value

    @event
    def set_adj_memo(self, value: str):
        self.adj_memo = value

    @event
    def set_confirm_open(self, value: bool):
        self.confirm_open = bool(value)

    @event
    @guarded
    def review_adjustment(self, principal):
        """Check the form with the ledger's own money rules, then ask to confirm."""
        errors: dict[str, str] = {}
        if self.adj_type not in ("credit", "debit"):
            errors["type"] = "credit or debit"
        try:
            amount = money.to_amount(self.adj_amount, field="amount")
        except InvalidInput as exc:
            errors.update({k: str(v) for k, v in exc.details.items()})
        if len(self.adj_memo) > MAX_MEMO:
            errors["memo"] = f"at most {MAX_MEMO} characters"
        elif not self.adj_memo.strip():
            errors["memo"] = "say why: the memo is kept in the ledger and the audit log"
        self.adj_errors = errors
        if errors:
            return
        self.pending_type = self.adj_type
        self.pending_amount = fmt.money(amount)  # shown; the ledger gets _pending_value
        self._pending_value = money.format_money(amount)
        self.pending_memo = self.adj_memo.strip()
        self.pending_key = f"adjustment:{uuid.uuid4()}"
        self.confirm_open = True

    @event
    @guarded
    def confirm_adjustment(self, principal, key: str):
        """``key`` comes from the page as it was when "Confirm" was clicked: two clicks
        on one review carry the same key, and the ledger posts it once."""
        if not key or not key.startswith("adjustment:") or len(key) > 100:
            return rx.toast.error("Review the adjustment again.")
        try:
            posted = ledger.adjust(
                provider_id=uuid.UUID(self.provider_id),
                type=self.pending_type,
                amount=self._pending_value,
                actor=principal.actor,
                memo=self.pending_memo,
                key=key,
            )
        except DomainError as exc:
            self.confirm_open = False
            self.adj_errors = {"amount": exc.message}
            return rx.toast.error(exc.message)
        self.confirm_open = False
        if not posted.created:
            return rx.toast.info("This adjustment was already posted.")
        self.adj_amount = ""
        self.adj_memo = ""
        self.adj_errors = {}
        self._load_provider(principal)
        self._first_page(principal)
        verb = "Credited" if self.pending_type == "credit" else "Debited"
        return rx.toast.success(f"{verb} {self.pending_amount} to {self.name}; the balance is {self.balance}.")


S = ProviderDetailState


def _status_dialog() -> rx.Component:
    switching_off = S.status != "inactive"
    return confirm_dialog(
        (rx.cond(switching_off, "Deactivate ", "Activate "), S.name, "?"),
        rx.cond(
            switching_off,
            "It stops receiving leads at once; its balance and subscriptions are kept.",
            "It receives leads again if its balance covers a subscription.",
        ),
        rx.input(
            placeholder="Memo for the audit log (admins only)",
            value=S.status_memo,
            on_change=S.set_status_memo,
            margin_top="1em",
            id="status-memo",
            aria_label="Memo for the audit log",
        ),
        trigger=rx.button(
            rx.cond(switching_off, "Deactivate", "Activate"),
            variant="soft",
            color_scheme=rx.cond(switching_off, "red", "green"),
            id="toggle-status",
        ),
        confirm=rx.button(
            rx.cond(switching_off, "Deactivate", "Activate"),
            color_scheme=rx.cond(switching_off, "red", "green"),
            on_click=S.set_status(rx.cond(switching_off, "inactive", "active")),
            id="confirm-status",
        ),
        cancel_color=None,
        close_on_confirm=True,
    )


def _adjustment_form() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Credit or debit", size="3"),
            rx.flex(
                rx.box(
                    field_label("Type", html_for="adj-type", weight="medium"),
                    rx.el.select(
                        rx.el.option("credit (adds)", value="credit"),
                        rx.el.option("debit (takes)", value="debit"),
                        value=S.adj_type,
                        on_change=S.set_adj_type,
                        id="adj-type",
                        style={"width": "100%", "padding": "0.4em"},
                    ),
                    field_error(S.adj_errors.get("type", "")),
                    flex="0 1 10em",
                ),
                rx.box(
                    field_label("Amount", html_for="adj-amount", weight="medium"),
                    rx.input(
                        value=S.adj_amount,
                        on_change=S.set_adj_amount,
                        id="adj-amount",
                        placeholder="100.00",
                        input_mode="decimal",
                        width="100%",
                    ),
                    field_error(S.adj_errors.get("amount", "")),
                    flex="0 1 10em",
                ),
                rx.box(
                    field_label("Memo (admins only)", html_for="adj-memo", weight="medium"),
                    rx.input(
                        value=S.adj_memo,
                        on_change=S.set_adj_memo,
                        id="adj-memo",
                        placeholder="Why this adjustment",
                        width="100%",
                    ),
                    field_error(S.adj_errors.get("memo", "")),
                    flex="1 1 14em",
                ),
                wrap="wrap",
                spacing="3",
                width="100%",
                align="start",
            ),
            rx.flex(
                rx.spacer(), rx.button("Review", on_click=S.review_adjustment, id="review-adjustment"), width="100%"
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="adjustment-form",
    )


def _confirm_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Confirm the ", S.pending_type),
            rx.alert_dialog.description(
                rx.cond(S.pending_type == "credit", "Credit ", "Debit "),
                rx.text.strong(S.pending_amount),
                rx.cond(S.pending_type == "credit", " to ", " from "),
                rx.text.strong(S.name),
                "?",
                id="adjustment-summary",
            ),
            rx.text("Memo: ", S.pending_memo, size="2", color_scheme="gray", margin_top="0.5em"),
            rx.flex(
                rx.button("Cancel", variant="soft", on_click=S.set_confirm_open(False)),
                rx.button("Confirm", on_click=S.confirm_adjustment(S.pending_key), id="confirm-adjustment"),
                justify="end",
                spacing="3",
                margin_top="1em",
            ),
            # The description has its own id: keep it describing the dialog.
            aria_describedby="adjustment-summary",
        ),
        open=S.confirm_open,
        on_open_change=S.set_confirm_open,
    )


def _table(headers: list[str], rows, cells: list[str], label: str, row_id: str | None = None) -> rx.Component:
    return data_table(
        headers,
        rows,
        lambda r: rx.table.row(*[rx.table.cell(r[c]) for c in cells], id=("entry-" + r["id"]) if row_id else None),
        label=label,
    )


def _statement_row(s: dict) -> rx.Component:
    """One month: its name with the PDF and CSV links under it (on screen at 375 px)."""
    return rx.table.row(
        rx.table.cell(
            rx.text(s["label"], white_space="nowrap"),
            rx.hstack(
                rx.link("PDF", href=s["pdf"], reload_document=True, id="statement-pdf-" + s["month"], size="2"),
                rx.link("CSV", href=s["csv"], reload_document=True, id="statement-csv-" + s["month"], size="2"),
                rx.text(s["entries"], size="1", color="var(--gray-11)"),
                spacing="3",
                align="center",
            ),
        ),
        rx.table.cell(s["opening"], text_align="right", white_space="nowrap", display=["none", "table-cell"]),
        rx.table.cell(s["closing"], text_align="right", white_space="nowrap"),
        id="statement-" + s["month"],
        class_name="statement-row",
    )


def _content() -> rx.Component:
    return rx.vstack(
        rx.card(
            rx.flex(
                rx.vstack(
                    rx.text("Balance", size="2", color_scheme="gray"),
                    rx.heading(S.balance, size="8", id="provider-balance"),
                    spacing="1",
                ),
                rx.vstack(
                    rx.hstack(
                        rx.badge(
                            S.status_word,
                            id="provider-status",
                            color_scheme=rx.match(
                                S.status, ("active", "green"), ("auto_deactivated", "orange"), "gray"
                            ),
                        ),
                        rx.cond(S.status_reason != "", rx.text(S.status_reason, size="1", color_scheme="gray")),
                    ),
                    rx.text(S.status_text, size="2"),
                    rx.text(S.email, size="2", color_scheme="gray"),
                    spacing="1",
                ),
                rx.spacer(),
                rx.flex(
                    _status_dialog(),
                    rx.link(rx.button("Audit trail", variant="soft"), href=S.audit_href),
                    rx.link(rx.button("In the global ledger", variant="soft"), href=S.ledger_href),
                    spacing="2",
                    wrap="wrap",
                ),
                wrap="wrap",
                spacing="5",
                align="center",
                width="100%",
            ),
            width="100%",
        ),
        _adjustment_form(),
        _confirm_dialog(),
        rx.heading("Ledger", size="4"),
        rx.cond(
            S.entries.length() > 0,
            rx.vstack(
                _table(
                    ["When", "Type", "Amount", "Balance after", "Memo", "For"],
                    S.entries,
                    ["when", "type", "amount", "balance_after", "memo", "related"],
                    "Ledger",
                    row_id="entry",
                ),
                keyset_pager(S),
                width="100%",
            ),
            empty_state("No money has moved yet.", id="ledger-empty"),
        ),
        rx.heading("Statements", size="4"),
        rx.cond(
            S.statements.length() > 0,
            rx.vstack(
                data_table(
                    ["Month", rx.table.column_header_cell("Opening", display=["none", "table-cell"]), "Closing"],
                    S.shown_statements,
                    _statement_row,
                    id="statements",
                ),
                rx.cond(
                    S.statements.length() > RECENT_MONTHS,
                    rx.button(
                        rx.cond(S.all_months, "Show recent months only", "Show all months"),
                        variant="ghost",
                        on_click=S.toggle_months,
                        id="statements-all",
                    ),
                ),
                width="100%",
                spacing="2",
            ),
            empty_state("No statement yet: no money has moved.", id="statements-empty"),
        ),
        rx.heading("Subscriptions", size="4"),
        rx.cond(
            S.subscriptions.length() > 0,
            _table(
                ["Niche", "Level", "Price", "State", "Filters", "Last lead"],
                S.subscriptions,
                ["niche", "level", "price", "state", "filters", "last"],
                "Subscriptions",
            ),
            empty_state("No subscription yet.", id="subscriptions-empty"),
        ),
        rx.heading("Logins", size="4"),
        rx.cond(
            S.logins.length() > 0,
            _table(["Email", "Active", "Since"], S.logins, ["email", "active", "since"], "Logins"),
            empty_state("No login: this provider cannot sign in.", id="logins-empty"),
        ),
        spacing="4",
        width="100%",
    )


@admin_page(
    route=routes.ADMIN_PROVIDER,
    title="Provider",
    on_load=ProviderDetailState.load,
    heading=rx.cond(S.name != "", S.name, "Provider"),
    actions=lambda: rx.link("← All providers", href=routes.ADMIN_PROVIDERS),
)
def admin_provider_detail() -> rx.Component:
    return loading_or(
        S.loading,
        rx.cond(
            S.found,
            _content(),
            rx.vstack(
                rx.text("No such provider.", id="provider-missing"),
                rx.link("All providers", href=routes.ADMIN_PROVIDERS),
            ),
        ),
    )
