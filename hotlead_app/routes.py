"""Every page route in one place."""

HOME = "/"
LEAD_FORM = "/n/[slug]"
CONFIRM = "/confirm"
SIGN_IN = "/signin"
WRONG_ACCOUNT = "/wrong-account"  # ?next=<the page>: signed in, but with the other role
NOT_FOUND = "404"  # Reflex's slug for the page of an unknown address
ADMIN_QUEUE = "/admin/queue"
PROVIDER_HOME = "/provider"


def lead_form(slug: str) -> str:
    return f"/n/{slug}"


#: The pages each role may land on after signing in (``?next=`` is kept only under these).
ROLE_AREAS = {"admin": "/admin", "provider": "/provider"}


def landing(role: str) -> str:
    """Where a role lands after signing in when it asked for no page."""
    return ADMIN_QUEUE if role == "admin" else PROVIDER_HOME


def in_area(role: str, path: str) -> bool:
    """Whether ``path`` is one of ``role``'s pages (``/admin…`` for admins, ``/provider…``
    for providers)."""
    area = ROLE_AREAS.get(role)
    return area is not None and (path == area or path.startswith(area + "/"))


def with_next(route: str, next_path: str) -> str:
    """``route?next=<next_path>`` (quoted)."""
    from urllib.parse import quote

    return f"{route}?next={quote(next_path, safe='/')}"


# Admin console
ADMIN_OVERVIEW = "/admin"
ADMIN_LEADS = "/admin/leads"
ADMIN_LEAD = "/admin/leads/[lead_id]"
ADMIN_NICHES = "/admin/niches"
ADMIN_PROVIDERS = "/admin/providers"
ADMIN_PROVIDER = "/admin/providers/[provider_id]"
ADMIN_LEDGER = "/admin/ledger"
ADMIN_AUDIT = "/admin/audit"
ADMIN_RECONCILIATION = "/admin/reconciliation"
ADMIN_RETURNS = "/admin/returns"
ADMIN_CONVERSION = "/admin/conversion"

# Provider dashboard
PROVIDER_SUBSCRIPTIONS = "/provider/subscriptions"
PROVIDER_LEADS = "/provider/leads"
PROVIDER_LEAD = "/provider/leads/[lead_id]"
PROVIDER_MISSED = "/provider/missed"
PROVIDER_LEDGER = "/provider/ledger"
PROVIDER_API_KEYS = "/provider/api-keys"
PROVIDER_INTEGRATIONS = "/provider/integrations"
PROVIDER_FUNDS = "/provider/funds"
PROVIDER_RETURNS = "/provider/returns"
PROVIDER_FUNDS_RETURN = "/provider/funds/return"  # ?deposit=<id>&result=success|cancel


def admin_lead(lead_id: str) -> str:
    return f"/admin/leads/{lead_id}"


def admin_provider(provider_id: str) -> str:
    return f"/admin/providers/{provider_id}"


def provider_lead(lead_id: str) -> str:
    return f"/provider/leads/{lead_id}"
