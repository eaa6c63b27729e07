"""The Reflex app: every page, with the REST API and ops routes on the same port."""

import reflex as rx

from hotlead_app import api, pages  # noqa: F401  (pages register themselves)

app = rx.App(api_transformer=api.build_app())
