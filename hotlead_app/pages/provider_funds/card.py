"""The saved card and auto-recharge, a section of "Add funds" (``/provider/funds``).

The card is saved on Stripe's own page (Checkout in setup mode); back here with
``?card=saved`` the section watches until Stripe's verified webhook has stored it.
Removing the card asks for a confirmation.  Auto-recharge: on/off, the threshold and
the amount, the day limit shown; errors next to each field."""

from __future__ import annotations

import asyncio
import time

import reflex as rx

from hotlead_app.components import format as fmt
from hotlead_app.components.layout import field_label
from hotlead_app.components.widgets import confirm_dialog
from hotlead_app.domain import money
from hotlead_app.domain.errors import DomainError
from hotlead_app.services import auth
from hotlead_app.services.payments import recharge, stripe_gateway
from hotlead_app.state.events import event
from hotlead_app.state.fields import ObjectField, object_field
from hotlead_app.state.guards import ProviderPageState, guarded

POLL_SECONDS = 1.5
MAX_POLL_SECONDS = 120

OFF_REASONS = {
    "card_declined": "your card was declined",
    "authentication_required": "your bank asked you to confirm the payment yourself",
    "no_saved_card": "no card was saved",
}


def card_text(card: recharge.CardRead | None) -> str:
    if card is None:
        return ""
    expiry = f", expires {card.exp_month:02d}/{card.exp_year}" if card.exp_month and card.exp_year else ""
    return f"{card.brand.title()} •••• {card.last4}{expiry}"


def _read_for(token: str) -> recharge.AutoRechargeRead | None:
    try:
        principal = auth.authenticate_sealed(sealed=token)
    except auth.NotAuthenticated:
        return None
    if principal.role != "provider":
        return None
    return recharge.get(actor=principal.actor)


class CardState(ProviderPageState):
    card: rx.Field[str] = rx.field("")
    card_available: rx.Field[bool] = rx.field(False)
    enabled: rx.Field[bool] = rx.field(False)
    threshold: rx.Field[str] = rx.field("")
    amount: rx.Field[str] = rx.field("")
    day_limit: rx.Field[int] = rx.field(3)
    summary: rx.Field[str] = rx.field("")
    off_reason: rx.Field[str] = rx.field("")
    notice: rx.Field[str] = rx.field("")
    errors: ObjectField[dict[str, str]] = object_field(dict)
    busy: rx.Field[bool] = rx.field(False)
    waiting_for_card: rx.Field[bool] = rx.field(False)
    loaded: rx.Field[bool] = rx.field(False)
    _watching: float = 0.0

    def _show(self, read: recharge.AutoRechargeRead, *, fields: bool = True) -> None:
        self.card = card_text(read.card)
        self.enabled = read.enabled
        if fields:
            # Input values: plain amounts ("50.00"), what the field accepts back.
            self.threshold = money.format_money(read.threshold) if read.threshold is not None else ""
            self.amount = money.format_money(read.amount) if read.amount is not None else ""
        self.day_limit = read.max_recharges_per_day
        self.summary = (
            f"Auto-recharge adds {fmt.money(read.amount)} when your balance falls below {fmt.money(read.threshold)}."
            if read.enabled and read.amount is not None and read.threshold is not None
            else ""
        )
        self.off_reason = (
            f"Auto-recharge was turned off because {OFF_REASONS.get(read.off_reason, read.off_reason)}."
            if read.off_reason and not read.enabled
            else ""
        )

    @event
    @guarded
    def load(self, principal):
        self.card_available = stripe_gateway.is_configured()
        self.errors, self.busy, self.notice = {}, False, ""
        self._show(recharge.get(actor=principal.actor))
        self.loaded = True
        result = str(self.router.url.query_parameters.get("card", ""))
        if result == "cancelled":
            self.notice = "You cancelled: no card was saved."
        elif result == "saved" and not self.card:
            self.waiting_for_card = True
            return CardState.watch
        self.waiting_for_card = False

    @event(background=True)
    async def watch(self):
        """Back from Stripe: poll until its webhook has stored the card."""
        async with self:
            if time.time() - self._watching < 3 * POLL_SECONDS:
                return
            self._watching = time.time()
            token = self.token
        started = time.time()
        while time.time() - started < MAX_POLL_SECONDS:
            await asyncio.sleep(POLL_SECONDS)
            try:
                found = await asyncio.to_thread(_read_for, token)
            except Exception:
                found = None
            async with self:
                self._watching = time.time()
                if found is None:
                    break
                if found.card is not None:
                    self._show(found, fields=False)
                    self.waiting_for_card = False
                    self._watching = 0.0
                    return
        async with self:
            self._watching = 0.0
            self.waiting_for_card = False
            if not self.card:
                self.notice = "Stripe has not confirmed the card yet; reload this page in a minute."

    @event
    @guarded
    def add_card(self, principal):
        self.busy = True
        yield
        try:
            url = recharge.start_card_setup(actor=principal.actor)
        except DomainError as exc:
            self.busy = False
            self.errors = {"card": exc.message}
            yield rx.toast.error(exc.message)
            return
        yield rx.redirect(url)

    @event
    @guarded
    def remove_card(self, principal):
        try:
            self._show(recharge.remove_card(actor=principal.actor))
        except DomainError as exc:
            self.errors = {"card": exc.message}
            yield rx.toast.error(exc.message)
            return
        self.errors = {}
        yield rx.toast.success("Card removed. Auto-recharge is off.")

    @event
    def set_enabled(self, value: bool):
        self.enabled = bool(value)
        self.errors = {k: v for k, v in self.errors.items() if k != "enabled"}

    @event
    def set_threshold(self, value: str):
        self.threshold = value
        self.errors = {k: v for k, v in self.errors.items() if k != "threshold"}

    @event
    def set_amount(self, value: str):
        self.amount = value
        self.errors = {k: v for k, v in self.errors.items() if k != "amount"}

    @event
    @guarded
    def save(self, principal):
        self.busy = True
        yield
        try:
            saved = recharge.update(
                actor=principal.actor,
                enabled=self.enabled,
                threshold=self.threshold.strip() or None,
                amount=self.amount.strip() or None,
            )
        except DomainError as exc:
            self.errors = {str(k): str(v) for k, v in (exc.details or {}).items()} or {"form": exc.message}
            self.busy = False
            yield rx.toast.error(exc.message)
            return
        self.errors, self.busy = {}, False
        self._show(saved)
        yield rx.toast.success("Auto-recharge is on." if saved.enabled else "Auto-recharge is off.")


