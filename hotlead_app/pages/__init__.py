"""One module (or package) per page; importing them registers the pages (one import per line)."""

# ruff: noqa: F401
from hotlead_app.pages import (
    admin_audit,
    admin_lead_detail,
    admin_leads,
    admin_ledger,
    admin_niches,
    admin_overview,
    admin_provider_detail,
    admin_providers,
    admin_queue,
    admin_reconciliation,
    confirm,
    home,
    lead_form,
    provider_api_keys,
    provider_funds,
    provider_home,
    provider_integrations,
    provider_lead_detail,
    provider_leads,
    provider_ledger,
    provider_missed,
    provider_subscriptions,
    signin,
)
