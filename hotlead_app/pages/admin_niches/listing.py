"""The niches list: each niche's public form, status, field and level counts, a
warning when it takes leads no level can sell, and its actions (edit, levels,
return settings, close / open)."""

from __future__ import annotations

import reflex as rx

from hotlead_app.components.widgets import confirm_dialog
from hotlead_app.pages.admin_niches.field_editor import FieldEditor
from hotlead_app.pages.admin_niches.levels import Levels
from hotlead_app.pages.admin_niches.returns import ReturnSettings
from hotlead_app.pages.admin_niches.state import NichesState
from hotlead_app.services.reads import niches as niche_reads

S = NichesState


def _deactivate_button(niche: dict) -> rx.Component:
    return confirm_dialog(
        "Close " + niche["name"] + "?",
        "Its public form stops taking requests and its providers receive no new leads from it. "
        "You can open it again later.",
        trigger=rx.button("Close", size="1", variant="soft", color_scheme="red"),
        confirm=rx.button("Close niche", color_scheme="red", on_click=S.set_niche_active(niche["id"], False)),
        cancel_color=None,
        close_on_confirm=True,
    )


def _actions(niche: dict) -> rx.Component:
    return rx.flex(
        rx.button("Edit", size="1", variant="soft", on_click=FieldEditor.edit_niche(niche["id"])),
        rx.button("Levels", size="1", variant="soft", on_click=Levels.show_levels(niche["id"])),
        rx.button(
            "Returns",
            size="1",
            variant="soft",
            on_click=ReturnSettings.open_returns(niche["id"]),
            class_name="niche-returns",
        ),
        rx.cond(
            niche["active"] == "yes",
            _deactivate_button(niche),
            rx.button(
                "Open",
                size="1",
                variant="soft",
                color_scheme="green",
                on_click=S.set_niche_active(niche["id"], True),
            ),
        ),
        spacing="2",
        wrap="wrap",
        class_name="niche-actions",
    )


def _niche_card(niche: dict) -> rx.Component:
    """One niche as a card: what it is on the left, its actions on the right; on a
    phone the actions wrap under it, so nothing is ever off-screen."""
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.vstack(
                    rx.flex(
                        rx.link(niche["name"], href=niche["href"], weight="medium"),
                        rx.cond(
                            niche["active"] == "yes",
                            rx.badge("open", color_scheme="green"),
                            rx.badge("closed", color_scheme="gray"),
                        ),
                        spacing="2",
                        align="center",
                        wrap="wrap",
                    ),
                    rx.text(
                        "/n/",
                        niche["slug"],
                        " · ",
                        niche["fields"],
                        " form fields · ",
                        rx.el.span(niche["levels"], class_name="niche-levels"),
                        size="1",
                        color_scheme="gray",
                    ),
                    spacing="1",
                    flex="1 1 16em",
                    min_width="0",
                ),
                _actions(niche),
                spacing="3",
                wrap="wrap",
                align="center",
                width="100%",
            ),
            rx.cond(
                niche["warning"] != "",
                rx.callout(
                    niche["warning"],
                    icon="triangle_alert",
                    color_scheme="orange",
                    size="1",
                    class_name="niche-warning",
                    width="100%",
                ),
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
        id="niche-" + niche["slug"],
        class_name="niche-card",
    )


def niche_table() -> rx.Component:
    """The niches as cards (a table's action column did not fit a phone), and the
    rule behind the warnings, word for word."""
    return rx.vstack(
        rx.foreach(S.niches, _niche_card),
        rx.text(niche_reads.UNSOLD_RULE, size="1", color_scheme="gray", id="niches-warning-rule"),
        spacing="2",
        width="100%",
        id="niches",
    )
