"""The report's Markdown as one self-contained HTML page: converted by markdown-it-py (a
maintained CommonMark parser, with GitHub's table rule), raw HTML in the text escaped, every
image embedded as a data URI (so report.html alone is the artifact), verdict cells and
failing rows given CSS classes, headings given ids."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

# A table cell that is exactly one of these words gets the class "v-<word>" (spaces -> "-").
VERDICT_WORDS = frozenset({"pass", "fail", "not run", "holds", "fails", "inconclusive", "ok"})
# A table row with one of these cells is a failure: the whole row is tinted.
FAILING_WORDS = frozenset({"fail", "fails"})

_IMAGE_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;max-width:1180px;
  margin:auto;padding:0 1.2em 3em;line-height:1.45;font-size:15px}
h1{border-bottom:2px solid #d0d7de;padding-bottom:.2em}
h2{border-bottom:1px solid #d0d7de;padding-bottom:.15em;margin-top:2em}
h3{margin-top:1.4em}
code{background:#f3f4f6;padding:0 .25em;border-radius:3px;font-size:90%}
blockquote{margin:1em 0;padding:.6em 1em;background:#fff4d6;border-left:6px solid #d4a000;border-radius:4px}
blockquote p{margin:.2em 0}
table{border-collapse:collapse;font-size:12.5px;margin:.6em 0 1em;display:block;overflow-x:auto;max-width:100%}
th,td{border:1px solid #d0d7de;padding:3px 7px;vertical-align:top}
th{background:#f6f8fa;text-align:left}
tbody tr:nth-child(even){background:#fafbfc}
tr.row-fail,tr.row-fail:nth-child(even){background:#ffebe9}
td.v-pass,td.v-holds,td.v-ok{color:#116329;background:#dafbe1;font-weight:600}
td.v-fail,td.v-fails{color:#a40e26;background:#ffcecb;font-weight:700}
td.v-inconclusive{color:#7d4e00;background:#fff1c2}
td.v-not-run{color:#57606a;background:#eaeef2}
img{display:block;width:520px;max-width:100%;height:auto;border:1px solid #eaeef2}
p:has(> img){float:left;margin:.2em 1.4em .8em 0}
h1,h2,h3{clear:both}
""".strip()


def markdown_to_html(markdown: str, title: str, base: Path) -> str:
    """The page for `markdown`; image paths are read relative to `base` and embedded."""
    # html=False: any "<" in data (a problem statement, a package name) stays text.
    parser = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = parser.parse(markdown)
    _mark_tables(tokens)
    _heading_ids(tokens)
    _embed_images(tokens, base)
    body = parser.renderer.render(tokens, parser.options, {})
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>\n{_STYLE}\n</style></head>\n<body>\n{body}</body></html>\n")


def _mark_tables(tokens: list[Token]) -> None:
    """Class "v-<verdict>" on verdict cells and "row-fail" on rows holding a failure."""
    row: Token | None = None
    for index, token in enumerate(tokens):
        if token.type == "tr_open":
            row = token
        elif token.type == "td_open" and index + 1 < len(tokens):
            word = tokens[index + 1].content.strip()
            if word.lower() in VERDICT_WORDS:
                token.attrSet("class", "v-" + word.lower().replace(" ", "-"))
                if word.lower() in FAILING_WORDS and row is not None:
                    row.attrSet("class", "row-fail")


def heading_id(text: str) -> str:
    """The anchor of a heading, as GitHub makes it (lower case, punctuation dropped, spaces
    to hyphens), so that links "#..." work in the Markdown on GitHub and in this page."""
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def _heading_ids(tokens: list[Token]) -> None:
    """Each heading its anchor; a repeated one gets "-1", "-2", ... as on GitHub."""
    seen: dict[str, int] = {}
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            anchor = heading_id(tokens[index + 1].content)
            repeats = seen.get(anchor, 0)
            seen[anchor] = repeats + 1
            token.attrSet("id", f"{anchor}-{repeats}" if repeats else anchor)


def _embed_images(tokens: list[Token], base: Path) -> None:
    """Every image's src becomes a data URI of the file it names; an image whose file is not
    there (or is not an image type) becomes a line saying so, never a broken image."""
    for token in tokens:
        if token.type != "inline" or not token.children:
            continue
        children = []
        for child in token.children:
            if child.type == "image":
                uri = _data_uri(base, str(child.attrGet("src") or ""))
                if uri is None:
                    missing = Token("text", "", 0)
                    missing.content = f"(plot missing: {child.attrGet('src')})"
                    children.append(missing)
                    continue
                child.attrSet("src", uri)
            children.append(child)
        token.children = children


def _data_uri(base: Path, source: str) -> str | None:
    if not source or re.match(r"^[a-z][a-z0-9+.-]*:", source, re.IGNORECASE):
        return None  # only the report's own files: no remote or data URLs to pass through
    path = base / source
    kind = _IMAGE_TYPES.get(path.suffix.lower())
    if kind is None or not path.is_file():
        return None
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"
