"""``/provider/subscriptions``: the form (when open) over the list of subscriptions."""

from __future__ import annotations

import reflex as rx

from hotlead_app import routes
from hotlead_app.components.backoffice import empty_state
from hotlead_app.components.page import provider_page
from hotlead_app.components.widgets import loading_or
from hotlead_app.pages.provider_subscriptions.edit_dialog import SubscriptionForm, subscription_form
from hotlead_app.pages.provider_subscriptions.listing import subscriptions_table
from hotlead_app.pages.provider_subscriptions.state import SubscriptionsState as S


@provider_page(
    route=routes.PROVIDER_SUBSCRIPTIONS,
    title="Subscriptions",
    on_load=[S.load, SubscriptionForm.open_from_query],
    actions=lambda: rx.button("New subscription", on_click=SubscriptionForm.start_new, id="new-subscription"),
)
def provider_subscriptions() -> rx.Component:
    return loading_or(
        S.loading,
        rx.vstack(
            rx.cond(S.mode != "", subscription_form()),
            rx.cond(
                S.subs.length() > 0,
                subscriptions_table(),
                empty_state("No subscriptions yet: subscribe to a niche to start receiving leads.", id="subs-empty"),
            ),
            spacing="4",
            width="100%",
        ),
    )
