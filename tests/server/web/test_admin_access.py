"""Role × tenant matrix over every staff route of the admin blueprint, and checks that
no page or download of one tenant shows another tenant's data."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from server import create_app
from server.config import load_settings
from server.models import AuditEntry

from .conftest import EXPORT_JOB, World, count, login_as

ROLES = ("editor", "approver", "alerter", "admin")
READERS = {"editor", "approver", "admin"}
EDITORS = {"editor", "admin"}
APPROVERS = {"approver", "admin"}
ADMINS = {"admin"}
ANY = set(ROLES)

# Which tenant roles may use each route (a tenant admin counts as every role).
EXPECTED = {
    "admin.dashboard": ANY,
    "admin.notices": READERS,
    "admin.notice_detail": READERS,
    "admin.notice_version": READERS,
    "admin.notice_attachment": READERS,
    # Drafts are notice business: no preview for an alerter (issue 11).
    "admin.notice_preview": READERS,
    "admin.notice_preview_file": READERS,
    "admin.notice_new": EDITORS,
    "admin.notice_edit": EDITORS,
    "admin.notice_attachment_upload": EDITORS,
    "admin.notice_attachment_remove": EDITORS,
    "admin.notice_submit": EDITORS,
    "admin.notice_recall": EDITORS,
    "admin.notice_correction": EDITORS,
    "admin.notice_delete": EDITORS,
    "admin.notice_send_back": APPROVERS,
    "admin.notice_release": APPROVERS,
    "admin.notice_withdraw": APPROVERS,
    "admin.notice_hint": READERS,
    "admin.users": ADMINS,
    "admin.user_new": ADMINS,
    "admin.user_edit": ADMINS,
    "admin.user_roles": ADMINS,
    "admin.user_active": ADMINS,
    "admin.user_password": ADMINS,
    "admin.categories": ADMINS,
    "admin.category_edit": ADMINS,
    "admin.channels": ADMINS,
    "admin.channel_edit": ADMINS,
    "admin.channel_delete": ADMINS,
    "admin.tenant_settings": ADMINS,
    "admin.audit_log": ADMINS,
}


def _tenant_routes() -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) for every tenant-scoped admin route of a fresh app."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {"TESTING": True},
            settings=load_settings(
                {
                    "AUSHANG_INSTANCE_PATH": tmp,
                    "DATABASE_URL": f"sqlite:///{tmp}/routes.db",
                    "SECRET_KEY": "x",
                }
            ),
        )
        out = []
        for rule in app.url_map.iter_rules():
            if rule.endpoint.startswith("admin.") and "<tenant>" in rule.rule:
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    out.append((rule.endpoint, method, rule.rule))
        return sorted(out)


ROUTES = _tenant_routes()


def _expected_roles(app, endpoint: str) -> set[str]:
    if endpoint in EXPECTED:
        return EXPECTED[endpoint]
    # Routes of other areas: take the guard's declared roles, so a route that is not
    # guarded at all fails here instead of being skipped.
    view = app.view_functions[endpoint]
    roles = getattr(view, "required_roles", None)
    assert roles is not None, f"{endpoint} is not guarded by tenant_staff_required"
    return (set(roles) | {"admin"}) if roles else ANY


def _fill(rule: str, w: World) -> str:
    values = {
        "tenant": w.a.slug,
        "number": w.draft.number,
        "attachment_id": str(w.attachment.id),
        "version_number": "1",
        "user_id": str(w.users["editor"].id),
        "category_id": str(w.cat.id),
        "channel_id": str(w.board.id),
        "alert_id": str(w.alert_id),
        "feedback_id": str(w.feedback_id),
        "display_id": str(w.display_id),
        "group_id": str(w.group_id),
        "content_id": str(w.content_id),
        "token_id": str(w.token_id),
        "outage_id": str(w.outage_id),
        "internet_outage_id": str(w.internet_outage_id),
        "job": EXPORT_JOB,
        "source_id": str(w.source_id),
        "digest": w.display_sha,
        "pairing_id": "999999",  # no waiting device: the route says so (303)
        "invitation_id": str(w.invitation_id),
        "media_id": "999999",  # no such picture: the route says so (303)
    }
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: values[m.group(1)], rule)


def _draft_token(app, w: World) -> str:
    """A signed warning draft of tenant A, as the preview's kiosk frame gets it."""
    from server.services import alerts as svc
    from server.web.admin.alerts import draft_token

    texts = svc.template("hochwasser").texts(w.a.name)
    raw = {"template_key": "hochwasser", "area_desc": w.a.name, "warnstufe": "1"}
    raw.update(texts, sender_name=w.a.name, tenant_ids=[str(w.a.id)])
    with app.test_request_context():
        return draft_token(w.a, raw)


