"""``/provider/funds``: "Add funds" — an amount (presets or custom) and a method, then
the processor's page; below it the saved card and auto-recharge (``card.py``).  ``/provider/funds/return``: where the processor sends the
provider back; it shows the deposit's status live (pending until the verified payment
lands, then completed with the new balance).  A PayPal order is captured here on
return; a cancelled payment says nothing was charged."""

from __future__ import annotations

import asyncio
import time
import uuid

import reflex as rx

from hotlead_app import routes
from hotlead_app.components import format as fmt
from hotlead_app.components.backoffice import empty_state
from hotlead_app.components.layout import field_label
from hotlead_app.components.page import provider_page
from hotlead_app.components.widgets import data_table, loading_or
from hotlead_app.domain.errors import DomainError, InvalidInput
from hotlead_app.pages.provider_funds.card import CardState, card_and_auto_recharge
from hotlead_app.services import auth, catalog
from hotlead_app.services.payments import deposits, paypal_gateway, stripe_gateway
from hotlead_app.services.payments.errors import ProcessorUnavailable
from hotlead_app.state.events import event
from hotlead_app.state.fields import ObjectField, object_field
from hotlead_app.state.guards import ProviderPageState, guarded

PRESETS = ("25.00", "50.00", "100.00", "250.00")
POLL_SECONDS = 1.5
MAX_POLL_SECONDS = 15 * 60


def _row(d: deposits.DepositRead) -> dict[str, str]:
    return {
        "id": str(d.id),
        "when": fmt.when(d.created_at),
        "amount": fmt.money(d.amount),
        "method": fmt.label(fmt.PAYMENT_METHOD_LABELS, d.method),
        "status": fmt.status_word(fmt.DEPOSIT_STATUS, d.status),
        "status_color": fmt.status_color(fmt.DEPOSIT_STATUS, d.status),
    }


class FundsState(ProviderPageState):
    balance: rx.Field[str] = rx.field("")
    amount: rx.Field[str] = rx.field("50.00")
    method: rx.Field[str] = rx.field("stripe")
    methods: rx.Field[list[list[str]]] = rx.field(default_factory=list)
    errors: ObjectField[dict[str, str]] = object_field(dict)
    minimum: rx.Field[str] = rx.field("")
    maximum: rx.Field[str] = rx.field("")
    recent: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    loading: rx.Field[bool] = rx.field(True)
    submitting: rx.Field[bool] = rx.field(False)

    @event
    @guarded
    def load(self, principal):
        self.balance = fmt.money(catalog.get_provider(principal.actor, provider_id=principal.provider_id).balance)
        low, high = deposits.limits()
        self.minimum, self.maximum = fmt.money(low), fmt.money(high)
        self.methods = [
            [m, fmt.PAYMENT_METHOD_LABELS[m]]
            for m, ok in (("stripe", stripe_gateway.is_configured()), ("paypal", paypal_gateway.is_configured()))
            if ok
        ]
        if self.methods and self.method not in [m[0] for m in self.methods]:
            self.method = self.methods[0][0]
        self.recent = [_row(d) for d in deposits.list_for_provider(actor=principal.actor, limit=10)]
        self.errors = {}
        self.submitting = False
        self.loading = False

    @event
    def choose(self, amount: str):
        self.amount = amount
        self.errors = {k: v for k, v in self.errors.items() if k != "amount"}

    @event
    def set_amount(self, value: str):
        self.amount = value

    @event
    def set_method(self, value: str):
        self.method = value

    @event
    def check_amount(self, _value: str = ""):
        try:
            deposits.check_request(method=self.method, amount=self.amount.strip())
            self.errors = {k: v for k, v in self.errors.items() if k != "amount"}
        except InvalidInput as exc:
            if "amount" in exc.details:
                self.errors = {**self.errors, "amount": exc.details["amount"]}

    @event
    @guarded
    def submit(self, principal):
        self.submitting = True
        yield
        try:
            made = deposits.create(actor=principal.actor, method=self.method, amount=self.amount.strip())
        except InvalidInput as exc:
            self.errors = {k: str(v) for k, v in exc.details.items()}
            self.submitting = False
            yield rx.toast.error("Please check the amount and the method.")
            return
        except (ProcessorUnavailable, DomainError) as exc:
            self.errors = {"form": exc.message}
            self.submitting = False
            yield rx.toast.error(exc.message)
            return
        self.errors = {}
        yield rx.redirect(made.redirect_url)  # another host: the browser leaves for the processor


