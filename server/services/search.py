"""Full-text search over the public archive (issue 17, build 6).

What is searched: the current released version's title, summary, text and
Aktenzeichen, and the text of its PDF attachments (extracted once at upload). It is
stored per notice at release (``Notice.search_text``), folded: lower case, umlauts and
their two-letter spellings both to the plain vowel (ä and ae → a, ß → ss; as the
Snowball German stemmer does), so "glasbehaeltnisse" finds "Glasbehältnisse" and
"Bebauungspläne" finds "Bebauungsplan"; other accents dropped, punctuation as spaces
(so the parts of an Aktenzeichen are words). Folding "ae" also where it is no umlaut
("Michael") is harmless: document and query are folded alike.

Matching on PostgreSQL uses its own German text search (``to_tsvector('german', …)``
with prefix queries) and ranks with ``ts_rank``. SQLite has no German stemmer, so the
Snowball German stemmer (snowballstemmer, pure Python) fills ``Notice.search_stems``
and matching is by stem prefix, ranked by frequency with the title counting more.
Either way "Gläser" finds "Gläsern". The folding happens in Python on both databases,
so PostgreSQL needs no unaccent extension. Snippets with highlighted hits are built
here, the same for both.
"""

from __future__ import annotations

import html
import io
import logging
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import snowballstemmer  # type: ignore[import-untyped]
from markupsafe import Markup
from sqlalchemy import ColumnElement, and_, func, literal_column, or_, select, true
from sqlalchemy.orm import Session

from ..models import Notice, NoticeVersion, Tenant

log = logging.getLogger("aushang.search")

MAX_TERMS = 10
MAX_ATTACHMENT_TEXT = 200_000
_FOLD = str.maketrans({"ß": "ss", "ẞ": "ss"})
_DIGRAPH = re.compile(r"ae|oe|(?<!q)ue")
_WORD = re.compile(r"[0-9a-z]+")
_TAG = re.compile(r"<[^>]+>")


def fold(text: str) -> str:
    """Lower case; umlauts, their spellings with e and other diacritics to the plain
    letter; ß to ss."""
    lowered = text.lower().translate(_FOLD)
    decomposed = unicodedata.normalize("NFKD", lowered)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _DIGRAPH.sub(lambda m: m.group(0)[0], plain)


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


@lru_cache(maxsize=1)
def _stemmer() -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer("german")


def stems(text: str) -> list[str]:
    return list(_stemmer().stemWords(words(text)))


def pdf_text(path: Path) -> str:
    """The text of a PDF file, or "" when it has none or cannot be read (a scan, a
    damaged file): the search then simply does not find it by its content."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(path.read_bytes()))
        parts: list[str] = []
        size = 0
        for page in reader.pages:
            text = page.extract_text() or ""
            parts.append(text)
            size += len(text)
            if size >= MAX_ATTACHMENT_TEXT:
                break
        return "\n".join(parts)[:MAX_ATTACHMENT_TEXT].replace("\x00", "")
    except (PyPdfError, ValueError, TypeError, KeyError, OSError) as exc:
        log.info("pdf text unavailable path=%s error=%s", path.name, exc)
        return ""


def _document(notice: Notice) -> tuple[str, str]:
    """(title, everything else) of the current released version, as plain text."""
    version = notice.current_version
    if version is None:
        return "", ""
    body = html.unescape(_TAG.sub(" ", version.body_html or version.body_md))
    rest = [version.summary, body, version.file_number]
    rest += [f"{a.title} {a.text_content}" for a in version.attachments]
    return version.title, "\n".join(rest)


def index_notice(notice: Notice) -> None:
    """Store the notice's searchable text (call at release; the caller flushes)."""
    title, rest = _document(notice)
    title_words = " ".join(words(title))
    notice.search_text = f"{title_words} {' '.join(words(rest))}".strip()
    # The title twice: a hit there ranks higher on SQLite (ts_rank sees it as well).
    notice.search_stems = " " + " ".join(stems(title) * 2 + stems(rest)) + " "
    if not notice.search_text:
        notice.search_text = " "  # marks "indexed" for a notice without any text


