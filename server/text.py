"""Markdown to sanitised HTML for notice bodies.

markdown-it-py renders CommonMark with raw HTML disabled; nh3 (ammonia) then allows only
a small set of tags, so neither Markdown nor smuggled HTML can add scripts, styles,
event handlers or foreign resources to a public page.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    "table"
)

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "ul", "ol", "li", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "code", "pre", "hr", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"scope"}, "td": set(), "ol": {"start"}}


def render_markdown(source: str) -> str:
    """Render Markdown to HTML that is safe to embed in any page, PDF or feed."""
    html = _md.render(source or "")
    # Headings shift one level down: the page's <h1> is the notice title.
    for level in range(5, 0, -1):
        html = html.replace(f"<h{level}>", f"<h{level + 1}>").replace(
            f"</h{level}>", f"</h{level + 1}>"
        )
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def plain_text(source: str) -> str:
    """The visible text of rendered Markdown, for slides, summaries and search."""
    return nh3.clean(render_markdown(source), tags=set()).strip()
