"""The DWD warn-cell table shipped as data (``data/warncells/warncells.csv``).

Matching a warning to a place needs no table (:mod:`server.domain.alerts.warncells`
computes it from the digits); the table gives cells their names, so the alert page can
say "relevant durch: Warnzelle 803159007 (Gemeinde Bovenden)". The file has DWD's own
format, ``WARNCELLID;NAME;KURZNAME;CCC;BL`` with ``;`` separators, so the full list
published by DWD replaces it with ``aushang warncells import FILE``
(:func:`read_warncell_csv` validates it first). Source and licence: README.md next to
the data.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import click

DATA_DIR = Path(__file__).parent / "data" / "warncells"
TABLE_PATH = DATA_DIR / "warncells.csv"
COLUMNS = ("WARNCELLID", "NAME", "KURZNAME", "CCC", "BL")
MAX_TABLE_BYTES = 10_000_000


class WarncellTableError(ValueError):
    """A warn-cell CSV we refuse; the message is German and names the line."""


@dataclass(frozen=True)
class Warncell:
    cell: str
    name: str
    short_name: str = ""
    ccc: str = ""
    land: str = ""


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):  # DWD has published both over the years
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise WarncellTableError("Die Datei ist weder UTF-8 noch Windows-1252.")


def read_warncell_csv(data: bytes) -> list[Warncell]:
    """Parse and validate a warn-cell list in DWD's format; raise on the first bad line."""
    if len(data) > MAX_TABLE_BYTES:
        raise WarncellTableError("Die Datei ist zu groß für eine Warnzellenliste.")
    reader = csv.reader(io.StringIO(_decode(data)), delimiter=";")
    header = [h.strip().upper() for h in next(reader, [])]
    if tuple(header[: len(COLUMNS)]) != COLUMNS:
        raise WarncellTableError(
            f"Unerwartete Kopfzeile {';'.join(header)!r}: erwartet {';'.join(COLUMNS)}."
        )
    cells: dict[str, Warncell] = {}
    for line, row in enumerate(reader, start=2):
        if not any(v.strip() for v in row):
            continue
        if len(row) < len(COLUMNS):
            raise WarncellTableError(f"Zeile {line}: {len(COLUMNS)} Spalten erwartet.")
        cell, name, short, ccc, land = (v.strip() for v in row[: len(COLUMNS)])
        if not (cell.isdigit() and len(cell) == 9):
            raise WarncellTableError(f"Zeile {line}: „{cell}“ ist keine neunstellige WARNCELLID.")
        if not name:
            raise WarncellTableError(f"Zeile {line}: Name fehlt.")
        if cell in cells:
            raise WarncellTableError(f"Zeile {line}: WARNCELLID {cell} doppelt.")
        cells[cell] = Warncell(cell, name, short, ccc, land)
    if not cells:
        raise WarncellTableError("Die Datei enthält keine Warnzellen.")
    return sorted(cells.values(), key=lambda c: c.cell)


def write_warncell_csv(cells: list[Warncell], path: Path = TABLE_PATH) -> None:
    """Write the table atomically in DWD's format (UTF-8)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(COLUMNS)
    for c in cells:
        writer.writerow((c.cell, c.name, c.short_name, c.ccc, c.land))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".warncells-")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(out.getvalue())
    os.replace(tmp, path)
    load_table.cache_clear()


@cache
def load_table(path: Path = TABLE_PATH) -> dict[str, Warncell]:
    """The shipped table by cell id (read once per process)."""
    if not path.exists():
        return {}
    return {c.cell: c for c in read_warncell_csv(path.read_bytes())}


def cell_name(cell: str) -> str:
    """The DWD name of a warn cell, or "" if the table does not list it."""
    found = load_table().get(cell)
    return found.name if found else ""


@click.group("warncells")
def warncells_group() -> None:
    """DWD-Warnzellen (Namen zu WARNCELLIDs)."""


@warncells_group.command("import")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(source: Path) -> None:
    """Die von DWD veröffentlichte cap_warncellids_csv.csv übernehmen (geprüft)."""
    try:
        cells = read_warncell_csv(source.read_bytes())
    except WarncellTableError as exc:
        raise click.ClickException(str(exc)) from None
    write_warncell_csv(cells)
    click.echo(f"{len(cells)} Warnzellen übernommen nach {TABLE_PATH}.")
