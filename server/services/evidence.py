"""The Aushangvermerk (L16): the record of when a notice was posted where, by whom,
with which content.

``build_aushangvermerk`` is a pure function of a loaded notice, ``now`` and the
notice's public URL; the web layer renders it as JSON and PDF, the archive export
stores it as JSON.

Extension point for displays: the displays issue passes ``extra_channels``, a list
of callables ``provider(notice, now) -> list[dict]``. Each returned dict describes
one digital display that carried the notice and should have the keys ``kind``
("display"), ``name``, ``location``, ``posted_from``, ``posted_until`` (ISO strings
or None) and ``outages`` (a list of ``{"start": …, "end": …, "decision": …}``).
They are collected under ``"displays"``. The web layer takes the providers from
``app.extensions["aushang_evidence_channels"]``; the displays register
:func:`server.services.displays.evidence.display_channels` there (per display also the
configured window, proof-of-play counts, heartbeats, the legal-board flag and the
outages' decisions and notes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import object_session

from ..domain import posting
from ..models import (
    OUTAGE_DECISION_LABELS,
    InternetOutage,
    Notice,
    NoticeVersion,
    PublicationChannel,
    User,
)

SCHEMA = "aushang.aushangvermerk/1"

ChannelProvider = Callable[[Notice, datetime], list[dict[str, Any]]]


def binding_kinds(notice: Notice) -> list[str]:
    kinds: list[str] = []
    for channel in notice.category.binding_channels:
        if channel.kind not in kinds:
            kinds.append(channel.kind)
    return kinds


def effective(notice: Notice) -> tuple[dict[str, date | None], date | None]:
    """Effective date per binding channel kind and overall (L12). A withdrawn notice
    makes no such claim: it is shown as withdrawn ("gilt als aufgehoben"), with no
    "bewirkt am". A recorded extension moves the board's date to the new end."""
    if notice.status == "withdrawn":
        return {kind: None for kind in binding_kinds(notice)}, None
    return posting.effective_dates(
        binding_kinds(notice),
        provided_on=notice.provided_on,
        posting_end=notice.effective_posting_end,
    )


def posted_at(notice: Notice) -> datetime | None:
    """When the notice actually went up: its release, or the planned start if later
    (the Bereitstellung). Never the planned start alone: a notice released at 22:31 was
    not posted at midnight before."""
    return notice.provided_at


def _iso(value: datetime | None, tz: str) -> str | None:
    return posting.to_local(value, tz).isoformat() if value is not None else None


def _person(user: User | None) -> dict[str, str] | None:
    if user is None:
        return None
    return {"name": user.name, "email": user.email}


def _version_record(version: NoticeVersion, tz: str) -> dict[str, Any]:
    return {
        "number": version.number,
        "title": version.title,
        "file_number": version.file_number,
        "content_hash": version.content_hash,
        "pdf_sha256": version.pdf_sha256,
        "corrects_version": version.corrects_version.number if version.corrects_version else None,
        "correction_note": version.correction_note or None,
        "created_at": _iso(version.created_at, tz),
        "created_by": _person(version.created_by),
        "submitted_at": _iso(version.submitted_at, tz),
        "submitted_by": _person(version.submitted_by),
        "released_at": _iso(version.released_at, tz),
        "released_by": _person(version.released_by),
        "release_comment": version.release_comment or None,
        "attachments": [
            {"filename": a.filename, "media_type": a.media_type, "size": a.size, "sha256": a.sha256}
            for a in version.attachments
        ],
    }


def _end_of_posting(notice: Notice) -> datetime | None:
    """When the posting ends or ended: the window's end (moved by an extension), or an
    earlier withdrawal."""
    ends = [t for t in (notice.ends_at, notice.withdrawn_at) if t is not None]
    return min(ends) if ends else None


def internet_outages(notice: Notice, until: datetime) -> list[dict[str, Any]]:
    """Gaps in the server's own availability while the notice was online (build 2)."""
    session = object_session(notice)
    start = notice.provided_at
    if session is None or start is None or start >= until:
        return []
    rows = session.scalars(
        select(InternetOutage)
        .where(
            InternetOutage.tenant_id == notice.tenant_id,
            InternetOutage.started_at < until,
            InternetOutage.ended_at > start,
        )
        .order_by(InternetOutage.started_at)
    ).all()
    tz = notice.tenant.timezone
    return [
        {
            "id": o.id,
            "start": _iso(o.started_at, tz),
            "end": _iso(o.ended_at, tz),
            "detected_at": _iso(o.detected_at, tz),
            "minutes": round((o.ended_at - o.started_at).total_seconds() / 60),
            "decision": o.decision,
            "decision_label": OUTAGE_DECISION_LABELS.get(o.decision or "", "Nicht entschieden"),
            "note": o.note or None,
            "decided_by": _person(o.decided_by),
            "decided_at": _iso(o.decided_at, tz),
        }
        for o in rows
    ]


