"""The commit boundary (server/uow.py): one unit of work, committed at its end or not at all."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import redirect
from sqlalchemy import select

from server.extensions import db
from server.models import AuditEntry
from server.services import audit
from server.uow import DELIBERATE_COMMITS, committed, unit_of_work

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def _write(tag: str) -> None:
    audit.record(
        db.session, now=T0, action="test.uow", object_type="test", object_id=tag, actor="system"
    )


def _stored() -> list[str]:
    db.session.rollback()  # read what was committed, not what is pending
    return list(
        db.session.scalars(
            select(AuditEntry.object_id)
            .where(AuditEntry.action == "test.uow")
            .order_by(AuditEntry.seq)
        )
    )


def test_a_unit_of_work_commits_at_its_end_and_rolls_back_when_it_raises(app_ctx):
    with unit_of_work() as session:
        assert session is db.session
        _write("eins")
    with pytest.raises(ValueError), unit_of_work():
        _write("kaputt")
        raise ValueError("mitten drin")
    assert _stored() == ["eins"]
    assert audit.verify(db.session).ok  # the rolled-back row left no gap in the chain


def test_a_committed_view_keeps_successful_answers_and_drops_refusals(app_ctx):
    @committed
    def view(tag: str, status: int):
        _write(tag)
        if status == 302:
            return redirect("/")
        return "", status

    @committed
    def failing_view():
        _write("ausnahme")
        raise RuntimeError("kaputt")

    with app_ctx.test_request_context():
        assert view("gespeichert", 200).status_code == 200
        assert view("weitergeleitet", 302).status_code == 302
        assert view("formfehler", 422).status_code == 422
        assert view("verboten", 403).status_code == 403
        with pytest.raises(RuntimeError):
            failing_view()
    assert _stored() == ["gespeichert", "weitergeleitet"]


def test_the_deliberate_commits_name_existing_modules_with_a_reason():
    for where, why in DELIBERATE_COMMITS.items():
        path = where.split(" ")[0]
        assert (ROOT / path).is_file(), where
        assert len(why) > 40, where