def ensure_indexed(session: Session, tenant: Tenant) -> int:
    """Index released notices that predate the search columns; returns how many."""
    missing = session.scalars(
        select(Notice).where(
            Notice.tenant_id == tenant.id,
            Notice.current_version_id.is_not(None),
            Notice.search_text == "",
        )
    ).all()
    for notice in missing:
        index_notice(notice)
    if missing:
        session.flush()
    return len(missing)


@dataclass(frozen=True)
class Query:
    text: str
    terms: list[str]  # folded words
    stems: list[str]

    @property
    def empty(self) -> bool:
        return not self.terms


def parse(text: str) -> Query:
    terms = list(dict.fromkeys(words(text)))[:MAX_TERMS]
    return Query(text=text.strip(), terms=terms, stems=list(_stemmer().stemWords(terms)))


def _like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _on_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _tsquery(query: Query) -> ColumnElement[object]:
    # Terms are [0-9a-z]+ (see words): safe inside a tsquery; each may be a prefix.
    return func.to_tsquery("german", " & ".join(f"{t}:*" for t in query.terms))


def condition(session: Session, query: Query) -> ColumnElement[bool]:
    """Notices matching every term (or whose Aktenzeichen contains the query)."""
    if query.empty:
        return true()
    in_file_number = NoticeVersion.file_number.ilike(f"%{_like(query.text)}%", escape="\\")
    matched: ColumnElement[bool]
    if _on_postgresql(session):
        matched = func.to_tsvector(literal_column("'german'::regconfig"), Notice.search_text).op(
            "@@"
        )(_tsquery(query))
    else:
        matched = and_(
            *(Notice.search_stems.like(f"% {_like(s)}%", escape="\\") for s in query.stems)
        )
    return or_(matched, in_file_number)


def rank(session: Session, query: Query) -> ColumnElement[float] | None:
    """An ORDER BY expression for PostgreSQL; None where ranking happens in Python."""
    if query.empty or not _on_postgresql(session):
        return None
    vector = func.to_tsvector(literal_column("'german'::regconfig"), Notice.search_text)
    return func.ts_rank(vector, _tsquery(query))


def python_score(notice: Notice, query: Query) -> float:
    """Ranking on SQLite: how often the stems occur, file-number hits first."""
    score = float(sum(notice.search_stems.count(f" {s}") for s in query.stems))
    version = notice.current_version
    if version is not None and query.text and query.text.lower() in version.file_number.lower():
        score += 100.0
    return score


def _matches(word: str, query: Query) -> bool:
    folded = fold(word)
    if not folded:
        return False
    stem = _stemmer().stemWord(folded)
    return any(
        stem.startswith(s) or folded.startswith(t)
        for s, t in zip(query.stems, query.terms, strict=True)
    )


def snippet(notice: Notice, query: Query, width: int = 12) -> Markup | None:
    """Some words around the first hit, hits in ``<mark>``; None without a hit."""
    if query.empty:
        return None
    title, rest = _document(notice)
    tokens = re.findall(r"\S+", rest)
    hits = [
        i
        for i, tok in enumerate(tokens)
        if any(_matches(w, query) for w in re.findall(r"\w+", tok))
    ]
    if not hits:
        return None
    first = hits[0]
    start, end = max(0, first - width), min(len(tokens), first + width + 1)
    out: list[str] = ["… " if start > 0 else ""]
    for i in range(start, end):
        word = html.escape(tokens[i])
        out.append(f"<mark>{word}</mark>" if i in hits else word)
        out.append(" ")
    text = "".join(out).rstrip() + (" …" if end < len(tokens) else "")
    return Markup(text)  # noqa: S704 - every word is escaped above
