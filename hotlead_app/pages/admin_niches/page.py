"""``/admin/niches``: the editor (when open), the niches, the levels of the one picked."""

from __future__ import annotations

import reflex as rx

from hotlead_app import routes
from hotlead_app.components.backoffice import empty_state
from hotlead_app.components.page import admin_page
from hotlead_app.components.widgets import loading_or
from hotlead_app.pages.admin_niches.field_editor import FieldEditor, niche_editor
from hotlead_app.pages.admin_niches.levels import Levels, levels_panel
from hotlead_app.pages.admin_niches.listing import niche_table
from hotlead_app.pages.admin_niches.state import NichesState


@admin_page(
    route=routes.ADMIN_NICHES,
    title="Niches",
    on_load=NichesState.load,
    actions=lambda: rx.button("New niche", on_click=FieldEditor.new_niche, id="new-niche"),
)
def admin_niches() -> rx.Component:
    return rx.vstack(
        rx.cond(FieldEditor.editor_open, niche_editor()),
        loading_or(
            NichesState.loading,
            rx.cond(
                NichesState.niches.length() > 0,
                niche_table(),
                empty_state("No niche yet: create the first one.", id="niches-empty"),
            ),
        ),
        rx.cond(Levels.selected_id != "", levels_panel()),
        spacing="4",
        width="100%",
    )
