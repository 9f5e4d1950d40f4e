"""Text from data (notes, evidence, problem ids, environment records) made literal in the
report's Markdown."""

from __future__ import annotations

_MARKDOWN_SPECIALS = str.maketrans({c: "\\" + c for c in "\\|`*[]<"})


def escape(text: object) -> str:
    """A "|" would split a table cell, a "*" start emphasis, a "<" look like HTML (the HTML
    page escapes raw HTML anyway); newlines become spaces (a table row is one line)."""
    return " ".join(str(text).split()).translate(_MARKDOWN_SPECIALS)
