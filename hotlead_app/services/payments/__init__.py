"""Payments: provider deposits through Stripe Checkout and PayPal Orders v2.

- ``deposits``: create a deposit (pending) and send the provider to the processor;
  complete it exactly once (one ``deposit`` ledger entry, via ``services.ledger``);
  reverse it (refund, dispute) through ``ledger.reverse_deposit``.
- ``stripe_gateway`` / ``paypal_gateway``: the only modules that talk to the
  processors; their clients can be replaced (tests, a local stand-in).
- ``webhooks``: verify, store (one row per processor event), process.
- ``reconciliation``: compare the processors with the deposits, apply what is
  missing, record what does not match.
"""
