"""One module per page; importing them registers the pages."""

from hotlead_app.pages import admin_queue, confirm, home, lead_form, signin  # noqa: F401
