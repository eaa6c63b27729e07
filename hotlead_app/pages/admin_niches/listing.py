"""The niches table: each niche's public form, status, field count, and its
actions (edit, levels, close / open)."""

from __future__ import annotations

import reflex as rx

from hotlead_app.components.widgets import confirm_dialog, data_table
from hotlead_app.pages.admin_niches.field_editor import FieldEditor
from hotlead_app.pages.admin_niches.levels import Levels
from hotlead_app.pages.admin_niches.state import NichesState

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


def _niche_row(niche: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(niche["name"], href=niche["href"])),
        rx.table.cell(niche["slug"]),
        rx.table.cell(
            rx.cond(
                niche["active"] == "yes",
                rx.badge("open", color_scheme="green"),
                rx.badge("closed", color_scheme="gray"),
            )
        ),
        rx.table.cell(niche["fields"]),
        rx.table.cell(
            rx.flex(
                rx.button("Edit", size="1", variant="soft", on_click=FieldEditor.edit_niche(niche["id"])),
                rx.button("Levels", size="1", variant="soft", on_click=Levels.show_levels(niche["id"])),
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
            )
        ),
        id="niche-" + niche["slug"],
    )


def niche_table() -> rx.Component:
    return data_table(("Niche", "Slug", "Status", "Fields", ""), S.niches, _niche_row)
