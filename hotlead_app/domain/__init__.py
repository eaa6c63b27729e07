"""Pure business rules of the marketplace: lead states, subscription filters,
fairness order and money. No SQL, no Reflex, no I/O: plain values in, plain values
(or a business exception from ``errors``) out."""
