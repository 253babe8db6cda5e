"""A small world of two tenants for the staff UI tests, and a fast login."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import Attachment, Category, Notice, PublicationChannel, Tenant, User
from server.services import notices as svc
from server.services import people
from server.services.files import BlobStore, store_upload

from ...factories import Factory

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


@pytest.fixture(autouse=True)
def fixed_clock(app, now):
    """Staff views read the time from AUSHANG_CLOCK: every request here happens at the
    same literal ``now`` as the factory data, whatever the wall clock says."""
    app.config["AUSHANG_CLOCK"] = lambda: now
    yield
    app.config.pop("AUSHANG_CLOCK", None)


@pytest.fixture(scope="session")
def _password_hash() -> str:
    return people.hash_password(Factory.PASSWORD)


@pytest.fixture()
def fast_hash(monkeypatch, _password_hash):
    """Argon2 costs ~0.1 s per account; the role matrix creates hundreds of accounts.
    Accounts made with the factory password reuse one real hash computed once."""
    real = people.hash_password

    def cached(password: str) -> str:
        return _password_hash if password == Factory.PASSWORD else real(password)

    monkeypatch.setattr(people, "hash_password", cached)


def login_as(client, user: User) -> None:
    """Log a user in through the session cookie and a server-side session row, as the
    login view does after a successful password check (the password flow itself is
    tested in test_auth)."""

    from server.web import sessions
    from server.web.clock import request_now

    # Long-lived, so tests that move the clock later on stay signed in.
    token = sessions.create(db.session, user, request_now(), timedelta(days=3650))
    db.session.commit()
    with client.session_transaction() as s:
        s["_user_id"] = user.get_id()
        s["_fresh"] = True
        s[sessions.SESSION_TOKEN_KEY] = token


EXPORT_JOB = "20261120T093000-abcdef12"


@dataclass
class World:
    a: Tenant
    b: Tenant
    cat: Category
    cat_b: Category
    board: PublicationChannel
    board_b: PublicationChannel
    users: dict[str, User]
    b_user: User
    released: Notice
    draft: Notice
    attachment: Attachment
    b_notices: list[Notice]
    b_attachment: Attachment
    alert_id: int = 0
    feedback_id: int = 0
    display_id: int = 0
    group_id: int = 0
    content_id: int = 0
    token_id: int = 0
    outage_id: int = 0
    display_sha: str = ""
    internet_outage_id: int = 0
    source_id: int = 0
    invitation_id: int = 0

    def url(self, path: str, tenant: Tenant | None = None) -> str:
        return f"/admin/{(tenant or self.a).slug}/{path}"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def blob_files(app) -> set[Path]:
    root = Path(app.config["AUSHANG_DATA_DIR"])
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def attach(session, app, notice: Notice, editor: User, now, data: bytes = PDF_BYTES) -> Attachment:
    blob = store_upload(
        BlobStore(app.config["AUSHANG_DATA_DIR"]),
        BytesIO(data),
        "plan.pdf",
        max_bytes=app.config["AUSHANG_UPLOAD_MAX_BYTES"],
    )
    return svc.add_attachment(session, notice, editor, blob, "plan.pdf", "Lageplan", now)


@pytest.fixture()
def world(app_ctx, session, factory, now, fast_hash) -> World:
    a = factory.tenant("musterstadt", name="Stadt Musterstadt")
    b = factory.tenant("anderstadt", ars="150830000000", name="Gemeinde Anderstadt")
    cat = factory.category(a, "Satzungen", min_days=7, binding=("internet",))
    cat_b = factory.category(b, "Geheime Kategorie B", min_days=7, binding=("internet",))
    users = {
        "editor": factory.user(a, "editor", email="editor@a.example", name="Erika Redlich"),
        "approver": factory.user(a, "approver", email="approver@a.example", name="Frank Frei"),
        "alerter": factory.user(a, "alerter", email="alerter@a.example", name="Wiebke Warn"),
        "admin": factory.user(a, "admin", email="admin@a.example", name="Anton Admin"),
        "system": factory.user(None, email="system@x.example", name="Sys", system_admin=True),
    }
    b_user = factory.user(
        b, "editor", "approver", "alerter", "admin", email="all@b.example", name="Bea B"
    )
    b_editor = factory.user(b, "editor", email="editor@b.example")
    b_approver = factory.user(b, "approver", email="approver@b.example")

    released = factory.released_notice(a, cat, users["editor"], users["approver"])
    draft = svc.create_notice(
        session, a, users["editor"], factory.notice_input(cat, title="Entwurf A"), now
    )
    attachment = attach(session, app_ctx, draft, users["editor"], now)
    b_notices = [
        factory.released_notice(
            b, cat_b, b_editor, b_approver, title=f"Geheimsache B {i}", file_number=f"B-{i}"
        )
        for i in range(3)
    ]
    b_draft = svc.create_notice(
        session, b, b_editor, factory.notice_input(cat_b, title="Geheimer Entwurf B"), now
    )
    b_attachment = attach(session, app_ctx, b_draft, b_editor, now, PDF_BYTES + b"b")
    from server.services import alerts as alert_svc

    alert = alert_svc.issue_manual(
        session,
        tenant=a,
        user=users["alerter"],
        data=alert_svc.ManualAlertInput(
            template_key="hochwasser",
            area_desc="Stadt Musterstadt",
            tenant_ids=[a.id],
            warnstufe=2,
            headline="Hochwasser an der Bode",
            description="Der Pegel steigt.",
            instruction="Meiden Sie das Ufer.",
            sender_name="Stadt Musterstadt",
        ),
        now=now,
        policy=alert_svc.policy_from_config(app_ctx.config),
    )
    from server.models import Feedback

    feedback = Feedback(tenant_id=a.id, created_at=now, message="Die Schrift ist zu klein.")
    session.add(feedback)
    session.commit()
    display_ids = _display_world(app_ctx, session, a, users["admin"], now)
    from server.models import InternetOutage

    internet_outage = InternetOutage(
        tenant_id=a.id, started_at=now, ended_at=now, detected_at=now, notices=""
    )
    session.add(internet_outage)
    from server.models import OParlSource

    # Port 9 (discard) refuses at once: a test or import of it fails fast, offline.
    source = OParlSource(
        tenant_id=a.id, url="http://127.0.0.1:9/oparl", category_id=cat.id,
        author_id=users["admin"].id, last_error="",
    )  # fmt: skip
    session.add(source)
    invitation = people.invite(
        session,
        tenant=a,
        email="eingeladen@a.example",
        name="Nina Neu",
        roles=["editor"],
        now=now,
        actor=users["admin"],
    )
    session.commit()
    # A finished archive export of tenant A, for the staff pages of the export.
    exports = Path(app_ctx.config["AUSHANG_DATA_DIR"]) / "exports" / a.slug
    exports.mkdir(parents=True, exist_ok=True)
    (exports / f"{EXPORT_JOB}.json").write_text(
        '{"state": "done", "done": 3, "total": 3, "started_at": "2026-11-20T09:30:00+00:00",'
        ' "size": 22, "notices": 0, "versions": 0, "files": 0}'
    )
    (exports / f"{EXPORT_JOB}.zip").write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    board = next(c for c in a.channels if c.kind == "board")
    board_b = next(c for c in b.channels if c.kind == "board")
    return World(
        a=a,
        b=b,
        cat=cat,
        cat_b=cat_b,
        board=board,
        board_b=board_b,
        users=users,
        b_user=b_user,
        released=released,
        draft=draft,
        attachment=attachment,
        b_notices=[*b_notices, b_draft],
        b_attachment=b_attachment,
        alert_id=alert.id,
        feedback_id=feedback.id,
        internet_outage_id=internet_outage.id,
        source_id=source.id,
        invitation_id=invitation.id,
        **display_ids,
    )


def _display_world(app, session, tenant, admin, now) -> dict:
    """A display of tenant A with a group, own content, a provisioning token and an
    outage, for the staff pages of the display area."""
    from server.models import ContentItem, Display, DisplayGroup, Outage
    from server.runtime import caches
    from server.services import alerts as alert_svc
    from server.services.displays import enrolment
    from server.services.displays.manifest import manifest_for
    from server.services.displays.snapshot import snapshot_of

    group = DisplayGroup(tenant_id=tenant.id, name="Rathaus", created_at=now)
    display = Display(tenant_id=tenant.id, name="Rathaus Foyer", created_at=now)
    display.groups.append(group)
    session.add_all([group, display])
    session.flush()
    enrolment._issue(display, now)
    content = ContentItem(
        tenant_id=tenant.id,
        display_id=display.id,
        kind="page",
        title="Öffnungszeiten",
        body="Mo–Fr 8–12 Uhr",
        valid_from=now,
        created_at=now,
        updated_at=now,
    )
    outage = Outage(display=display, started_at=now, detected_at=now, notices="2026-0001")
    session.add_all([content, outage])
    token, _ = enrolment.create_provisioning_token(session, tenant, admin, "Rollout", now)
    session.commit()
    manifest = manifest_for(
        session,
        snapshot_of(session, display),
        now,
        store=BlobStore(app.config["AUSHANG_DATA_DIR"]),
        base_url=app.config["AUSHANG_BASE_URL"],
        policy=alert_svc.policy_from_config(app.config),
        cache=caches(app),
    )
    return {
        "display_id": display.id,
        "group_id": group.id,
        "content_id": content.id,
        "token_id": token.id,
        "outage_id": outage.id,
        "display_sha": next(iter(manifest.items.blobs)),
    }
