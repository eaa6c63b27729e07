"""Find Me A Hot Lead: a multi-tenant pay-per-lead marketplace."""
