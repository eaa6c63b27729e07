"""The development stack: what runs the platform on a laptop, in CI and in the
benchmarks, never in production.

- ``embedded``: project-owned PostgreSQL and Redis servers started from PyPI wheels,
  in private folders, with passwords;
- ``reaper``: throw-away servers and process groups die with the process that started them;
- ``runner``: ``make run``'s supervisor;
- ``harness``: helpers the tests and the benchmarks share.

Production code (``hotlead_app/`` outside this package) never imports it, except the
``run`` / ``services`` / ``stop`` commands of ``cli.py``.  This package may import ``infra``.
"""
