"""Building blocks shared by the back-office pages: the loading block, tables that
scroll inside their own box, a keyset-paged list with its empty state, labelled form
fields with their error, and the confirmation dialog of a destructive action.

They only arrange components; ids and class names stay the callers' (tests select on
them)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import reflex as rx
from reflex.vars import ArrayVar, ObjectVar

from hotlead_app.components.backoffice import pager
from hotlead_app.components.layout import field_error, field_label


def loading_block() -> rx.Component:
    return rx.center(rx.spinner(size="3"), padding="3em", width="100%", class_name="loading")


def download_button(label: str, path: str | rx.Var, filename: str, id: str) -> rx.Component:
    """A plain document link to a CSV endpoint: the browser downloads it with the
    session cookie (pages and API share one origin in prod)."""
    return rx.link(
        rx.button(label, variant="soft", id=id), href=path, download=filename, reload_document=True, underline="none"
    )


def loading_or(loading: rx.Var, content: rx.Component) -> rx.Component:
    """The spinner while ``loading``, then ``content``."""
    return rx.cond(loading, loading_block(), content)


#: On a phone (under 30em) a stacked table shows each row as a card: one line per cell,
#: led by the cell's ``data-label`` (see ``labelled_cell``), and no header row.
STACKED_ON_PHONE = {
    "@media (max-width: 30em)": {
        "& thead": {"display": "none"},
        # Radix wraps the table in a scroll area (a flex box, a `display: table` div):
        # on a phone they are plain blocks, so the stacked rows give them their height.
        "& .rt-ScrollAreaRoot, & .rt-ScrollAreaViewport, & .rt-ScrollAreaViewport > div": {
            "display": "block !important",
            "overflow": "visible !important",
        },
        "& table, & tbody": {"display": "block", "width": "100%", "height": "auto"},
        "& tr": {
            "display": "block",
            "padding": "0.6em 0",
            "border_bottom": "1px solid var(--gray-a5)",
        },
        "& td": {
            "display": "flex",
            "gap": "0.6em",
            "height": "auto",
            "min_height": "0",
            "padding": "0.15em 0.25em",
            "box_shadow": "none",
            "text_align": "left !important",
            "white_space": "normal !important",
        },
        "& td::before": {
            "content": "attr(data-label)",
            "flex": "0 0 7.5em",
            "font_weight": "600",
            "color": "var(--gray-11)",
        },
        "& td[data-label='']::before": {"display": "none"},
        "& td:has(> div:empty)": {"display": "none"},  # an empty line says nothing
    }
}


def labelled_cell(label: str, *children, **props) -> rx.Component:
    """A table cell that names its column when the table is stacked on a phone."""
    return rx.table.cell(rx.box(*children, min_width="0"), custom_attrs={"data-label": label}, **props)


#: A native ``<select>`` that looks like the text inputs next to it (same height,
#: border, font size).
NATIVE_SELECT_STYLE = {
    "width": "100%",
    "height": "var(--space-6)",
    "padding": "0 0.5em",
    "font_size": "var(--font-size-2)",
    "border": "1px solid var(--gray-a7)",
    "border_radius": "var(--radius-2)",
    "background": "var(--color-surface)",
    "color": "var(--gray-12)",
}


#: The name a screen reader hears for a table's column of buttons (shown without a title).
ACTIONS_HEADER = "Actions"


def visually_hidden(text: str | rx.Var) -> rx.Component:
    """Text a screen reader reads but the page does not show (``.visually-hidden`` in
    ``assets/a11y.css``)."""
    return rx.el.span(text, class_name="visually-hidden")


def data_table(
    headers: Sequence[str | rx.Component],
    rows: rx.Var,
    row: Callable,
    *,
    id: str | None = None,
    table_id: str | None = None,
    stack_on_phone: bool = False,
    label: str = "Table",
) -> rx.Component:
    """A small table that scrolls sideways inside its own box on a narrow screen, or,
    with ``stack_on_phone``, shows each row as a card there (cells from ``labelled_cell``);
    the box takes the keyboard focus (the arrows scroll it) and is a region named ``label``.

    ``headers`` are titles or ready ``column_header_cell``s (an empty title, a column of
    buttons, is named ``Actions`` for screen readers only); ``row`` renders one item;
    ``id`` names the scrolling box, ``table_id`` the table itself."""
    cells = [
        h if isinstance(h, rx.Component) else rx.table.column_header_cell(h or visually_hidden(ACTIONS_HEADER))
        for h in headers
    ]
    table_props = {"id": table_id} if table_id else {}
    box_props: dict = {"id": id} if id else {}
    if stack_on_phone:
        box_props["style"] = STACKED_ON_PHONE
    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(*cells)),
            rx.table.body(rx.foreach(rows, row)),
            width="100%",
            size="1",
            **table_props,
        ),
        overflow_x="auto",
        width="100%",
        class_name="table-scroll",
        role="region",
        aria_label=label,
        tab_index=0,
        **box_props,
    )


def keyset_pager(state) -> rx.Component:
    """Previous / next for a state with ``KeysetPages`` (``state/paging.py``)."""
    return pager(state.has_prev, state.has_next, state.prev_page, state.next_page)


def paged_list(state, items: ArrayVar, body: rx.Component, empty: rx.Component, **props) -> rx.Component:
    """A keyset-paged list: the spinner while ``state.loading``, then ``body`` and the
    pager when there are ``items``, else ``empty``."""
    props.setdefault("width", "100%")
    return loading_or(state.loading, rx.cond(items.length() > 0, rx.vstack(body, keyset_pager(state), **props), empty))


def labeled_field(
    label: str, control: rx.Component, *, html_for: str, error: rx.Var | str = "", flex: str = "1 1 12em", **label_props
) -> rx.Component:
    """A label above its control, and the field's error below it."""
    return rx.box(
        field_label(label, html_for=html_for, **label_props),
        control,
        field_error(error),
        flex=flex,
    )


