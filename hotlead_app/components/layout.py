"""The frame every public page sits in."""

import reflex as rx


def public_layout(*children: rx.Component) -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.link(rx.heading("Find Me A Hot Lead", size="5"), href="/", underline="none"),
            padding="1em 2em",
            border_bottom="1px solid var(--gray-a5)",
            width="100%",
        ),
        rx.center(
            rx.box(*children, width="100%", max_width="36em", padding="2em 1em"),
            width="100%",
        ),
        min_height="100vh",
    )


def field_error(message: rx.Var | str) -> rx.Component:
    return rx.cond(
        message != "",
        rx.text(message, color="red", size="2", role="alert", class_name="field-error"),
    )
