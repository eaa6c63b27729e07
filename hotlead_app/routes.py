"""Every page route in one place."""

HOME = "/"
LEAD_FORM = "/n/[slug]"
CONFIRM = "/confirm"
SIGN_IN = "/signin"
ADMIN_QUEUE = "/admin/queue"
PROVIDER_HOME = "/provider"


def lead_form(slug: str) -> str:
    return f"/n/{slug}"
