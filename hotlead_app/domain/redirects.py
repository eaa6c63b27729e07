"""Where the browser may be sent after signing in: a path of this site, never another.

``safe_next`` takes what came in ``?next=`` and keeps it only when it is a plain
same-origin path: it starts with one ``/`` (``//evil.com`` is another host to a
browser), has no scheme or host (``https://evil.com``), no backslash (browsers read
``/\\evil.com`` as ``//evil.com``), no control character or whitespace (a browser strips
some of them before reading the URL). Anything else is refused (``None``), and the
caller lands on its default page."""

from __future__ import annotations

from urllib.parse import urlsplit

MAX_NEXT = 2000


def safe_next(value: object) -> str | None:
    """``value`` when it is a same-origin path (with its query), else ``None``."""
    if not isinstance(value, str) or not value or len(value) > MAX_NEXT:
        return None
    if not value.startswith("/") or value.startswith("//"):
        return None
    if "\\" in value or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def path_of(value: str) -> str:
    """The path part of a same-origin URL (``/admin/leads?status=x`` -> ``/admin/leads``)."""
    return urlsplit(value).path
