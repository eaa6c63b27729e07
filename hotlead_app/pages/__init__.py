"""One module per page; importing them registers the pages."""

from hotlead_app.pages import admin_queue, confirm, home, lead_form, provider_home, signin  # noqa: F401
