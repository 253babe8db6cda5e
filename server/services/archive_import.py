"""Archive import (L18): verify everything, then write (see :mod:`server.services.archive`)."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain.integrity import canonical_json, sha256_hex
from ..models import (
    Attachment,
    Category,
    Notice,
    NoticeVersion,
    PublicationChannel,
    Tenant,
    User,
)
from . import audit
from .archive_format import (
    FORMAT,
    FORMAT_VERSION,
    ArchiveError,
    ArchiveResult,
    Progress,
    _d,
    _dt,
    content_hash_of,
)
from .files import BlobStore
from .people import validate_tenant_fields


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
