"""Archive export and import (L18): a ZIP with ``manifest.json``.

Layout of the ZIP::

    manifest.json                      tenants, channels, categories, notices, versions
    files/<sha256>                     attachments and rendered print PDFs, by hash
    aushangvermerke/<tenant>/<nr>.json the Aushangvermerk of each notice at export time

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

import hashlib
import json
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain.integrity import canonical_json, sha256_hex, version_canonical_text
from ..models import (
    Attachment,
    Category,
    Notice,
    NoticeVersion,
    PublicationChannel,
    Tenant,
    User,
)
from . import audit, evidence, printing
from .files import BlobStore
from .listing import notice_path
from .people import validate_tenant_fields

FORMAT = "aushang-archive"
FORMAT_VERSION = 1
CONTENT_KEYS = (
    "title",
    "summary",
    "body_md",
    "issuing_office",
    "file_number",
    "legal_basis",
    "signed_on",
    "signatory_name",
    "signatory_function",
)

Progress = Callable[[int, int], None]  # (done, total)


class ArchiveError(Exception):
    """The archive cannot be imported; ``message`` is German and names the reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class ArchiveResult:
    tenants: list[str] = field(default_factory=list)
    notices: int = 0
    versions: int = 0
    files: int = 0


# --- helpers -------------------------------------------------------------------------


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ArchiveError(f"Zeitangabe ohne Zeitzone im Archiv: {value}")
    return parsed


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value is not None else None


def _person(user: User | None) -> dict[str, str] | None:
    return {"email": user.email, "name": user.name} if user is not None else None


def content_hash_of(version: dict[str, Any], notice: dict[str, Any]) -> str:
    """The content hash (L6) recomputed from manifest data, as at release."""
    fields = {k: version.get(k) for k in CONTENT_KEYS}
    fields["posting_start"] = notice.get("posting_start")
    fields["posting_end"] = notice.get("posting_end")
    return sha256_hex(
        version_canonical_text(fields, [a["sha256"] for a in version.get("attachments", [])])
    )


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
            manifest_tenants.append(
                {
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
                    "hint_channel": channel_keys.get(t.hint_channel_id)
                    if t.hint_channel_id
                    else None,
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
            )
            result.tenants.append(t.slug)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "exported_at": _iso(now),
            "base_url": base_url,
            "tenants": manifest_tenants,
            "files": files,
        }
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
        actor="cli",
        details={"tenants": result.tenants, "notices": result.notices, "files": result.files},
    )
    return result


# --- import ------------------------------------------------------------------------------


