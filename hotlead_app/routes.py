"""Every page route in one place."""

HOME = "/"
LEAD_FORM = "/n/[slug]"
CONFIRM = "/confirm"
SIGN_IN = "/signin"
ADMIN_QUEUE = "/admin/queue"
PROVIDER_HOME = "/provider"


def lead_form(slug: str) -> str:
    return f"/n/{slug}"


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
