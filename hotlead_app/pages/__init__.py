"""One module per page; importing them registers the pages (one import per line)."""

# ruff: noqa: F401
from hotlead_app.pages import admin_audit
from hotlead_app.pages import admin_lead_detail
from hotlead_app.pages import admin_leads
from hotlead_app.pages import admin_ledger
from hotlead_app.pages import admin_niches
from hotlead_app.pages import admin_overview
from hotlead_app.pages import admin_provider_detail
from hotlead_app.pages import admin_providers
from hotlead_app.pages import admin_queue
from hotlead_app.pages import admin_reconciliation
from hotlead_app.pages import confirm
from hotlead_app.pages import home
from hotlead_app.pages import lead_form
from hotlead_app.pages import provider_api_keys
from hotlead_app.pages import provider_funds
from hotlead_app.pages import provider_home
from hotlead_app.pages import provider_lead_detail
from hotlead_app.pages import provider_leads
from hotlead_app.pages import provider_ledger
from hotlead_app.pages import provider_missed
from hotlead_app.pages import provider_subscriptions
from hotlead_app.pages import signin