def _draft_qr_digest(app, w: World) -> str:
    from server.services.displays.warnings import _qr
    from server.web.clock import blob_store

    with app.test_request_context():
        public = f"{app.config['AUSHANG_BASE_URL'].rstrip('/')}/{w.a.slug}/warnungen"
        return _qr(blob_store(), public)["image"]["sha256"]


def _set_crest(app, w: World) -> None:
    import io
    from datetime import UTC, datetime

    from PIL import Image

    from server.extensions import db
    from server.services.displays import board
    from server.web.clock import blob_store

    png = io.BytesIO()
    Image.new("RGB", (40, 48), (200, 0, 0)).save(png, "PNG")
    png.seek(0)
    with app.test_request_context():
        now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        board.set_crest(db.session, blob_store(), w.a, w.users["admin"], png, "w.png", now)
        db.session.commit()


def test_every_tenant_route_is_classified(app):
    unknown = [e for e, _, _ in ROUTES if e not in EXPECTED]
    for endpoint in unknown:
        _expected_roles(app, endpoint)  # must at least be guarded


@pytest.mark.parametrize(
    ("endpoint", "method", "rule"), ROUTES, ids=[f"{m} {e}" for e, m, _ in ROUTES]
)
def test_role_tenant_matrix(app, client, world, endpoint, method, rule):
    w = world
    url = _fill(rule.replace("<draft>", _draft_token(app, w)), w)
    if endpoint == "admin.alert_preview_asset":  # the draft's own QR code, as its state names it
        url = url.rsplit("/", 1)[0] + "/" + _draft_qr_digest(app, w)
    if endpoint == "admin.display_board_crest":  # there is a crest to look at
        _set_crest(app, w)
    allowed = _expected_roles(app, endpoint)

    def call():
        return client.get(url) if method == "GET" else client.post(url, data={})

    audit_before = count(AuditEntry)

    # Anonymous: to the login page, nothing else.
    r = call()
    assert r.status_code == 302 and "/login" in r.headers["Location"], (endpoint, r.status_code)

    # Another tenant's user, even with every role there: the tenant does not exist for them.
    login_as(client, w.b_user)
    r = call()
    assert r.status_code == 404, (endpoint, "foreign", r.status_code)

    # Roles of this tenant that may not use the route.
    for role in ROLES:
        if role in allowed:
            continue
        login_as(client, w.users[role])
        r = call()
        assert r.status_code == 403, (endpoint, role, r.status_code)

    # Refused requests change nothing (the login of the session is not audited here).
    assert count(AuditEntry) == audit_before

    # Roles that may: a page for GET; for POST (one role, since POSTs change state)
    # anything but a refusal or a crash — empty forms give 4xx messages or redirects.
    permitted = [r for r in ROLES if r in allowed]
    assert permitted, endpoint
    for role in permitted if method == "GET" else permitted[:1]:
        login_as(client, w.users[role])
        r = call()
        if method == "GET":
            assert r.status_code == 200, (endpoint, role, r.status_code)
        else:
            assert r.status_code not in (403, 404) and r.status_code < 500, (
                endpoint,
                role,
                r.status_code,
            )

    # A system admin may use every tenant's staff pages.
    if method == "GET":
        login_as(client, w.users["system"])
        assert call().status_code == 200, endpoint


