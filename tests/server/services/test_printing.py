"""The print templates render without Flask, exactly as Flask's environment renders them."""

from __future__ import annotations

import flask

from server.services import printing
from server.services.evidence import build_aushangvermerk

from ..publicworld import make_world


def test_pdf_templates_render_as_through_flask(factory, app_ctx, now, monkeypatch):
    world = make_world(factory, app_ctx)
    notice = world.notice(title="Satzung über die Straßenreinigung <Änderung>")
    url = "http://x/musterstadt/bekanntmachungen/1"
    record = build_aushangvermerk(notice, now, public_url=url)
    ours = printing.version_pdf_html(notice, notice.current_version, public_url=url)
    vermerk_ours = printing.render_template("pdf/aushangvermerk.html", v=record)
    with app_ctx.test_request_context():
        # The same calls through Flask's environment (filters of server/web/setup.py).
        monkeypatch.setattr(printing, "render_template", flask.render_template)
        theirs = printing.version_pdf_html(notice, notice.current_version, public_url=url)
        vermerk_theirs = printing.render_template("pdf/aushangvermerk.html", v=record)
    assert ours == theirs
    assert "&lt;Änderung&gt;" in ours  # escaped as on the web
    assert vermerk_ours == vermerk_theirs
    assert notice.number in vermerk_ours
