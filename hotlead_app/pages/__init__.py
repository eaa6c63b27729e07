"""One module per page; importing them registers the pages."""

from hotlead_app.pages import confirm, home, lead_form  # noqa: F401
