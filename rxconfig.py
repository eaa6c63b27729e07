import reflex as rx

from hotlead_app.settings import get_settings

_settings = get_settings()


def _reflex_redis_url(url: str) -> str:
    """Reflex keeps page state in Redis db 1; Celery's broker uses db 0."""
    base = url.rsplit("/", 1)[0] if url.rsplit("/", 1)[-1].isdigit() else url.rstrip("/")
    return f"{base}/1"


config = rx.Config(
    app_name="hotlead_app",
    db_url=_settings.database_url,
    redis_url=_reflex_redis_url(_settings.redis_url),
    telemetry_enabled=False,
    # Outside dev only the public URL may call us with credentials (CORS, websocket).
    cors_allowed_origins=_settings.cors_allowed_origins,
    show_built_with_reflex=False,
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="orange", radius="medium"))],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