def filter_input(
    name: str,
    label: str,
    value: rx.Var,
    *,
    prefix: str,
    errors: ObjectVar,
    hint: str = "",
    flex: str = "1 1 12em",
    **props,
) -> rx.Component:
    """A filter's text input: it shows the filter in force (``value``) and keeps what was
    typed while the form is submitted; its error comes from ``errors[name]``."""
    control = rx.input(
        name=name, id=f"{prefix}-{name}", default_value=value, key=value, placeholder=hint, width="100%", **props
    )
    return labeled_field(label, control, html_for=f"{prefix}-{name}", error=errors.get(name, ""), flex=flex)


def filter_form(*fields: rx.Component, on_submit, button_id: str) -> rx.Component:
    """A list's filters in a row that wraps on a phone, then the Filter button; the
    inputs keep what was typed when the form is sent."""
    return rx.form(
        rx.flex(
            *fields,
            rx.button("Filter", type="submit", id=button_id),
            wrap="wrap",
            spacing="3",
            align="end",
            width="100%",
        ),
        on_submit=on_submit,
        reset_on_submit=False,
        width="100%",
    )


def reason_fields(state, prefix: str) -> rx.Component:
    """The inputs of a dialog that asks why (a ``ReasonDialog`` state): the reason
    (required; its error under it) and the admin-only memo; ids ``<prefix>-reason``,
    ``<prefix>-reason-error`` and ``<prefix>-memo``."""
    return rx.vstack(
        rx.input(
            placeholder="Reason (required)",
            value=state.reason,
            on_change=state.set_reason,
            id=f"{prefix}-reason",
            aria_label="Reason",
            width="100%",
            aria_invalid=rx.cond(state.reason_error != "", "true", "false"),
        ),
        rx.cond(
            state.reason_error != "",
            rx.text(state.reason_error, color_scheme="red", size="2", role="alert", id=f"{prefix}-reason-error"),
        ),
        rx.text_area(
            placeholder="Memo for admins (optional)",
            value=state.memo,
            on_change=state.set_memo,
            id=f"{prefix}-memo",
            aria_label="Memo for admins",
            width="100%",
        ),
        spacing="2",
        margin_top="1em",
        width="100%",
    )


def confirm_dialog(
    title,
    description,
    *body: rx.Component,
    confirm: rx.Component,
    trigger: rx.Component | None = None,
    cancel_label: str = "Cancel",
    cancel_color: str | None = "gray",
    close_on_confirm: bool = False,
    title_props: dict | None = None,
    description_props: dict | None = None,
    **root_props,
) -> rx.Component:
    """The confirmation of a destructive action: what will happen, optional inputs
    (``body``), then Cancel and the ``confirm`` button.

    ``title`` and ``description`` are a child or a tuple of children; with ``trigger`` the
    dialog opens from that button, otherwise pass ``open=`` / ``on_open_change=``;
    ``close_on_confirm`` closes it when the confirm button is pressed. A title or a
    description given an ``id`` (``title_props``/``description_props``) still names and
    describes the dialog (Radix would point at its own, now missing, ids)."""
    title = title if isinstance(title, tuple) else (title,)
    description = description if isinstance(description, tuple) else (description,)
    title_attrs: dict = title_props or {}
    description_attrs: dict = description_props or {}
    cancel_props = {"color_scheme": cancel_color} if cancel_color else {}
    parts = [
        rx.alert_dialog.title(*title, **title_attrs),
        rx.alert_dialog.description(*description, **description_attrs),
        *body,
        rx.flex(
            rx.alert_dialog.cancel(rx.button(cancel_label, variant="soft", **cancel_props)),
            rx.alert_dialog.action(confirm) if close_on_confirm else confirm,
            justify="end",
            spacing="3",
            margin_top="1em",
        ),
    ]
    content_props = {}
    if "id" in title_attrs:
        content_props["aria_labelledby"] = title_attrs["id"]
    if "id" in description_attrs:
        content_props["aria_describedby"] = description_attrs["id"]
    children = [rx.alert_dialog.trigger(trigger)] if trigger is not None else []
    return rx.alert_dialog.root(*children, rx.alert_dialog.content(*parts, **content_props), **root_props)


def duplicate_badge(lead_id, href, label) -> rx.Component:
    """The "Possible duplicate of <earlier lead>" badge, linking to that lead (if any)."""
    return rx.cond(
        lead_id != "",
        rx.link(
            rx.badge(rx.icon("copy", size=12), label, color_scheme="amber"),
            href=href,
            class_name="duplicate-of",
            custom_attrs={"data-duplicate-of": lead_id},
        ),
    )


def shown_once(message: str, value: rx.Var, *, code_id: str, copy_id: str, on_copy, on_done) -> rx.Component:
    """A secret the platform shows once (a new API key, a webhook signing secret): the
    value, a Copy button and Done, in a green callout while ``value`` is not empty."""
    return rx.cond(
        value != "",
        rx.callout(
            rx.vstack(
                rx.text(message),
                rx.flex(
                    rx.code(value, id=code_id, word_break="break_all"),
                    rx.button("Copy", size="1", on_click=on_copy, id=copy_id),
                    rx.button("Done", size="1", variant="soft", on_click=on_done),
                    wrap="wrap",
                    spacing="2",
                    align="center",
                ),
                spacing="2",
            ),
            icon="key_round",
            color_scheme="green",
            width="100%",
            margin_bottom="1em",
        ),
    )
