"""Form fields a screen reader can use, one way for every form:

    text_field(id="email", label="Email", type="email", autocomplete="email",
               required=True, error=State.errors.get("email", ""))
    select_field(id="payload.roof", label="Roof type", options=["metal", "tile"], error=…)

Each field is a visible ``<label for=…>`` bound to its control (so ``get_by_label`` and
a screen reader find it), a ``*`` for a required one (with ``aria-required``), the
``autocomplete`` token that lets a browser fill it, and its error under it. While there
is an error the control has ``aria-invalid="true"`` and ``aria-describedby`` naming the
error (``<id>-error``); ``focus_first_invalid(form_id)`` moves the focus to the first
such control after a refused submit. A select has the same border, height and radius as
the text inputs.

``id`` doubles as the control's ``name`` unless one is given. Any of ``id``, ``label``,
``required``, ``autocomplete`` may be a Var (fields built in ``rx.foreach``)."""

from __future__ import annotations

from typing import Any

import reflex as rx

#: A field in error: its control's border turns red (the input's border is the Radix
#: root's inset shadow; the select's is its own border).
INVALID_STYLE = {
    "& .rt-TextFieldRoot:has(input[aria-invalid='true'])": {"box_shadow": "inset 0 0 0 1px var(--red-8)"},
    "& select[aria-invalid='true']": {"border_color": "var(--red-8)"},
}

#: The look of a select, matched to Radix's text field of size 3.
SELECT_STYLE = {
    "width": "100%",
    "height": "var(--space-7)",
    "padding": "0 var(--space-3)",
    "border": "1px solid var(--gray-a7)",
    "border_radius": "var(--radius-2)",
    "background_color": "var(--color-surface)",
    "color": "var(--gray-12)",
    "font_size": "var(--font-size-3)",
    "font_family": "inherit",
}


def error_id(id: str | rx.Var) -> str | rx.Var:
    """The id of a field's error text: ``<id>-error``."""
    return f"{id}-error" if isinstance(id, str) else id.to(str) + "-error"


def _aria(id: str | rx.Var, error: str | rx.Var, required: bool | rx.Var, autocomplete: str | rx.Var | None) -> dict:
    """The attributes that tie a control to its label's field: invalid, described by
    its error, required, and what the browser may fill in."""
    invalid = rx.cond(error != "", "true", "false") if isinstance(error, rx.Var) else ("true" if error else "false")
    described = rx.cond(error != "", error_id(id), "") if isinstance(error, rx.Var) else (error_id(id) if error else "")
    attrs: dict[str, Any] = {
        "aria-invalid": invalid,
        "aria-describedby": described,
        "aria-required": rx.cond(required, "true", "false") if isinstance(required, rx.Var) else str(required).lower(),
    }
    if autocomplete is not None:
        attrs["autoComplete"] = autocomplete
    return attrs


def field_label(label: str | rx.Var, *, html_for: str | rx.Var, required: bool | rx.Var = False) -> rx.Component:
    """A visible label bound to the control ``html_for``; a red ``*`` after it when
    ``required`` (outside the label, so the field's name stays the label's words, and
    hidden from screen readers, which hear ``aria-required``)."""
    star = rx.el.span(" *", color="var(--red-11)", aria_hidden="true", class_name="required-mark")
    return rx.box(
        rx.el.label(
            label,
            html_for=html_for,
            class_name="field-label",
            style={"font_size": "var(--font-size-2)", "font_weight": "500"},
        ),
        rx.cond(required, star) if isinstance(required, rx.Var) else (star if required else rx.fragment()),
        margin_bottom="4px",
    )


def field_error_text(id: str | rx.Var, error: str | rx.Var) -> rx.Component:
    """The field's error under it, with the id ``aria-describedby`` names."""
    return rx.cond(
        error != "" if isinstance(error, rx.Var) else bool(error),
        rx.text(error, id=error_id(id), color="var(--red-11)", size="2", role="alert", class_name="field-error"),
    )


def text_field(
    *,
    id: str | rx.Var,
    label: str | rx.Var,
    name: str | rx.Var | None = None,
    type: str | rx.Var = "text",
    required: bool | rx.Var = False,
    error: str | rx.Var = "",
    autocomplete: str | rx.Var | None = None,
    **input_props: Any,
) -> rx.Component:
    """A labelled input with its error (``input_props`` go to ``rx.input``: on_blur,
    input_mode, value…)."""
    input_props.setdefault("width", "100%")
    input_props.setdefault("size", "3")
    return rx.box(
        field_label(label, html_for=id, required=required),
        rx.input(
            id=id,
            name=name if name is not None else id,
            type=type,
            custom_attrs=_aria(id, error, required, autocomplete),
            **input_props,
        ),
        field_error_text(id, error),
        width="100%",
        class_name="form-field",
        style=INVALID_STYLE,
    )


def select_field(
    *,
    id: str | rx.Var,
    label: str | rx.Var,
    options: list[str] | rx.Var,
    name: str | rx.Var | None = None,
    required: bool | rx.Var = False,
    error: str | rx.Var = "",
    placeholder: str = "Choose…",
    autocomplete: str | rx.Var | None = None,
    **select_props: Any,
) -> rx.Component:
    """A labelled native select (a phone shows its own picker), styled like the inputs."""
    choices = (
        rx.foreach(options, lambda o: rx.el.option(o, value=o))
        if isinstance(options, rx.Var)
        else rx.fragment(*[rx.el.option(o, value=o) for o in options])
    )
    return rx.box(
        field_label(label, html_for=id, required=required),
        rx.el.select(
            rx.el.option(placeholder, value=""),
            choices,
            id=id,
            name=name if name is not None else id,
            style=SELECT_STYLE,
            custom_attrs=_aria(id, error, required, autocomplete),
            **select_props,
        ),
        field_error_text(id, error),
        width="100%",
        class_name="form-field",
        style=INVALID_STYLE,
    )


def focus_first_invalid(form_id: str) -> Any:
    """Focus the first control of the form that says it is invalid, once the page has
    drawn the errors the last event set (tried for up to a second)."""
    return rx.call_script(
        "(() => { let tries = 0; const go = () => { const el = document.querySelector("
        f"'#{form_id} [aria-invalid=\"true\"]'); if (el) {{ el.focus(); }} "
        "else if (tries++ < 20) { setTimeout(go, 50); } }; setTimeout(go, 0); })()"
    )