def _error(key: str) -> rx.Component:
    message = CardState.errors.get(key, "")
    return rx.cond(
        message != "", rx.text(message, color_scheme="red", size="2", class_name="field-error", id=f"{key}-error")
    )


def _card_box() -> rx.Component:
    s = CardState
    remove = confirm_dialog(
        "Remove this card?",
        (
            s.card,
            " will no longer be charged, and auto-recharge is turned off. You can save a card again at any time.",
        ),
        confirm=rx.button("Remove card", color_scheme="red", on_click=s.remove_card, id="confirm-remove-card"),
        trigger=rx.button("Remove", variant="soft", color_scheme="red", size="2", id="remove-card"),
        close_on_confirm=True,
    )
    return rx.vstack(
        rx.heading("Saved card", size="4", as_="h2"),
        rx.cond(
            s.card != "",
            rx.hstack(
                rx.icon("credit_card", size=18, aria_hidden="true"),
                rx.text(s.card, id="saved-card", weight="medium"),
                remove,
                spacing="3",
                align="center",
                wrap="wrap",
            ),
            rx.cond(
                s.waiting_for_card,
                rx.hstack(
                    rx.spinner(size="2"),
                    rx.text("Stripe is confirming your card; this updates by itself.", size="2", id="card-waiting"),
                    align="center",
                ),
                rx.text("No card saved.", size="2", color_scheme="gray", id="no-card"),
            ),
        ),
        rx.cond(
            s.card == "",
            rx.button(
                rx.cond(s.busy, rx.spinner(size="1"), rx.fragment()),
                "Save a card",
                on_click=s.add_card,
                disabled=s.busy | ~s.card_available,
                id="add-card",
                variant="soft",
            ),
        ),
        rx.text(
            "You enter the card on Stripe's page; we keep only its brand and last four digits.",
            size="1",
            color_scheme="gray",
        ),
        rx.cond(s.notice != "", rx.text(s.notice, size="2", id="card-notice")),
        _error("card"),
        spacing="2",
        width="100%",
    )


def _money_input(label: str, key: str, value, on_change, hint: str) -> rx.Component:
    return rx.vstack(
        field_label(label, html_for=f"recharge-{key}", size="2", weight="medium"),
        rx.input(
            value=value,
            on_change=on_change,
            id=f"recharge-{key}",
            input_mode="decimal",
            placeholder="50.00",
            width="100%",
            max_width="12em",
            aria_describedby=f"recharge-{key}-hint",
        ),
        rx.text(hint, size="1", color_scheme="gray", id=f"recharge-{key}-hint"),
        _error(key),
        spacing="1",
    )


def _settings_box() -> rx.Component:
    s = CardState
    return rx.vstack(
        rx.heading("Auto-recharge", size="4", as_="h2"),
        rx.cond(s.summary != "", rx.text(s.summary, id="recharge-summary", weight="medium")),
        rx.cond(
            s.off_reason != "",
            rx.callout(s.off_reason, icon="triangle_alert", color_scheme="amber", id="recharge-off-reason"),
        ),
        rx.hstack(
            rx.switch(
                checked=s.enabled,
                on_change=s.set_enabled,
                id="recharge-enabled",
                aria_label="Auto-recharge on",
            ),
            field_label("Recharge my balance automatically", html_for="recharge-enabled", size="2"),
            align="center",
            spacing="2",
        ),
        _error("enabled"),
        rx.flex(
            _money_input("When my balance falls below", "threshold", s.threshold, s.set_threshold, "0.00 or more."),
            _money_input("Add this amount", "amount", s.amount, s.set_amount, "Within the deposit limits."),
            wrap="wrap",
            spacing="4",
        ),
        rx.text(
            "At most ",
            s.day_limit.to_string(),
            " recharges a day. If the card is declined, auto-recharge turns off and we email you.",
            size="1",
            color_scheme="gray",
            id="recharge-day-limit",
        ),
        _error("form"),
        rx.button(
            rx.cond(s.busy, rx.spinner(size="1"), rx.fragment()),
            "Save auto-recharge",
            on_click=s.save,
            disabled=s.busy,
            id="recharge-save",
        ),
        spacing="2",
        width="100%",
    )


def card_and_auto_recharge() -> rx.Component:
    return rx.cond(
        CardState.loaded,
        rx.card(
            rx.vstack(_card_box(), rx.separator(size="4"), _settings_box(), spacing="4", width="100%"),
            width="100%",
            max_width="36em",
            id="card-and-recharge",
        ),
        rx.fragment(),
    )