def _channel_record(
    notice: Notice, channel: PublicationChannel, binding: bool, now: datetime
) -> dict[str, Any]:
    tz = notice.tenant.timezone
    end = _end_of_posting(notice)
    record: dict[str, Any] = {
        "kind": channel.kind,
        "kind_label": channel.kind_label,
        "name": channel.name,
        "location": channel.location,
        "binding": binding,
        "posted_from": None,
        "posted_until": None,
        "completed": False,
        "outages": [],
    }
    if channel.kind not in ("internet", "board"):
        # Amtsblatt and newspaper: the issue date is not recorded by this system.
        record["note"] = "Erscheinungstag wird außerhalb von Aushang nachgewiesen."
        return record
    start = posted_at(notice)
    if (
        start is None
        or start > now
        or (notice.withdrawn_at is not None and notice.withdrawn_at <= start)
    ):
        record["note"] = "Nicht ausgehängt." if notice.withdrawn_at else "Noch nicht ausgehängt."
        return record
    record["posted_from"] = _iso(start, tz)
    record["posted_until"] = _iso(end, tz)
    record["completed"] = end is not None and end <= now
    if not record["completed"]:
        record["note"] = "Aushang läuft; das Ende ist geplant."
    if channel.kind == "internet":
        record["outages"] = internet_outages(notice, min(end, now) if end else now)
    return record


def _notice_record(notice: Notice, now: datetime, public_url: str) -> dict[str, Any]:
    current = notice.current_version
    return {
        "number": notice.number,
        "title": current.title if current else None,
        "category": notice.category.name,
        "file_number": current.file_number if current else None,
        "issuing_office": current.issuing_office if current else None,
        "url": public_url,
        "status": notice.status,
        "phase": posting.phase(notice.status, notice.starts_at, notice.ends_at, now).value,
        "contains_personal_data": notice.contains_personal_data,
        "current_version": current.number if current else None,
        "content_hash": current.content_hash if current else None,
    }


def _window_record(notice: Notice, tz: str) -> dict[str, Any]:
    return {
        "start": notice.posting_start.isoformat() if notice.posting_start else None,
        "end": notice.posting_end.isoformat() if notice.posting_end else None,
        "extended_end": (
            notice.effective_posting_end.isoformat()
            if notice.extensions and notice.effective_posting_end
            else None
        ),
        "starts_at": _iso(notice.starts_at, tz),
        "ends_at": _iso(notice.ends_at, tz),
        "posted_at": _iso(posted_at(notice), tz),
    }


def extension_records(notice: Notice, tz: str) -> list[dict[str, Any]]:
    return [
        {
            "previous_end": e.previous_end.isoformat(),
            "new_end": e.new_end.isoformat(),
            "reason": e.reason,
            "outage": e.outage_ref or None,
            "by": _person(e.created_by),
            "at": _iso(e.created_at, tz),
        }
        for e in notice.extensions
    ]


def _withdrawal_record(notice: Notice, tz: str) -> dict[str, Any] | None:
    if notice.withdrawn_at is None:
        return None
    return {
        "kind": notice.withdrawal_kind,
        "at": _iso(notice.withdrawn_at, tz),
        "by": _person(notice.withdrawn_by),
        "reason": notice.withdrawal_reason,
    }


def _hint_record(notice: Notice) -> dict[str, Any]:
    if not notice.hint_required:
        return {"required": False}
    return {
        "required": True,
        "posted_on": notice.hint_posted_on.isoformat() if notice.hint_posted_on else None,
        "posted_by": _person(notice.hint_posted_by),
        "note": notice.hint_note or None,
    }


def build_aushangvermerk(
    notice: Notice,
    now: datetime,
    *,
    public_url: str,
    extra_channels: Iterable[ChannelProvider] = (),
) -> dict[str, Any]:
    """The Aushangvermerk of ``notice`` as of ``now``: a JSON-serialisable dict.

    Per channel of the Hauptsatzung: Internet from the Bereitstellung until the end of
    the window (or the withdrawal), with the server's own outages; each notice board
    from the actual posting (release, or the planned start if later); Amtsblatt and
    newspaper only when binding, without times. Plus recorded extensions, the
    responsible people, every released version with its content hash, and the
    effective date per binding channel (none for a withdrawn notice).
    """
    tenant = notice.tenant
    tz = tenant.timezone
    binding_ids = {c.id for c in notice.category.binding_channels}
    channels = [
        _channel_record(notice, c, c.id in binding_ids, now)
        for c in tenant.channels
        if c.kind in ("internet", "board") or c.id in binding_ids
    ]
    displays: list[dict[str, Any]] = []
    for provider in extra_channels:
        displays.extend(provider(notice, now))
    per_kind, overall = effective(notice)
    return {
        "schema": SCHEMA,
        "generated_at": _iso(now, tz),
        "tenant": {"name": tenant.name, "slug": tenant.slug, "ars": tenant.ars},
        "notice": _notice_record(notice, now, public_url),
        "posting_window": _window_record(notice, tz),
        "extensions": extension_records(notice, tz),
        "provided_at": _iso(notice.provided_at, tz),
        "provided_on": notice.provided_on.isoformat() if notice.provided_on else None,
        "withdrawal": _withdrawal_record(notice, tz),
        "channels": channels,
        "displays": displays,
        "effective": {
            "hauptsatzung": tenant.hauptsatzung_ref or None,
            "withdrawn": notice.status == "withdrawn",
            "per_channel": {k: (v.isoformat() if v else None) for k, v in per_kind.items()},
            "overall": overall.isoformat() if overall else None,
        },
        "hint": _hint_record(notice),
        "responsible": {
            "created_by": _person(notice.created_by),
            "withdrawn_by": _person(notice.withdrawn_by),
        },
        "versions": [_version_record(v, tz) for v in notice.released_versions],
    }
