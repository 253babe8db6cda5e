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


# --- four eyes by content (issue 11) ------------------------------------------------


def _kinds(version) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for e in version.editors:
        out.setdefault(e.user_id, []).append(e.kind)
    return out


def test_nobody_who_changed_the_text_may_release_it(session, factory, world, now):
    tenant, cat, editor, approver = world
    both = factory.user(tenant, "editor", "approver")
    notice = svc.create_notice(session, tenant, editor, factory.notice_input(cat), now)
    data = svc.input_from_version(notice, notice.working_version)
    data.body_md = "Umgeschrieben."
    svc.update_draft(session, notice, both, data, now)
    svc.submit(session, notice, editor, now)
    with pytest.raises(PermissionDenied) as exc:
        svc.release(session, notice, both, "", now)
    assert "Vier-Augen-Prinzip" in exc.value.message and "geändert" in exc.value.message
    assert _kinds(notice.working_version) == {
        editor.id: ["created", "submitted"],
        both.id: ["edited"],
    }
    svc.release(session, notice, approver, "", now)  # a third person may
    assert notice.current_version.released_by_id == approver.id


def test_an_attachment_counts_as_a_change_and_a_save_without_change_does_not(
    session, factory, world, now, tmp_path
):
    tenant, cat, editor, approver = world
    uploader = factory.user(tenant, "editor", "approver")
    saver = factory.user(tenant, "editor", "approver")
    notice = svc.create_notice(session, tenant, editor, factory.notice_input(cat), now)
    blob = store_upload(BlobStore(tmp_path), BytesIO(b"%PDF-1.7\n"), "a.pdf", max_bytes=1000)
    svc.add_attachment(session, notice, uploader, blob, "a.pdf", "", now)
    unchanged = svc.input_from_version(notice, notice.working_version)
    svc.update_draft(session, notice, saver, unchanged, now)
    svc.submit(session, notice, editor, now)
    with pytest.raises(PermissionDenied):
        svc.release(session, notice, uploader, "", now)
    assert saver.id not in _kinds(notice.working_version)
    svc.release(session, notice, saver, "", now)


def test_the_submitter_who_changed_nothing_is_still_excluded(session, factory, world, now):
    tenant, cat, editor, approver = world
    submitter = factory.user(tenant, "editor", "approver")
    notice = svc.create_notice(session, tenant, editor, factory.notice_input(cat), now)
    svc.submit(session, notice, submitter, now)
    with pytest.raises(PermissionDenied):
        svc.release(session, notice, submitter, "", now)
    assert _kinds(notice.working_version)[submitter.id] == ["submitted"]


def test_a_correction_counts_the_editors_of_the_new_version_only(session, factory, world, now):
    tenant, cat, editor, approver = world
    first_editor = factory.user(tenant, "editor", "approver")
    corrector = factory.user(tenant, "editor", "approver")
    notice = svc.create_notice(session, tenant, editor, factory.notice_input(cat), now)
    data = svc.input_from_version(notice, notice.working_version)
    data.title = "Geändert in Fassung 1"
    svc.update_draft(session, notice, first_editor, data, now)
    svc.submit(session, notice, editor, now)
    svc.release(session, notice, approver, "", now)

    later = now + timedelta(days=1)
    v2 = svc.start_correction(session, notice, corrector, "Tippfehler", later)
    assert _kinds(v2) == {corrector.id: ["created"]}
    svc.submit(session, notice, editor, later)
    with pytest.raises(PermissionDenied):
        svc.release(session, notice, corrector, "", later)  # created the correction
    # Who changed version 1 did not change version 2 and may release it.
    svc.release(session, notice, first_editor, "", later)
    assert notice.current_version is v2


def test_withdrawn_notice_with_a_pending_correction_cannot_be_submitted_or_released(
    session, factory, world, now
):
    tenant, cat, editor, approver = world
    notice = factory.released_notice(tenant, cat, editor, approver)
    svc.start_correction(session, notice, editor, "Tippfehler", now)
    svc.withdraw(session, notice, approver, "withdrawn", "Fehler", now)
    with pytest.raises(Conflict):
        svc.submit(session, notice, editor, now)
    assert notice.status == "withdrawn"


# --- races (issue 11): real concurrency, two sessions in two threads ------------------


def _race(app, notice_id: int, user_ids: list[int], step) -> list[object]:
    """Run ``step(session, notice, user)`` in one thread per user, each with its own
    session; all load the notice before any of them writes."""
    import threading

    from sqlalchemy.orm import Session as OrmSession

    from server.extensions import db
    from server.models import Notice, User

    barrier = threading.Barrier(len(user_ids), timeout=30)
    results: list[object] = [None] * len(user_ids)

    def run(i: int, uid: int) -> None:
        with app.app_context(), OrmSession(db.engine) as s:
            notice = s.get(Notice, notice_id)
            user = s.get(User, uid)
            _ = [v.status for v in notice.versions], user.memberships
            s.rollback()  # no transaction (and no snapshot) held while waiting
            barrier.wait()
            try:
                step(s, notice, user)
                s.commit()
                results[i] = "ok"
            except Exception as exc:  # noqa: BLE001 - the result is what we test
                s.rollback()
                results[i] = exc

    threads = [threading.Thread(target=run, args=(i, u)) for i, u in enumerate(user_ids)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_parallel_releases_release_once_and_write_one_audit_row(app, session, factory, world, now):
    tenant, cat, editor, approver = world
    second = factory.user(tenant, "approver")
    notice = svc.create_notice(session, tenant, editor, factory.notice_input(cat), now)
    svc.submit(session, notice, editor, now)
    session.commit()
    results = _race(
        app,
        notice.id,
        [approver.id, second.id],
        lambda s, n, u: svc.release(s, n, u, "", now),
    )
    assert sorted(map(str, results)).count("ok") == 1, results
    refused = next(r for r in results if r != "ok")
    assert isinstance(refused, Conflict) and "keine Fassung zur Freigabe" in refused.message
    session.expire_all()
    rows = session.scalars(select(AuditEntry).where(AuditEntry.action == "notice.release")).all()
    assert len(rows) == 1


def test_parallel_correction_starts_create_one_draft(app, session, factory, world, now):
    tenant, cat, editor, approver = world
    other = factory.user(tenant, "editor")
    notice = factory.released_notice(tenant, cat, editor, approver)
    session.commit()
    results = _race(
        app,
        notice.id,
        [editor.id, other.id],
        lambda s, n, u: svc.start_correction(s, n, u, "Tippfehler", now),
    )
    assert sorted(map(str, results)).count("ok") == 1, results
    refused = next(r for r in results if r != "ok")
    assert isinstance(refused, Conflict) and "bereits eine Berichtigung" in refused.message
    session.expire_all()
    assert [v.number for v in notice.versions] == [1, 2]
    rows = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "notice.correction_start")
    ).all()
    assert len(rows) == 1
