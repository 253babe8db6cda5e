"""Fixtures of the public-site, PDF and archive tests: a controllable clock and a
small tenant built through the real services. Import the fixtures where needed."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

import pytest

from server.models import Attachment, Category, Notice, Tenant, User
from server.services import notices as svc
from server.services.files import BlobStore, store_upload

from ..factories import Factory


class Clock:
    """``app.config["AUSHANG_CLOCK"]``: the views' ``now``; tests move it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        self.now = now


@pytest.fixture()
def clock(app_ctx, now):
    c = Clock(now)
    app_ctx.config["AUSHANG_CLOCK"] = c
    yield c
    app_ctx.config.pop("AUSHANG_CLOCK", None)


@dataclass
class World:
    tenant: Tenant
    category: Category
    editor: User
    approver: User
    factory: Factory
    store: BlobStore

    def attach(
        self, notice: Notice, data: bytes, filename: str, at: datetime, title: str = ""
    ) -> Attachment:
        blob = store_upload(self.store, io.BytesIO(data), filename, max_bytes=10**6)
        return svc.add_attachment(
            self.factory.session, notice, self.editor, blob, filename, title or filename, at
        )

    def notice(
        self,
        *,
        at: datetime | None = None,
        files: list[tuple[str, bytes]] = (),
        release: bool = True,
        **kw,
    ) -> Notice:
        """Create (attach, submit, release) a notice through the real services."""
        f = self.factory
        at = at or f.now
        start = kw.pop("start", None)
        end = kw.pop("end", None)
        data = f.notice_input(self.category, today=at.date(), **kw)
        if start:
            data.posting_start = start
        if end:
            data.posting_end = end
        notice = svc.create_notice(f.session, self.tenant, self.editor, data, at)
        for name, content in files:
            self.attach(notice, content, name, at)
        if release:
            svc.submit(f.session, notice, self.editor, at)
            svc.release(f.session, notice, self.approver, "ok", at)
        return notice


def make_world(factory: Factory, app, slug: str = "musterstadt", ars: str = "150855555555"):
    tenant = factory.tenant(slug, ars=ars, name=f"Stadt {slug.title()}")
    category = factory.category(tenant, "Satzungen", min_days=7, binding=("internet", "board"))
    editor = factory.user(tenant, "editor")
    approver = factory.user(tenant, "approver")
    return World(
        tenant, category, editor, approver, factory, BlobStore(app.config["AUSHANG_DATA_DIR"])
    )


@pytest.fixture()
def public_world(factory, app_ctx) -> World:
    return make_world(factory, app_ctx)


PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