def field_error(message) -> rx.Component:
    return rx.cond(message != "", rx.text(message, color_scheme="red", size="2", class_name="field-error"))


def _funds_form() -> rx.Component:
    s = FundsState
    return rx.card(
        rx.vstack(
            field_label("Amount", html_for="deposit-amount", weight="medium"),
            rx.flex(
                *[
                    rx.button(
                        fmt.money(p),
                        variant=rx.cond(s.amount == p, "solid", "soft"),
                        on_click=s.choose(p),
                        type="button",
                        class_name="preset",
                        id=f"preset-{p.split('.')[0]}",
                    )
                    for p in PRESETS
                ],
                wrap="wrap",
                spacing="2",
            ),
            rx.input(
                value=s.amount,
                on_change=s.set_amount,
                on_blur=s.check_amount,
                id="deposit-amount",
                input_mode="decimal",
                placeholder="50.00",
                width="100%",
                max_width="14em",
                aria_describedby="amount-hint",
            ),
            rx.text("Between ", s.minimum, " and ", s.maximum, ".", size="1", color_scheme="gray", id="amount-hint"),
            field_error(s.errors.get("amount", "")),
            rx.text("Pay with", size="2", weight="medium", margin_top="0.5em"),
            rx.cond(
                s.methods.length() > 0,
                rx.radio_group.root(
                    rx.foreach(s.methods, lambda m: rx.radio_group.item(m[1], value=m[0], id="method-" + m[0])),
                    value=s.method,
                    on_change=s.set_method,
                    direction="row",
                    spacing="4",
                    id="deposit-method",
                    aria_label="Pay with",
                ),
                rx.text("No payment method is configured on this platform yet.", color_scheme="red", size="2"),
            ),
            field_error(s.errors.get("method", "")),
            field_error(s.errors.get("form", "")),
            rx.button(
                rx.cond(s.submitting, rx.spinner(size="1"), rx.fragment()),
                "Continue to payment",
                on_click=s.submit,
                disabled=s.submitting | (s.methods.length() == 0),
                id="deposit-submit",
                size="3",
                margin_top="0.5em",
            ),
            rx.text(
                "You are sent to the payment page; your balance is updated as soon as the payment is confirmed.",
                size="1",
                color_scheme="gray",
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
        max_width="36em",
    )


def _recent() -> rx.Component:
    s = FundsState
    return rx.cond(
        s.recent.length() > 0,
        data_table(
            ("When", "Amount", "Method", "Status"),
            s.recent,
            lambda r: rx.table.row(
                rx.table.cell(rx.link(r["when"], href=routes.PROVIDER_FUNDS_RETURN + "?deposit=" + r["id"])),
                rx.table.cell(r["amount"]),
                rx.table.cell(r["method"]),
                rx.table.cell(rx.badge(r["status"], color_scheme=r["status_color"])),
            ),
        ),
        empty_state("No deposits yet.", id="deposits-empty"),
    )


@provider_page(route=routes.PROVIDER_FUNDS, title="Add funds", on_load=[FundsState.load, CardState.load])
def provider_funds() -> rx.Component:
    s = FundsState
    return loading_or(
        s.loading,
        rx.vstack(
            rx.text("Current balance: ", rx.text.strong(s.balance, id="funds-balance"), size="3"),
            _funds_form(),
            card_and_auto_recharge(),
            rx.heading("Your latest deposits", size="4", margin_top="1em"),
            _recent(),
            spacing="4",
            width="100%",
        ),
    )


# --------------------------------------------------------------------------- return page


def _deposit_for(token: str, deposit_id: uuid.UUID) -> deposits.DepositRead | None:
    try:
        principal = auth.authenticate_sealed(sealed=token)
    except auth.NotAuthenticated:
        return None
    if principal.role != "provider":
        return None
    return deposits.get(actor=principal.actor, deposit_id=deposit_id)


class FundsReturnState(ProviderPageState):
    deposit_id: rx.Field[str] = rx.field("")
    status: rx.Field[str] = rx.field("")
    amount: rx.Field[str] = rx.field("")
    method: rx.Field[str] = rx.field("")
    balance: rx.Field[str] = rx.field("")
    result: rx.Field[str] = rx.field("")
    problem: rx.Field[str] = rx.field("")
    loading: rx.Field[bool] = rx.field(True)
    _watching: float = 0.0

    def _show(self, d: deposits.DepositRead) -> None:
        self.deposit_id, self.status = str(d.id), d.status
        self.amount, self.method = fmt.money(d.amount), fmt.label(fmt.PAYMENT_METHOD_LABELS, d.method)
        self.balance = fmt.money(d.balance)

    @event
    @guarded
    def load(self, principal):
        self.problem, self.status, self.loading = "", "", True
        query = self.router.url.query_parameters
        self.result = str(query.get("result", ""))
        try:
            deposit_id = uuid.UUID(str(query.get("deposit", "")))
            found = deposits.get(actor=principal.actor, deposit_id=deposit_id)
            if found.status == "pending" and self.result == "cancel":
                found = deposits.cancel(actor=principal.actor, deposit_id=deposit_id)
            elif found.status == "pending" and self.result == "success" and found.method == "paypal":
                try:
                    found = deposits.capture_paypal(actor=principal.actor, deposit_id=deposit_id)
                except DomainError as exc:
                    self.problem = exc.message
        except ValueError:
            self.problem = "This link does not name a deposit."
            self.loading = False
            return
        except DomainError as exc:
            self.problem = exc.message
            self.loading = False
            return
        self._show(found)
        self.loading = False
        if found.status == "pending":
            return FundsReturnState.watch

    @event(background=True)
    async def watch(self):
        """Poll the deposit until it leaves ``pending`` (or the page is left)."""
        async with self:
            if time.time() - self._watching < 3 * POLL_SECONDS:
                return
            self._watching = time.time()
            token, deposit_id = self.token, self.deposit_id
        started = time.time()
        while time.time() - started < MAX_POLL_SECONDS:
            await asyncio.sleep(POLL_SECONDS)
            try:
                found = await asyncio.to_thread(_deposit_for, token, uuid.UUID(deposit_id))
            except Exception:
                found = None
            async with self:
                if (
                    found is None
                    or self.deposit_id != deposit_id
                    or not self.router.route_id.startswith(routes.PROVIDER_FUNDS_RETURN)
                ):
                    self._watching = 0.0
                    return
                self._watching = time.time()
                self._show(found)
                finished = found.status != "pending"
                if finished:
                    self._watching = 0.0
                message = f"{self.amount} added to your balance." if found.status == "completed" else ""
            if finished:
                if message:
                    yield rx.toast.success(message)
                return
        async with self:
            self._watching = 0.0


def _status_badge() -> rx.Component:
    s = FundsReturnState
    return rx.badge(
        rx.match(s.status, *[(key, word) for key, (word, _color) in fmt.DEPOSIT_STATUS.items()], s.status),
        id="deposit-status",
        size="3",
        color_scheme=rx.match(s.status, *[(key, color) for key, (_word, color) in fmt.DEPOSIT_STATUS.items()], "gray"),
    )


@provider_page(route=routes.PROVIDER_FUNDS_RETURN, title="Payment", on_load=FundsReturnState.load)
def provider_funds_return() -> tuple[rx.Component, ...]:
    s = FundsReturnState
    return (
        loading_or(
            s.loading,
            rx.cond(
                s.problem != "",
                rx.callout(s.problem, icon="triangle_alert", color_scheme="red", id="deposit-problem", width="100%"),
                rx.fragment(),
            ),
        ),
        rx.cond(
            s.status != "",
            rx.card(
                rx.vstack(
                    rx.hstack(
                        rx.text("Deposit of ", rx.text.strong(s.amount), " by ", s.method),
                        _status_badge(),
                        wrap="wrap",
                        spacing="3",
                        align="center",
                    ),
                    rx.cond(
                        (s.result == "cancel") & (s.status != "completed"),
                        rx.text("You cancelled the payment; nothing was charged.", id="deposit-cancelled"),
                        rx.text(
                            rx.match(s.status, *list(fmt.DEPOSIT_STATUS_TEXT.items()), ""), id="deposit-status-text"
                        ),
                    ),
                    rx.cond(
                        s.status == "pending",
                        rx.hstack(
                            rx.spinner(size="2"),
                            rx.text("This page updates by itself.", size="2", color_scheme="gray"),
                            align="center",
                        ),
                    ),
                    rx.text("Your balance: ", rx.text.strong(s.balance, id="return-balance"), size="4"),
                    rx.hstack(
                        rx.link(rx.button("Back to overview", variant="soft"), href=routes.PROVIDER_HOME),
                        rx.link(rx.button("Add more funds", variant="soft"), href=routes.PROVIDER_FUNDS),
                        wrap="wrap",
                        spacing="3",
                    ),
                    spacing="3",
                    width="100%",
                ),
                width="100%",
                max_width="36em",
            ),
        ),
    )
