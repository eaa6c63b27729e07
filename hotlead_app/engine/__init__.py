"""The engine: the live SQL functions, triggers and views (see ``definitions.py``)."""
