"""Text that may reach an email header: one line, no control characters.

A name (a provider's, a niche's, a level's, a lead's answer to a form field) can end
up in an email's Subject, in its To, or in a line of its body; a CR or LF in it
would let whoever typed it add headers or forge lines.  Such text is refused where
it is entered, with a field error, by :func:`single_line_error` (or
:func:`check_single_line`) — the one place this rule lives.
"""

from __future__ import annotations

import re

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
