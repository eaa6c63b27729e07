"""``/provider/subscriptions``: a provider's subscriptions (level, price, max
providers, status), subscribing to a niche's competition level with a filter builder
made from the niche's form fields and a live count of the last 30 days' leads it would
have matched, pause / resume, filter edits (future leads only) and cancelling.

One module per part of the page, each with its Reflex substate:

- ``state``: ``SubscriptionsState``, the list (loaded with the page), which form is open,
  pause / resume / cancel;
- ``filter_builder``: ``FilterBuilder(SubscriptionsState)``, the filter rows made from a
  niche's fields and the live count of the leads they match;
- ``edit_dialog``: ``SubscriptionForm(FilterBuilder)``, a new subscription (niche, level,
  filters) or the filters of one;
- ``listing``: the subscriptions table; ``page``: the page itself."""

from hotlead_app.pages.provider_subscriptions import page as page
