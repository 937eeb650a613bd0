"""Text from files made safe to print: control characters shown as escapes, never sent raw.

A results file, a model id or a dataset row can hold escape sequences (``ESC [ 2 J`` clears the
screen, ``ESC ] 0 ;`` retitles the window, a newline forges an "OK" line) and bidirectional
overrides that make a terminal show something other than the bytes. Anything vidret prints that
came from a file goes through `printable`. Nothing here imports the rest of vidret.
"""

from __future__ import annotations

import re
import unicodedata

# Bidirectional formatting characters (Unicode's "Trojan Source" set): shown as escapes too.
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Fast path: a string without any candidate character is returned as it is.
_SUSPECT = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029{_BIDI}]")


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object, *, keep_newlines: bool = False) -> str:
    """`text` as a string whose control characters are written as escapes (``\\x1b``, ``\\u202e``).

    Args:
        text: anything; non-strings are converted with `str` first.
        keep_newlines: leave ``\\n`` as a line break (for multi-line text vidret laid out
            itself, e.g. a dry-run plan); every other control character is still escaped.

    Returns:
        Text holding no C0/C1 control character, line/paragraph separator or bidirectional
        override; everything else (accents, CJK, emoji) is unchanged.
    """
    text = str(text)
    if not _SUSPECT.search(text):
        return text
    out = []
    for char in text:
        if char == "\n" and keep_newlines:
            out.append(char)
        elif unicodedata.category(char) in ("Cc", "Zl", "Zp") or char in _BIDI:
            out.append(_escape(char))
        else:
            out.append(char)
    return "".join(out)
