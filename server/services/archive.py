"""Archive export and import (L18): a ZIP with ``manifest.json``.

Layout of the ZIP::

    manifest.json                      tenants, channels, categories, notices, versions
    files/<sha256>                     attachments and rendered print PDFs, by hash
    aushangvermerke/<tenant>/<nr>.json the Aushangvermerk of each notice at export time
    audit/log.jsonl                    the audit log (of the tenant, or all), one row a line
    audit/verification.json            the verification of the whole hash chain then

Only released versions are exported (drafts are work in progress, not archive). The
import verifies everything it can before it writes a row: every file against its
SHA-256, every version's content hash recomputed from its text and attachment hashes
(the same canonical form as at release, ``domain.integrity``). A manipulated archive
is refused with a German message naming what does not match. Metadata outside the
content hash (e.g. dates of the audit trail) cannot be proven by a ZIP alone; the
hash-chained audit log of the source installation is the evidence for those.

The import goes into an empty database or an empty tenant of the same slug; a tenant
that already has notices is refused, so no published number is ever overwritten.
Services only flush; the CLI command commits.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import (
    AuditEntry,
    Notice,
    NoticeVersion,
    Tenant,
    User,
)
from . import audit, evidence, printing
from .archive_format import (  # noqa: F401  (re-exported: archive.ArchiveError, …)
    CONTENT_KEYS,
    FORMAT,
    FORMAT_VERSION,
    ArchiveError,
    ArchiveResult,
    Progress,
    _iso,
    _person,
    content_hash_of,
)
from .archive_import import import_archive  # noqa: F401
from .files import BlobStore
from .listing import notice_path

# --- export ----------------------------------------------------------------------------


def _version_record(version: NoticeVersion) -> dict[str, Any]:
    record: dict[str, Any] = {k: getattr(version, k) for k in CONTENT_KEYS}
    record["signed_on"] = _iso(version.signed_on)
    record.update(
        number=version.number,
        body_html=version.body_html,
        corrects_version=version.corrects_version.number if version.corrects_version else None,
        correction_note=version.correction_note,
        created_by=_person(version.created_by),
        created_at=_iso(version.created_at),
        submitted_by=_person(version.submitted_by),
        submitted_at=_iso(version.submitted_at),
        released_by=_person(version.released_by),
        released_at=_iso(version.released_at),
        release_comment=version.release_comment,
        content_hash=version.content_hash,
        pdf=(
            {"sha256": version.pdf_sha256, "size": version.pdf_size} if version.pdf_sha256 else None
        ),
        attachments=[
            {
                "position": a.position,
                "filename": a.filename,
                "title": a.title,
                "media_type": a.media_type,
                "size": a.size,
                "sha256": a.sha256,
            }
            for a in version.attachments
        ],
    )
    return record


def _notice_record(notice: Notice, vermerk_path: str) -> dict[str, Any]:
    return {
        "number": notice.number,
        "category": notice.category.slug,
        "status": notice.status,
        "posting_start": _iso(notice.posting_start),
        "posting_end": _iso(notice.posting_end),
        "starts_at": _iso(notice.starts_at),
        "ends_at": _iso(notice.ends_at),
        "provided_at": _iso(notice.provided_at),
        "provided_on": _iso(notice.provided_on),
        "contains_personal_data": notice.contains_personal_data,
        "withdrawn_at": _iso(notice.withdrawn_at),
        "withdrawn_by": _person(notice.withdrawn_by),
        "withdrawal_kind": notice.withdrawal_kind,
        "withdrawal_reason": notice.withdrawal_reason,
        "hint_required": notice.hint_required,
        "hint_posted_on": _iso(notice.hint_posted_on),
        "hint_posted_by": _person(notice.hint_posted_by),
        "hint_note": notice.hint_note,
        "start_recorded_at": _iso(notice.start_recorded_at),
        "end_recorded_at": _iso(notice.end_recorded_at),
        "source": notice.source,
        "source_flag": notice.source_flag,
        "created_by": _person(notice.created_by),
        "created_at": _iso(notice.created_at),
        "updated_at": _iso(notice.updated_at),
        "current_version": notice.current_version.number if notice.current_version else None,
        "aushangvermerk": vermerk_path,
        "versions": [_version_record(v) for v in notice.released_versions],
    }


def _tenant_record(
    t: Tenant, channel_keys: dict[int, int], notice_records: list[dict[str, Any]]
) -> dict[str, Any]:
    """The manifest entry of one tenant: its settings, forms, categories and notices."""
    return {
        "slug": t.slug,
        "name": t.name,
        "ars": t.ars,
        "timezone": t.timezone,
        "website_url": t.website_url,
        "contact_email": t.contact_email,
        "contact_phone": t.contact_phone,
        "address": t.address,
        "hauptsatzung_ref": t.hauptsatzung_ref,
        "hint_due_days": t.hint_due_days,
        "accessibility_statement": t.accessibility_statement,
        "hint_channel": channel_keys.get(t.hint_channel_id) if t.hint_channel_id else None,
        "channels": [
            {
                "key": channel_keys[c.id],
                "kind": c.kind,
                "name": c.name,
                "location": c.location,
            }  # fmt: skip
            for c in t.channels
        ],
        "categories": [
            {
                "slug": c.slug,
                "name": c.name,
                "min_days": c.min_days,
                "description": c.description,
                "binding_channels": [channel_keys[b.id] for b in c.binding_channels],
            }
            for c in t.categories
        ],
        "notices": notice_records,
    }


def export_archive(
    session: Session,
    store: BlobStore,
    target: str | Path,
    *,
    now: datetime,
    base_url: str,
    tenant_slug: str | None = None,
    progress: Progress | None = None,
    extra_channels: Iterable[evidence.ChannelProvider] = (),
    actor: User | str = "cli",
) -> ArchiveResult:
    """Write the archive of one tenant (or all) to ``target``.

    ``extra_channels``: the Aushangvermerk's channel providers (the displays), as for
    the web's Aushangvermerk.

    Renders missing print PDFs on the way (a flush; the caller commits). Needs an app
    context for the PDF templates.
    """
    stmt = select(Tenant).order_by(Tenant.slug)
    if tenant_slug:
        stmt = stmt.where(Tenant.slug == tenant_slug)
    tenants = list(session.scalars(stmt))
    if tenant_slug and not tenants:
        raise ArchiveError(f"Die Kommune „{tenant_slug}“ gibt es nicht.")
    work: list[tuple[Tenant, list[Notice]]] = []
    for t in tenants:
        notices = [
            n
            for n in session.scalars(
                select(Notice).where(Notice.tenant_id == t.id).order_by(Notice.number)
            )
            if n.released_versions
        ]
        work.append((t, notices))
    total = sum(len(ns) for _t, ns in work) * 2 + 1
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total)

    result = ArchiveResult()
    files: dict[str, dict[str, Any]] = {}
    manifest_tenants: list[dict[str, Any]] = []
    target = Path(target)
    tmp = target.with_name(target.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:

        def add_file(sha256: str, size: int) -> None:
            if sha256 in files:
                return
            path = store.path_for(sha256)
            if not path.is_file():
                raise ArchiveError(f"Datei {sha256} fehlt im Dateispeicher.")
            zf.write(path, f"files/{sha256}")
            files[sha256] = {"path": f"files/{sha256}", "size": size}

        for t, notices in work:
            channel_keys = {c.id: i for i, c in enumerate(t.channels)}
            notice_records = []
            for n in notices:
                url = base_url.rstrip("/") + notice_path(t.slug, n.number)
                for v in n.released_versions:
                    printing.ensure_version_pdf(
                        session,
                        store,
                        n,
                        v,
                        public_url=base_url.rstrip("/") + notice_path(t.slug, n.number, v.number),
                    )
                step()
                vermerk_path = f"aushangvermerke/{t.slug}/{n.number}.json"
                vermerk = evidence.build_aushangvermerk(
                    n, now, public_url=url, extra_channels=extra_channels
                )
                zf.writestr(vermerk_path, json.dumps(vermerk, ensure_ascii=False, indent=2))
                record = _notice_record(n, vermerk_path)
                for v in n.released_versions:
                    for a in v.attachments:
                        add_file(a.sha256, a.size)
                    if v.pdf_sha256:
                        add_file(v.pdf_sha256, int(v.pdf_size or 0))
                    result.versions += 1
                notice_records.append(record)
                result.notices += 1
                step()
            manifest_tenants.append(_tenant_record(t, channel_keys, notice_records))
            result.tenants.append(t.slug)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "exported_at": _iso(now),
            "base_url": base_url,
            "tenants": manifest_tenants,
            "files": files,
        }
        manifest["audit_rows"] = _write_audit(zf, session, tenants, not tenant_slug, now)
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
        step()
    tmp.replace(target)
    result.files = len(files)
    audit.record(
        session,
        now=now,
        action="archive.export",
        object_type="archive",
        object_id=target.name,
        actor=actor,
        tenant_id=tenants[0].id if tenant_slug else None,
        details={"tenants": result.tenants, "notices": result.notices, "files": result.files},
    )
    return result


def _audit_rows(session: Session, tenant_ids: list[int] | None) -> list[dict[str, Any]]:
    stmt = select(AuditEntry).order_by(AuditEntry.seq)
    if tenant_ids is not None:
        stmt = stmt.where(AuditEntry.tenant_id.in_(tenant_ids))
    return [
        {**audit.row_payload(e), "prev_hash": e.prev_hash, "hash": e.hash}
        for e in session.scalars(stmt).yield_per(1000)
    ]


def _write_audit(
    zf: zipfile.ZipFile, session: Session, tenants: list[Tenant], whole: bool, now: datetime
) -> int:
    """The audit log (of the exported tenants, or all of it) as JSON lines, and the
    verification of the whole chain at export time. Each row carries ``prev_hash`` and
    ``hash``: its own hash can be recomputed from them (domain.integrity.audit_hash);
    the chain across tenants is vouched for by the verification."""
    rows = _audit_rows(session, None if whole else [t.id for t in tenants])
    zf.writestr(
        "audit/log.jsonl",
        "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows),
    )
    check = audit.verify(session)
    zf.writestr(
        "audit/verification.json",
        json.dumps(
            {
                "verified_at": _iso(now),
                "chain_ok": check.ok,
                "rows_checked": check.rows,
                "broken_seq": check.broken_seq,
                "reason": check.reason or None,
                "rows_in_archive": len(rows),
                "scope": "all" if whole else [t.slug for t in tenants],
            },
            ensure_ascii=False,
            indent=2,
        ),
    )
    return len(rows)
