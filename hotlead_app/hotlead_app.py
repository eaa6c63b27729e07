"""The Reflex app: every page, with the REST API and ops routes on the same port."""

import reflex as rx

from hotlead_app import api, pages  # noqa: F401  (pages register themselves)
from hotlead_app.infra.logging import configure_logging

configure_logging("app")  # JSON lines, in every web server process (the module is imported by each)

# a11y.css: contrast and keyboard fixes over Radix Themes (tests/e2e/test_accessibility.py).
app = rx.App(api_transformer=api.build_app(), stylesheets=["/a11y.css"])
