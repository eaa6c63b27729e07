"""The frame every public page sits in, and the logo every frame shows."""

import reflex as rx

#: The logo and its text alternative (``assets/logo.svg``: the flame mark and the wordmark).
LOGO_SRC = "/logo.svg"
LOGO_ALT = "Find Me A Hot Lead"


def logo(height: str = "40px") -> rx.Component:
    """The logo as a link to the home page (named by the image's alt text)."""
    return rx.link(
        rx.image(src=LOGO_SRC, alt=LOGO_ALT, height=height, width="auto", display="block"),
        href="/",
        underline="none",
        class_name="site-logo",
        flex_shrink="0",
    )


def public_layout(*children: rx.Component) -> rx.Component:
    return rx.box(
        rx.hstack(
            logo(),
            rx.el.nav(
                rx.hstack(
                    rx.link("Find a pro", href="/", size="2"),
                    rx.link("Provider sign-in", href="/signin", size="2"),
                    spacing="4",
                    wrap="wrap",
                ),
                aria_label="Site",
                class_name="public-nav",
            ),
            justify="between",
            align="center",
            wrap="wrap",
            padding=rx.breakpoints(initial="0.75em 1em", sm="1em 2em"),
            border_bottom="1px solid var(--gray-a5)",
            width="100%",
            role="banner",
        ),
        rx.center(
            rx.box(*children, width="100%", max_width="36em", padding="2em 1em"),
            width="100%",
            role="main",
        ),
        min_height="100vh",
    )


def field_label(text: str | rx.Var, *, html_for: str | rx.Var, **text_props) -> rx.Component:
    """A control's visible label, bound to it (``<label for=…>``): a screen reader reads
    it as the control's name and a click on it focuses the control.

    (``rx.text(…, as_="label", html_for=…)`` does not bind: Reflex turns ``html_for``
    on a Radix component into a style, so the label has no ``for``.)"""
    text_props.setdefault("size", "2")
    return rx.el.label(rx.text(text, as_="span", **text_props), html_for=html_for, display="block")


def field_error(message: rx.Var | str) -> rx.Component:
    return rx.cond(
        message != "",
        rx.text(message, color_scheme="red", size="2", role="alert", class_name="field-error"),
    )