def _read_manifest(zf: zipfile.ZipFile) -> dict[str, Any]:
    try:
        raw = zf.read("manifest.json")
    except KeyError:
        raise ArchiveError("Das Archiv enthält keine manifest.json.") from None
    try:
        manifest = json.loads(raw)
    except ValueError:
        raise ArchiveError("Die manifest.json ist kein gültiges JSON.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError("Die Datei ist kein Aushang-Archiv.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArchiveError(
            f"Archivformat Version {manifest.get('format_version')} wird nicht unterstützt."
        )
    return manifest


def _verify(zf: zipfile.ZipFile, manifest: dict[str, Any], step: Callable[[], None]) -> None:
    """Every file against its hash, every version against its content hash."""
    files = manifest.get("files") or {}
    for sha, info in files.items():
        try:
            with zf.open(info["path"]) as fh:
                h = hashlib.sha256()
                size = 0
                while chunk := fh.read(1024 * 256):
                    h.update(chunk)
                    size += len(chunk)
        except KeyError:
            raise ArchiveError(f"Datei {info.get('path')} fehlt im Archiv.") from None
        if h.hexdigest() != sha:
            raise ArchiveError(
                f"Die Datei {info['path']} wurde verändert: Prüfsumme stimmt nicht "
                f"(erwartet {sha}, gefunden {h.hexdigest()})."
            )
        if size != info.get("size", size):
            raise ArchiveError(f"Die Datei {info['path']} hat nicht die angegebene Größe.")
        step()
    for t in manifest.get("tenants", []):
        for n in t.get("notices", []):
            for v in n.get("versions", []):
                where = (
                    f"Bekanntmachung {t.get('slug')}/{n.get('number')}, Fassung {v.get('number')}"
                )
                if content_hash_of(v, n) != v.get("content_hash"):
                    raise ArchiveError(
                        f"{where}: Der Inhalt passt nicht zur Prüfsumme – das Archiv wurde "
                        "verändert."
                    )
                needed = [a["sha256"] for a in v.get("attachments", [])]
                if v.get("pdf"):
                    needed.append(v["pdf"]["sha256"])
                for sha in needed:
                    if sha not in files:
                        raise ArchiveError(f"{where}: Datei {sha} fehlt im Archiv.")


class _People:
    """Users named in the archive: linked by e-mail, else created as inactive
    accounts without a usable password (they only keep the record of who did what)."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now
        self.cache: dict[str, User] = {}

    def get(self, person: dict[str, str] | None) -> int | None:
        if not person or not person.get("email"):
            return None
        email = person["email"].strip().lower()
        user = self.cache.get(email)
        if user is None:
            user = self.session.scalar(select(User).where(func.lower(User.email) == email))
        if user is None:
            user = User(
                email=email,
                name=person.get("name") or email,
                password_hash="!archiv-import",  # not an argon2 hash: login impossible
                active=False,
                created_at=self.now,
            )
            self.session.add(user)
            self.session.flush()
        self.cache[email] = user
        return user.id


def _import_tenant(
    session: Session, data: dict[str, Any], people: _People, now: datetime
) -> Tenant:
    slug = data.get("slug", "")
    tenant = session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is not None:
        if session.scalar(select(func.count()).where(Notice.tenant_id == tenant.id)):
            raise ArchiveError(
                f"Die Kommune „{slug}“ enthält bereits Bekanntmachungen. Ein Archiv wird nur "
                "in eine leere Kommune eingelesen."
            )
    else:
        errors = validate_tenant_fields(
            data.get("name", ""), slug, data.get("ars", ""), data.get("timezone", "")
        )
        if errors:
            raise ArchiveError(
                f"Ungültige Angaben zur Kommune „{slug}“: " + "; ".join(errors.values())
            )
        tenant = Tenant(
            slug=slug,
            name=data["name"],
            ars=data["ars"],
            timezone=data["timezone"],
            created_at=now,
        )
        for key in (
            "website_url",
            "contact_email",
            "contact_phone",
            "address",
            "hauptsatzung_ref",
            "hint_due_days",
            "accessibility_statement",
        ):
            if key in data and data[key] is not None:
                setattr(tenant, key, data[key])
        session.add(tenant)
        session.flush()
    channels: dict[int, PublicationChannel] = {}
    for c in data.get("channels", []):
        existing = next(
            (x for x in tenant.channels if x.kind == c["kind"] and x.name == c["name"]), None
        )
        if existing is None:
            existing = PublicationChannel(
                kind=c["kind"], name=c["name"], location=c.get("location", "")
            )
            tenant.channels.append(existing)
        channels[c["key"]] = existing
    session.flush()
    if tenant.hint_channel_id is None and data.get("hint_channel") is not None:
        tenant.hint_channel_id = channels[data["hint_channel"]].id
    for c in data.get("categories", []):
        existing_cat = next((x for x in tenant.categories if x.slug == c["slug"]), None)
        if existing_cat is None:
            existing_cat = Category(
                slug=c["slug"],
                name=c["name"],
                min_days=c.get("min_days", 7),
                description=c.get("description", ""),
            )
            existing_cat.binding_channels = [channels[k] for k in c.get("binding_channels", [])]
            tenant.categories.append(existing_cat)
    session.flush()
    return tenant


def _import_notice(
    session: Session, tenant: Tenant, data: dict[str, Any], people: _People
) -> Notice:
    category = next((c for c in tenant.categories if c.slug == data["category"]), None)
    if category is None:
        raise ArchiveError(f"Kategorie „{data['category']}“ fehlt im Archiv.")
    notice = Notice(
        tenant_id=tenant.id,
        number=data["number"],
        category_id=category.id,
        status=data["status"],
        posting_start=_d(data.get("posting_start")),
        posting_end=_d(data.get("posting_end")),
        starts_at=_dt(data.get("starts_at")),
        ends_at=_dt(data.get("ends_at")),
        provided_at=_dt(data.get("provided_at")),
        provided_on=_d(data.get("provided_on")),
        contains_personal_data=bool(data.get("contains_personal_data")),
        withdrawn_at=_dt(data.get("withdrawn_at")),
        withdrawn_by_id=people.get(data.get("withdrawn_by")),
        withdrawal_kind=data.get("withdrawal_kind"),
        withdrawal_reason=data.get("withdrawal_reason"),
        hint_required=bool(data.get("hint_required")),
        hint_posted_on=_d(data.get("hint_posted_on")),
        hint_posted_by_id=people.get(data.get("hint_posted_by")),
        hint_note=data.get("hint_note"),
        start_recorded_at=_dt(data.get("start_recorded_at")),
        end_recorded_at=_dt(data.get("end_recorded_at")),
        source=data.get("source") or "archive",
        source_flag=data.get("source_flag"),
        created_by_id=people.get(data.get("created_by")),
        created_at=_dt(data["created_at"]),
        updated_at=_dt(data["updated_at"]),
    )
    by_number: dict[int, NoticeVersion] = {}
    for v in sorted(data.get("versions", []), key=lambda x: x["number"]):
        version = NoticeVersion(
            number=v["number"],
            status="released",
            title=v["title"],
            summary=v["summary"],
            body_md=v["body_md"],
            body_html=v["body_html"],
            issuing_office=v["issuing_office"],
            file_number=v["file_number"],
            legal_basis=v["legal_basis"],
            signed_on=_d(v.get("signed_on")),
            signatory_name=v["signatory_name"],
            signatory_function=v["signatory_function"],
            correction_note=v.get("correction_note", ""),
            created_by_id=people.get(v.get("created_by")),
            created_at=_dt(v["created_at"]),
            submitted_by_id=people.get(v.get("submitted_by")),
            submitted_at=_dt(v.get("submitted_at")),
            released_by_id=people.get(v.get("released_by")),
            released_at=_dt(v.get("released_at")),
            release_comment=v.get("release_comment", ""),
            content_hash=v["content_hash"],
            pdf_sha256=v["pdf"]["sha256"] if v.get("pdf") else None,
            pdf_size=v["pdf"]["size"] if v.get("pdf") else None,
        )
        if v.get("corrects_version") is not None:
            version.corrects_version = by_number.get(v["corrects_version"])
        for a in v.get("attachments", []):
            version.attachments.append(
                Attachment(
                    position=a["position"],
                    filename=a["filename"],
                    title=a.get("title", ""),
                    media_type=a["media_type"],
                    size=a["size"],
                    sha256=a["sha256"],
                )
            )
        notice.versions.append(version)
        by_number[version.number] = version
    session.add(notice)
    session.flush()
    current = data.get("current_version")
    if current is not None:
        if current not in by_number:
            raise ArchiveError(f"Bekanntmachung {data['number']}: aktuelle Fassung fehlt.")
        notice.current_version = by_number[current]
    session.flush()
    return notice


def import_archive(
    session: Session,
    store: BlobStore,
    source: str | Path,
    *,
    now: datetime,
    actor: User | str = "cli",
    progress: Progress | None = None,
) -> ArchiveResult:
    """Verify the archive completely, then store its files and rows (flush only)."""
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"Die Datei ist kein lesbares ZIP-Archiv ({exc}).") from None
    with zf:
        manifest = _read_manifest(zf)
        files = manifest.get("files") or {}
        tenants = manifest.get("tenants") or []
        total = len(files) * 2 + sum(len(t.get("notices", [])) for t in tenants)
        done = 0

        def step() -> None:
            nonlocal done
            done += 1
            if progress:
                progress(done, total)

        try:
            _verify(zf, manifest, step)
        except (KeyError, TypeError, ValueError) as exc:
            raise ArchiveError(f"Die manifest.json ist unvollständig ({exc}).") from None
        result = ArchiveResult()
        people = _People(session, now)
        try:
            for t in tenants:
                tenant = _import_tenant(session, t, people, now)
                for n in t.get("notices", []):
                    notice = _import_notice(session, tenant, n, people)
                    result.notices += 1
                    result.versions += len(notice.versions)
                    step()
                result.tenants.append(tenant.slug)
                audit.record(
                    session,
                    now=now,
                    action="archive.import",
                    object_type="tenant",
                    object_id=tenant.id,
                    actor=actor,
                    tenant_id=tenant.id,
                    details={
                        "notices": len(t.get("notices", [])),
                        "exported_at": manifest.get("exported_at"),
                        "manifest_sha256": sha256_hex(canonical_json(t)),
                    },
                )
        except (KeyError, TypeError, ValueError) as exc:
            raise ArchiveError(f"Die manifest.json ist unvollständig ({exc}).") from None
        # Files last: they are verified already, and content-addressed storage makes a
        # rolled-back import harmless (unreferenced blobs).
        for sha, info in files.items():
            with zf.open(info["path"]) as fh:
                digest, _size, _head = store.put_stream(fh, max_bytes=1 << 40)
            if digest != sha:  # changed between verify and store: refuse
                raise ArchiveError(f"Die Datei {info['path']} hat sich beim Einlesen verändert.")
            result.files += 1
            step()
    return result
