"""Word-level comparison of two versions of a text (issue 17, build 4): what an
approver needs to see before releasing a correction."""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

_TOKEN = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class Piece:
    """A run of text that is the same in both versions, or only in the old ("del") or
    only in the new one ("ins")."""

    kind: str  # "same" | "del" | "ins"
    text: str


def word_diff(old: str, new: str) -> list[Piece]:
    """The pieces that turn ``old`` into ``new``, compared word by word (whitespace
    kept, so the result reads like the text)."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    pieces: list[Piece] = []

    def add(kind: str, tokens: list[str]) -> None:
        if not tokens:
            return
        text = "".join(tokens)
        if pieces and pieces[-1].kind == kind:
            pieces[-1] = Piece(kind, pieces[-1].text + text)
        else:
            pieces.append(Piece(kind, text))

    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            add("same", a[i1:i2])
        else:
            add("del", a[i1:i2])
            add("ins", b[j1:j2])
    return pieces


def changed(pieces: list[Piece]) -> bool:
    return any(p.kind != "same" for p in pieces)


@dataclass(frozen=True)
class FieldDiff:
    label: str
    pieces: list[Piece]


def compare(fields: list[tuple[str, str, str]]) -> list[FieldDiff]:
    """(label, old, new) per field → the fields that differ, each as pieces."""
    out = []
    for label, old, new in fields:
        pieces = word_diff(old or "", new or "")
        if changed(pieces):
            out.append(FieldDiff(label, pieces))
    return out
