"""Text that may reach an email header: one line, no control characters.

A name (a provider's, a niche's, a level's, a lead's answer to a form field) can end
up in an email's Subject, in its To, or in a line of its body; a CR or LF in it
would let whoever typed it add headers or forge lines.  Such text is refused where
it is entered, with a field error, by :func:`single_line_error` (or
:func:`check_single_line`) — the one place this rule lives.
"""

from __future__ import annotations

import re
import unicodedata

# C0 controls (CR, LF, tab, NUL…), DEL, C1 controls (NEL U+0085 among them), and
# the Unicode line and paragraph separators.
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

SINGLE_LINE_MESSAGE = "must be one line, without line breaks or control characters"


def has_control_chars(value: str) -> bool:
    return CONTROL_CHARS.search(value) is not None


def single_line_error(value: object) -> str | None:
    """The field error for text that is not one clean line, or None (non-text values
    are left to the caller's own type check)."""
    if isinstance(value, str) and has_control_chars(value):
        return SINGLE_LINE_MESSAGE
    return None


def check_single_line(value: str) -> str:
    """``value`` unchanged, or ValueError with the field error."""
    error = single_line_error(value)
    if error is not None:
        raise ValueError(error[0].upper() + error[1:] + ".")
    return value


#: The longest slug a niche may have (its public address /n/<slug>).
MAX_SLUG_LENGTH = 64


def suggest_slug(name: str) -> str:
    """A niche slug made from its name, as the admin types it: accents dropped, lower
    case, every run of other characters one ``-``, at most ``MAX_SLUG_LENGTH``
    ("Roofing & Gutters — NYC" → ``roofing-gutters-nyc``)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:MAX_SLUG_LENGTH].rstrip("-")
