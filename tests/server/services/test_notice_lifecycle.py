from datetime import timedelta
from io import BytesIO

import pytest
from sqlalchemy import select

from server.domain.errors import Conflict, PermissionDenied, ValidationFailed
from server.domain.posting import Phase
from server.models import AuditEntry
from server.services import notices as svc
from server.services.files import BlobStore, store_upload


@pytest.fixture()
def world(factory):
    tenant = factory.tenant()
    cat = factory.category(tenant, min_days=7)
    editor = factory.user(tenant, "editor")
    approver = factory.user(tenant, "approver")
    return tenant, cat, editor, approver


def test_four_eyes_release_records_audit_and_hash(session, factory, world, now):
    tenant, cat, editor, approver = world
    notice = svc.create_notice(session, tenant, editor, factory.notice_input(cat), now)
    svc.submit(session, notice, editor, now)
    with pytest.raises(PermissionDenied):
        svc.release(session, notice, editor, "", now)  # editor role only
    both = factory.user(tenant, "editor", "approver")
    mine = svc.create_notice(session, tenant, both, factory.notice_input(cat), now)
    svc.submit(session, mine, both, now)
    with pytest.raises(PermissionDenied):
        svc.release(session, mine, both, "", now)  # nobody releases their own draft
    version = svc.release(session, notice, approver, "passt", now + timedelta(minutes=5))
    assert version.status == "released" and len(version.content_hash) == 64
    assert notice.provided_on == now.date()
    rows = session.scalars(select(AuditEntry).where(AuditEntry.action == "notice.release")).all()
    assert len(rows) == 1 and rows[0].actor_id == approver.id
    assert svc.notice_phase(notice, now + timedelta(minutes=5)) is Phase.IN_AUSHANG


def test_released_version_is_immutable_and_correction_keeps_bereitstellungstag(
    session, factory, world, now
):
    tenant, cat, editor, approver = world
    notice = factory.released_notice(tenant, cat, editor, approver)
    v1 = notice.current_version
    first_provided = notice.provided_on
    with pytest.raises(Conflict) as exc:
        svc.update_draft(session, notice, editor, factory.notice_input(cat, title="neu"), now)
    assert exc.value.status == 409
    later = now + timedelta(days=2)
    v2 = svc.start_correction(session, notice, editor, "Tippfehler", later)
    data = svc.input_from_version(notice, v2)
    data.title = "Satzung über die Benutzung der Friedhöfe (berichtigt)"
    svc.update_draft(session, notice, editor, data, later)
    svc.submit(session, notice, editor, later)
    svc.release(session, notice, approver, "ok", later)
    assert notice.current_version is v2 and v2.corrects_version_id == v1.id
    assert v1.status == "released" and v1.content_hash != v2.content_hash
    assert notice.provided_on == first_provided


def test_release_lists_every_missing_field(session, factory, world, now):
    tenant, cat, editor, approver = world
    data = factory.notice_input(cat, file_number="", signatory_name="", signed_on=None)
    notice = svc.create_notice(session, tenant, editor, data, now)
    with pytest.raises(ValidationFailed) as exc:
        svc.submit(session, notice, editor, now)
    assert {"file_number", "signatory_name", "signed_on"} <= set(exc.value.field_errors)
    assert "Aktenzeichen" in exc.value.message


def test_category_without_binding_channel_cannot_be_released(session, factory, world, now):
    tenant, _, editor, approver = world
    cat = factory.category(tenant, binding=())
    notice = svc.create_notice(session, tenant, editor, factory.notice_input(cat), now)
    svc.submit(session, notice, editor, now)
    with pytest.raises(ValidationFailed) as exc:
        svc.release(session, notice, approver, "", now)
    assert "verbindliche" in exc.value.message


def test_window_shorter_than_category_minimum_is_refused(session, factory, world, now):
    tenant, cat, editor, _ = world
    data = factory.notice_input(cat, posting_end=now.date() + timedelta(days=7))
    with pytest.raises(ValidationFailed) as exc:
        svc.create_notice(session, tenant, editor, data, now)
    assert "posting_end" in exc.value.field_errors
    assert session.scalar(select(AuditEntry.id).where(AuditEntry.action == "notice.create")) is None


def test_markdown_html_and_script_are_neutralised(session, factory, world, now):
    tenant, cat, editor, _ = world
    body = "Hallo <script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)>"
    notice = svc.create_notice(
        session, tenant, editor, factory.notice_input(cat, body_md=body), now
    )
    html = notice.latest_version.body_html
    assert "<script" not in html and "<img" not in html
    assert 'href="javascript' not in html and "&lt;script&gt;" in html


def test_withdrawal_keeps_content(session, factory, world, now):
    tenant, cat, editor, approver = world
    notice = factory.released_notice(tenant, cat, editor, approver)
    with pytest.raises(ValidationFailed):
        svc.withdraw(session, notice, approver, "withdrawn", "  ", now)
    svc.withdraw(session, notice, approver, "withdrawn", "Fehlerhafte Fassung", now)
    assert notice.status == "withdrawn" and notice.current_version.body_md
    assert svc.notice_phase(notice, now) is Phase.WITHDRAWN


def test_personal_data_leaves_public_after_window(session, factory, world, now):
    tenant, cat, editor, approver = world
    notice = factory.released_notice(tenant, cat, editor, approver, contains_personal_data=True)
    assert svc.is_public(notice, now)
    assert not svc.is_public(notice, notice.ends_at + timedelta(seconds=1))


def test_hint_notice_is_tracked(session, factory, world, now):
    tenant, cat, editor, approver = world
    notice = factory.released_notice(tenant, cat, editor, approver)
    assert notice.hint_required
    assert "bereitgestellt" in svc.hint_text(notice, "https://x.example/n/1")
    assert not svc.hint_overdue(notice, now)
    assert svc.hint_overdue(notice, now + timedelta(days=4))
    svc.mark_hint_posted(session, notice, editor, now.date(), "Tafel", now)
    assert not svc.hint_overdue(notice, now + timedelta(days=4))


def test_uploads_are_checked_by_content_and_size(tmp_path):
    store = BlobStore(tmp_path)
    blob = store_upload(store, BytesIO(b"%PDF-1.7\n..."), "a.pdf", max_bytes=1000)
    assert blob.media_type == "application/pdf" and store.exists(blob.sha256)
    with pytest.raises(ValidationFailed):
        store_upload(store, BytesIO(b"MZ\x90\x00 evil"), "rechnung.pdf", max_bytes=1000)
    with pytest.raises(ValidationFailed):
        store_upload(store, BytesIO(b"%PDF-" + b"x" * 2000), "big.pdf", max_bytes=1000)
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert leftovers == [store.path_for(blob.sha256)]
