"""Every PDF the system generates is tagged (issue 17, build 7): poppler's ``pdfinfo``
says ``Tagged: yes``, and the structure tree (read with pikepdf) has headings,
paragraphs and tables, the document language ``de`` and a title; the XMP metadata
identifies PDF/A-3a and PDF/UA-1."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

import pikepdf
import pytest
from sqlalchemy import select

from server.models import AlertRecord

from ..alerts.test_alerts_admin import _form
from ..conftest import login
from .publicworld import PDF_BYTES

pytestmark = pytest.mark.skipif(shutil.which("pdfinfo") is None, reason="poppler-utils missing")


def _struct_types(node: object, out: set[str]) -> set[str]:
    if isinstance(node, pikepdf.Dictionary):
        if "/S" in node:
            out.add(str(node.S))
        kids = node.get("/K")
        if kids is not None:
            _struct_types(kids, out)
    elif isinstance(node, pikepdf.Array):
        for kid in node:
            _struct_types(kid, out)
    return out


def assert_accessible(pdf: bytes, *, title: str, tables: bool = True) -> set[str]:
    """The checks of the acceptance item, on the bytes as served."""
    assert pdf.startswith(b"%PDF-")
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        Path(f.name).write_bytes(pdf)
        info = subprocess.run(["pdfinfo", f.name], capture_output=True, text=True, check=True)
    assert "Tagged:          yes" in info.stdout, info.stdout
    assert title in info.stdout  # the <title> is the document title
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        assert str(doc.Root.Lang) == "de"
        assert bool(doc.Root.MarkInfo.Marked) is True
        assert bool(doc.Root.ViewerPreferences.DisplayDocTitle) is True
        meta = doc.open_metadata()
        assert meta.get("pdfaid:part") == "3" and meta.get("pdfaid:conformance") == "A"
        assert meta.get("pdfuaid:part") == "1"
        types = _struct_types(doc.Root.StructTreeRoot, set())
    assert "/H1" in types and "/P" in types, types
    if tables:
        assert {"/Table", "/TR", "/TD"} <= types, types
    return types


def test_notice_print_version_and_aushangvermerk_are_tagged(client, public_world, clock, now):
    notice = public_world.notice(
        files=[("plan.pdf", PDF_BYTES)], title="Satzung über die Straßenreinigung"
    )
    pdf = client.get(f"/musterstadt/bekanntmachungen/{notice.number}/v1.pdf")
    assert pdf.status_code == 200
    types = assert_accessible(pdf.data, title="Satzung über die Straßenreinigung")
    assert "/H2" in types  # "Anlagen"

    clock.set(now + timedelta(days=30))
    login(client, public_world.editor.email)
    vermerk = client.get(f"/musterstadt/bekanntmachungen/{notice.number}/aushangvermerk.pdf")
    assert vermerk.status_code == 200
    assert "/H2" in assert_accessible(vermerk.data, title=f"Aushangvermerk {notice.number}")


def test_alert_reports_are_tagged(client, factory, session):
    town = factory.tenant("sangerhausen", ars="150870045045", name="Sangerhausen")
    alerter = factory.user(town, "alerter")
    session.commit()
    login(client, alerter.email)
    client.post(
        "/admin/sangerhausen/warnungen/neu", data=_form(town, test_mode="1", action="confirm")
    )
    record = session.scalar(select(AlertRecord))
    base = f"/admin/sangerhausen/warnungen/{record.id}"
    report = client.get(base + "/bericht.pdf")
    assert report.status_code == 200
    assert_accessible(report.data, title="Warntag-Bericht", tables=False)
    timeline = client.get(base + "/ablauf.pdf")
    assert timeline.status_code == 200
    assert_accessible(timeline.data, title="Ablauf des Ereignisses")
