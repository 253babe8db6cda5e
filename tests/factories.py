"""Test data builders that go through the real services."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from server.models import Category, Notice, PublicationChannel, Tenant, User
from server.services import notices as svc
from server.services import people


class Factory:
    PASSWORD = "Richtig-Geheim-42"

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now
        self._n = 0

    def tenant(self, slug: str = "musterstadt", ars: str = "150855555555", **kw) -> Tenant:
        tenant = people.create_tenant(
            self.session,
            name=kw.pop("name", slug.title()),
            slug=slug,
            ars=ars,
            now=self.now,
            actor="test",
        )
        internet = PublicationChannel(
            kind="internet", name="Internet", location="https://x.example"
        )
        board = PublicationChannel(kind="board", name="Tafel am Rathaus", location="Markt 1")
        tenant.channels.extend([internet, board])
        self.session.flush()
        for key, value in kw.items():
            setattr(tenant, key, value)
        return tenant

    def category(
        self, tenant: Tenant, name: str = "Satzungen", min_days: int = 7, binding=("internet",)
    ) -> Category:
        self._n += 1
        cat = Category(name=name, slug=f"kat-{self._n}", min_days=min_days)
        cat.binding_channels = [c for c in tenant.channels if c.kind in binding]
        tenant.categories.append(cat)
        self.session.flush()
        return cat

    def user(self, tenant: Tenant | None, *roles: str, email: str | None = None, **kw) -> User:
        self._n += 1
        return people.create_user(
            self.session,
            email=email or f"user{self._n}@test.example",
            name=kw.pop("name", f"Person {self._n}"),
            password=self.PASSWORD,
            now=self.now,
            actor="test",
            tenant=tenant,
            roles=list(roles),
            system_admin=kw.pop("system_admin", False),
        )

    def notice_input(self, category: Category, **kw) -> svc.NoticeInput:
        today = kw.pop("today", self.now.date())
        data = svc.NoticeInput(
            title="Satzung über die Benutzung der Friedhöfe",
            category_id=category.id,
            body_md="Der Stadtrat hat **folgende** Satzung beschlossen.",
            issuing_office="Stadt Musterstadt – Ordnungsamt",
            file_number="32-0001/2026",
            signed_on=today - timedelta(days=1),
            signatory_name="Dr. Maria Muster",
            signatory_function="Bürgermeisterin",
            posting_start=today,
            posting_end=today + timedelta(days=category.min_days + 5),
        )
        for key, value in kw.items():
            setattr(data, key, value)
        return data

    def released_notice(
        self,
        tenant: Tenant,
        category: Category,
        editor: User,
        approver: User,
        *,
        at: datetime | None = None,
        start: date | None = None,
        end: date | None = None,
        **kw,
    ) -> Notice:
        at = at or self.now
        data = self.notice_input(category, **kw)
        if start:
            data.posting_start = start
        if end:
            data.posting_end = end
        notice = svc.create_notice(self.session, tenant, editor, data, at)
        svc.submit(self.session, notice, editor, at)
        svc.release(self.session, notice, approver, "ok", at)
        return notice


def issue_template_alert(
    session: Session,
    tenant: Tenant,
    user: User,
    now: datetime,
    *,
    sender_name: str,
    policy=None,
    headline: str | None = None,
    test_mode: bool = False,
):
    """A manual Warnstufe-1 warning from the "hochwasser" template for the whole Kommune."""
    from server.services import alerts as alert_svc

    texts = alert_svc.template("hochwasser").texts(tenant.name)
    return alert_svc.issue_manual(
        session,
        tenant=tenant,
        user=user,
        now=now,
        policy=policy or alert_svc.AlertPolicy(),
        data=alert_svc.ManualAlertInput(
            template_key="hochwasser",
            area_desc=tenant.name,
            tenant_ids=[tenant.id],
            warnstufe=1,
            headline=headline or texts["headline"],
            description=texts["description"],
            instruction=texts["instruction"],
            sender_name=sender_name,
            test_mode=test_mode,
        ),
    )
