"""Every page route in one place."""

HOME = "/"
LEAD_FORM = "/n/[slug]"
CONFIRM = "/confirm"


def lead_form(slug: str) -> str:
    return f"/n/{slug}"
