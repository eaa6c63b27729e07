"""The read side: one module per thing read, named after it.

Every read function takes the acting :class:`~hotlead_app.domain.actors.Actor` as its
first argument and checks it before reading anything: an admin-only read refuses any
other actor (``Forbidden``); a provider's read needs a provider actor and is scoped
to that provider (another provider's row is ``NotFound``, as if it did not exist).
Each returns typed shapes (``TypedDict`` rows, JSON-safe: money as strings, times as
ISO 8601) that the pages and the API share.

- ``account_summary``: a provider's balance, status and why, spend per day.
- ``subscriptions``: a provider's subscriptions, the niches it may subscribe to and
  the filter preview.
- ``lead_inbox``: the leads a provider received (and their CSV).
- ``lead_detail``: one lead, as its provider sees it or as an admin sees it.
- ``missed_leads``: leads of a provider's niches it did not receive, and why.
- ``ledger_entries``: a provider's ledger (and its CSV); every provider's for admins.
- ``niches``, ``providers``, ``audit_trail``, ``approval_queue``, ``lead_search``,
  ``overview``: the back office's reads.
"""
