"""The subscriptions table: level, price, status and filters of each, with its
actions (pause / resume, edit filters, cancel)."""

from __future__ import annotations

import reflex as rx

from hotlead_app.components.widgets import confirm_dialog, data_table
from hotlead_app.pages.provider_subscriptions.edit_dialog import SubscriptionForm
from hotlead_app.pages.provider_subscriptions.state import SubscriptionsState

S = SubscriptionsState


def _actions(sub: dict) -> rx.Component:
    return rx.hstack(
        rx.cond(
            sub["active"] == "1",
            rx.button("Pause", size="1", variant="soft", on_click=S.pause(sub["id"]), class_name="pause"),
            rx.cond(
                sub["can_resume"] == "1",
                rx.button("Resume", size="1", variant="soft", on_click=S.resume(sub["id"]), class_name="resume"),
            ),
        ),
        rx.button(
            "Edit filters",
            size="1",
            variant="outline",
            on_click=SubscriptionForm.start_edit(sub["id"]),
            class_name="edit-filters",
        ),
        confirm_dialog(
            "Cancel this subscription?",
            (
                "You will stop receiving leads from ",
                sub["niche"],
                " · ",
                sub["level"],
                ". This cannot be undone; you can subscribe again later.",
            ),
            trigger=rx.button("Cancel", size="1", color_scheme="red", variant="ghost", class_name="cancel-sub"),
            confirm=rx.button("Cancel subscription", color_scheme="red", on_click=S.cancel(sub["id"])),
            cancel_label="Keep it",
            close_on_confirm=True,
        ),
        spacing="2",
        wrap="wrap",
    )


def subscriptions_table() -> rx.Component:
    headers = ["Niche", "Level", "Price", "Max providers", "Status", "Filters", ""]
    return data_table(
        headers,
        S.subs,
        lambda sub: rx.table.row(
            rx.table.cell(sub["niche"]),
            rx.table.cell(sub["level"]),
            rx.table.cell(sub["price"]),
            rx.table.cell(sub["max_providers"]),
            rx.table.cell(rx.badge(sub["status"], color_scheme=rx.cond(sub["active"] == "1", "green", "amber"))),
            rx.table.cell(sub["filters"]),
            rx.table.cell(_actions(sub)),
            id="sub-" + sub["id"],
            class_name="subscription-row",
        ),
    )
