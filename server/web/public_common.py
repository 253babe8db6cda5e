"""The public blueprint and what its page modules share (public.py, public_evidence.py,
public_feedback.py), apart so none of them imports another that imports it back."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g
from sqlalchemy import select

from ..extensions import db
from ..models import Notice, Tenant
from ..security import load_tenant
from ..services import listing

bp = Blueprint("public", __name__)


def _tenant(slug: str) -> Tenant:
    tenant = load_tenant(slug)
    g.tenant = tenant
    return tenant


def _load_notice(tenant: Tenant, number: str) -> Notice:
    notice = db.session.scalar(
        select(Notice).where(Notice.tenant_id == tenant.id, Notice.number == number)
    )
    if notice is None:
        abort(404, "Diese Bekanntmachung gibt es nicht.")
    return notice


def public_url(tenant: Tenant, number: str, version: int | None = None) -> str:
    base = current_app.config.get("AUSHANG_BASE_URL", "").rstrip("/")
    return base + listing.notice_path(tenant.slug, number, version)
