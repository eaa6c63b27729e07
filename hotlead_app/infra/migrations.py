"""Running the Alembic migrations from Python (``hotlead migrate``, the test and bench
harnesses)."""

from __future__ import annotations

from hotlead_app.settings import PROJECT_ROOT


def migrate(url: str, revision: str = "head") -> None:
    """``alembic upgrade`` this database (the URL wins over settings)."""
    from alembic.config import Config

    from alembic import command

    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    cfg.attributes["configure_logger"] = False
    command.upgrade(cfg, revision)