def test_another_tenants_objects_are_not_found_under_own_tenant(client, world):
    w = world
    login_as(client, w.users["admin"])
    b_only = w.b_notices[3].number  # B has four notices, A two
    assert b_only not in (w.released.number, w.draft.number)
    urls = [
        w.url(f"bekanntmachungen/{b_only}"),
        w.url(f"bekanntmachungen/{b_only}/bearbeiten"),
        w.url(f"bekanntmachungen/{b_only}/fassungen/1"),
        w.url(f"bekanntmachungen/{w.draft.number}/anlagen/{w.b_attachment.id}"),
        w.url(f"bekanntmachungen/{w.released.number}/fassungen/7"),
        w.url(f"benutzer/{w.b_user.id}"),
        w.url(f"kategorien/{w.cat_b.id}"),
        w.url(f"bekanntmachungsformen/{w.board_b.id}"),
    ]
    for url in urls:
        r = client.get(url)
        assert r.status_code == 404, url
        assert "Geheim" not in r.get_data(as_text=True)
    posts = [
        w.url(f"bekanntmachungen/{b_only}/vorlegen"),
        w.url(f"bekanntmachungen/{b_only}/loeschen"),
        w.url(f"bekanntmachungen/{w.draft.number}/anlagen/{w.b_attachment.id}/entfernen"),
        w.url(f"benutzer/{w.b_user.id}/passwort"),
        w.url(f"kategorien/{w.cat_b.id}"),
        w.url(f"bekanntmachungsformen/{w.board_b.id}/loeschen"),
    ]
    before = count(AuditEntry)
    for url in posts:
        assert client.post(url, data={"password": "Ganz-Neu-2026!"}).status_code == 404, url
    assert count(AuditEntry) == before


def test_pages_never_show_another_tenants_data(client, world, session):
    w = world
    login_as(client, w.users["admin"])
    pages = [
        "",
        "bekanntmachungen/",
        "bekanntmachungen/?q=sache",
        f"bekanntmachungen/?kategorie={w.cat_b.id}",
        f"bekanntmachungen/{w.released.number}",
        f"bekanntmachungen/{w.draft.number}",
        "bekanntmachungen/neu",
        "benutzer/",
        "kategorien/",
        "bekanntmachungsformen/",
        "einstellungen",
        "protokoll",
    ]
    b_audit = session.scalars(select(AuditEntry).where(AuditEntry.tenant_id == w.b.id)).all()
    assert b_audit
    for page in pages:
        body = client.get(w.url(page)).get_data(as_text=True)
        for secret in ("Geheim", "all@b.example", "editor@b.example", "Anderstadt", "B-0"):
            assert secret not in body, (page, secret)
    # The staff download serves A's attachment with its exact bytes.
    r = client.get(w.url(f"bekanntmachungen/{w.draft.number}/anlagen/{w.attachment.id}"))
    assert r.status_code == 200 and r.data.startswith(b"%PDF-")
    assert "attachment" in r.headers["Content-Disposition"]


def test_assigning_another_tenants_category_is_refused(client, world):
    w = world
    login_as(client, w.users["editor"])
    before = count(AuditEntry)
    r = client.post(
        w.url("bekanntmachungen/neu"), data={"title": "Fremd", "category": str(w.cat_b.id)}
    )
    assert r.status_code == 422
    assert "Bitte eine Kategorie dieser Kommune wählen." in r.get_data(as_text=True)
    assert count(AuditEntry) == before


def test_navigation_follows_roles(client, world):
    w = world
    detail_link = f'href="/admin/musterstadt/bekanntmachungen/{w.released.number}"'
    login_as(client, w.users["alerter"])
    body = client.get(w.url("")).get_data(as_text=True)
    assert "Übersicht" in body and "Bekanntmachungen</a>" not in body and "Benutzer" not in body
    assert w.released.current_version.title in body and detail_link not in body
    login_as(client, w.users["editor"])
    body = client.get(w.url("")).get_data(as_text=True)
    assert "Bekanntmachungen</a>" in body and "Protokoll" not in body
    assert detail_link in body
    login_as(client, w.users["admin"])
    body = client.get(w.url("")).get_data(as_text=True)
    for label in ("Benutzer", "Kategorien", "Bekanntmachungsformen", "Einstellungen", "Protokoll"):
        assert label in body
