"""Text from data (notes, evidence, problem ids, environment records) made literal in the
report's Markdown."""

from __future__ import annotations

_MARKDOWN_SPECIALS = str.maketrans({c: "\\" + c for c in "\\|`*<"})


def escape(text: object) -> str:
    """A "|" would split a table cell, a "*" start emphasis, a "`" code, a "<" an autolink
    (the HTML page shows raw HTML as text anyway); newlines become spaces (a table row is one
    line). Brackets stay: "[1, 2]" and "x [vllm]" are common in the data and make no link."""
    return " ".join(str(text).split()).translate(_MARKDOWN_SPECIALS)
