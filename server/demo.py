"""Demo data for ``make run``: the fictional Stadt Musterstadt in Sachsen-Anhalt.

Everything goes through the real services, so the demo exercises the same rules as
real use (four-eyes release, minimum periods, hashes, audit trail).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from .domain.posting import local_date
from .models import Category, Notice, PublicationChannel, Tenant, User
from .services import notices as svc
from .services import people

DEMO_PASSWORD = "Aushang-Demo-2026"
DEMO_USERS = [
    ("redaktion@musterstadt.example", "Erika Redlich", ["editor"]),
    ("freigabe@musterstadt.example", "Frank Freigabe", ["approver"]),
    ("warnung@musterstadt.example", "Wiebke Warnke", ["alerter"]),
    ("admin@musterstadt.example", "Anton Admin", ["admin"]),
    ("system@aushang.example", "Sabine System", []),
]

CATEGORIES = [
    # name, slug, min_days, binding channel kinds
    ("Satzungen und Verordnungen", "satzungen", 7, ["internet"]),
    ("Allgemeinverfügungen", "allgemeinverfuegungen", 14, ["board"]),
    ("Sitzungen", "sitzungen", 5, ["board"]),
    ("Bauleitplanung", "bauleitplanung", 30, ["internet", "board"]),
    ("Öffentliche Zustellungen", "zustellungen", 14, ["board"]),
    ("Straßen und Verkehr", "verkehr", 7, ["board"]),
    ("Fundsachen", "fundsachen", 7, ["board"]),
]


def _notice(
    session: Session,
    tenant: Tenant,
    cats: dict[str, Category],
    users: dict[str, User],
    *,
    cat: str,
    title: str,
    body: str,
    az: str,
    start: date,
    end: date,
    created: datetime,
    state: str,
    office: str = "Stadt Musterstadt – Ordnungsamt",
    personal: bool = False,
) -> Notice:
    data = svc.NoticeInput(
        title=title,
        category_id=cats[cat].id,
        summary=body.split("\n\n")[0][:280],
        body_md=body,
        issuing_office=office,
        file_number=az,
        signed_on=local_date(created, tenant.timezone),
        signatory_name="Dr. Maria Muster",
        signatory_function="Bürgermeisterin",
        posting_start=start,
        posting_end=end,
        contains_personal_data=personal,
    )
    editor, approver = users["editor"], users["approver"]
    notice = svc.create_notice(session, tenant, editor, data, created)
    if state == "draft":
        return notice
    svc.submit(session, notice, editor, created + timedelta(minutes=20))
    if state == "submitted":
        return notice
    svc.release(session, notice, approver, "Geprüft und freigegeben.", created + timedelta(hours=2))
    if state == "withdrawn":
        svc.withdraw(
            session,
            notice,
            approver,
            "withdrawn",
            "Die Veranstaltung wurde vom Veranstalter abgesagt.",
            created + timedelta(days=2),
        )
    if state == "corrected":
        at = created + timedelta(days=1)
        svc.start_correction(
            session, notice, editor, "Schreibfehler in der Uhrzeit berichtigt.", at
        )
        assert notice.working_version is not None
        fixed = svc.input_from_version(notice, notice.working_version)
        fixed.body_md = body.replace("18:00 Uhr", "18:30 Uhr")
        fixed.correction_note = "Beginn korrigiert: 18:30 Uhr statt 18:00 Uhr."
        svc.update_draft(session, notice, editor, fixed, at + timedelta(minutes=5))
        svc.submit(session, notice, editor, at + timedelta(minutes=10))
        svc.release(session, notice, approver, "Berichtigung freigegeben.", at + timedelta(hours=1))
    return notice


def load_demo(session: Session, now: datetime) -> Tenant:
    """Create the demo tenant, its people, categories and a dozen notices."""
    tenant = people.create_tenant(
        session,
        name="Stadt Musterstadt",
        slug="musterstadt",
        ars="150855555555",
        now=now,
        actor="demo",
    )
    tenant.website_url = "https://www.musterstadt.example"
    tenant.contact_email = "buergerbuero@musterstadt.example"
    tenant.contact_phone = "03941 12345-0"
    tenant.address = "Stadt Musterstadt\nMarkt 1\n38820 Musterstadt"
    tenant.hauptsatzung_ref = "§ 16 Hauptsatzung der Stadt Musterstadt vom 12.03.2024"
    internet = PublicationChannel(
        kind="internet",
        name="Internetseite der Stadt",
        location="https://www.musterstadt.example/bekanntmachungen",
    )
    board = PublicationChannel(
        kind="board",
        name="Bekanntmachungstafel am Rathaus (auch digital)",
        location="Markt 1, Eingang Bürgerbüro",
    )
    amtsblatt = PublicationChannel(kind="amtsblatt", name="Amtsblatt Musterstadt")
    tenant.channels.extend([internet, board, amtsblatt])
    session.flush()
    tenant.hint_channel_id = board.id
    tenant.accessibility_statement = (
        "Die Stadt Musterstadt ist bemüht, ihre Bekanntmachungen im Einklang mit dem "
        "Behindertengleichstellungsgesetz Sachsen-Anhalt (BGG LSA) barrierefrei zugänglich "
        "zu machen."
    )
    by_kind = {"internet": internet, "board": board, "amtsblatt": amtsblatt}
    cats: dict[str, Category] = {}
    for name, slug, min_days, kinds in CATEGORIES:
        c = Category(name=name, slug=slug, min_days=min_days)
        c.binding_channels = [by_kind[k] for k in kinds]
        tenant.categories.append(c)
        cats[slug] = c
    session.flush()

    users: dict[str, User] = {}
    for email, name, roles in DEMO_USERS:
        user = people.create_user(
            session,
            email=email,
            name=name,
            password=DEMO_PASSWORD,
            now=now,
            actor="demo",
            tenant=tenant if roles else None,
            roles=roles,
            system_admin=not roles,
        )
        if roles:
            users[roles[0]] = user

    today = local_date(now, tenant.timezone)
    d = timedelta
    ago = lambda days: now - d(days=days)  # noqa: E731
    items = [
        dict(
            cat="satzungen",
            state="released",
            created=ago(3),
            start=today - d(days=2),
            end=today + d(days=12),
            az="32-0012/2026",
            title="Satzung über die Erhebung von Gebühren für die Benutzung der Friedhöfe",
            body="Aufgrund der §§ 5, 8 und 45 des Kommunalverfassungsgesetzes des Landes "
            "Sachsen-Anhalt (KVG LSA) hat der Stadtrat der Stadt Musterstadt in seiner Sitzung "
            "am 4. November 2026 folgende Satzung beschlossen:\n\n## § 1 Gebührenpflicht\n\n"
            "Für die Benutzung der Friedhöfe der Stadt Musterstadt werden Gebühren nach dieser "
            "Satzung erhoben.\n\n## § 2 Gebührenschuldner\n\nGebührenschuldner ist, wer die "
            "Benutzung beantragt oder in wessen Auftrag sie erfolgt.\n\n## § 3 Inkrafttreten\n\n"
            "Diese Satzung tritt am Tag nach ihrer Bekanntmachung in Kraft.",
        ),
        dict(
            cat="allgemeinverfuegungen",
            state="released",
            created=ago(5),
            start=today - d(days=4),
            end=today + d(days=20),
            az="32-1045/2026",
            title="Allgemeinverfügung zum Verbot des Abbrennens von Feuerwerk in der Altstadt",
            body="Die Stadt Musterstadt erlässt als örtliche Ordnungsbehörde folgende "
            "Allgemeinverfügung:\n\n1. Im Bereich der historischen Altstadt ist das Abbrennen "
            "pyrotechnischer Gegenstände der Kategorie F2 vom 31.12.2026, 18:00 Uhr, bis "
            "01.01.2027, 06:00 Uhr, untersagt.\n2. Die sofortige Vollziehung wird angeordnet.\n\n"
            "**Rechtsbehelfsbelehrung:** Gegen diese Allgemeinverfügung kann innerhalb eines "
            "Monats nach Bekanntgabe Widerspruch bei der Stadt Musterstadt, Markt 1, 38820 "
            "Musterstadt, erhoben werden.",
        ),
        dict(
            cat="sitzungen",
            state="corrected",
            created=ago(4),
            start=today - d(days=3),
            end=today + d(days=6),
            az="10-SR-2026-11",
            office="Stadt Musterstadt – Büro des Stadtrates",
            title="Einladung zur 27. Sitzung des Stadtrates",
            body="Die 27. öffentliche Sitzung des Stadtrates der Stadt Musterstadt findet am "
            "Donnerstag um 18:00 Uhr im Ratssaal, Markt 1, statt.\n\n**Tagesordnung "
            "(öffentlicher Teil):**\n\n1. Eröffnung und Feststellung der Beschlussfähigkeit\n"
            "2. Einwohnerfragestunde\n3. Haushaltssatzung 2027\n4. Bebauungsplan Nr. 41 "
            "„Am Mühlengraben“ – Satzungsbeschluss\n5. Anfragen und Mitteilungen",
        ),
        dict(
            cat="bauleitplanung",
            state="released",
            created=ago(10),
            start=today - d(days=9),
            end=today + d(days=30),
            az="61-26-41",
            office="Stadt Musterstadt – Bauamt",
            title="Bebauungsplan Nr. 41 „Am Mühlengraben“ – Veröffentlichung im Internet",
            body="Der Entwurf des Bebauungsplans Nr. 41 „Am Mühlengraben“ mit Begründung und "
            "Umweltbericht wird gemäß § 3 Abs. 2 BauGB für die Dauer eines Monats im Internet "
            "veröffentlicht. Zusätzlich liegen die Unterlagen im Bauamt, Markt 3, während der "
            "Sprechzeiten zur Einsichtnahme aus.\n\nStellungnahmen können während der "
            "Veröffentlichungsfrist abgegeben werden.",
        ),
        dict(
            cat="verkehr",
            state="released",
            created=ago(2),
            start=today - d(days=1),
            end=today + d(days=8),
            az="32-VS-2026-88",
            office="Stadt Musterstadt – Straßenverkehrsbehörde",
            title="Vollsperrung der Bahnhofstraße wegen Kanalbauarbeiten",
            body="Wegen Erneuerung des Abwasserkanals wird die Bahnhofstraße zwischen "
            "Lindenallee und Gartenweg voll gesperrt. Die Umleitung ist ausgeschildert. Der "
            "Zugang zu den Grundstücken bleibt für Fußgänger möglich.",
        ),
        dict(
            cat="fundsachen",
            state="released",
            created=ago(1),
            start=today + d(days=3),
            end=today + d(days=14),
            az="32-FU-2026-4",
            title="Fundsachenversteigerung im Bürgerbüro",
            body="Die nicht abgeholten Fundsachen aus dem ersten Halbjahr 2026 (Fahrräder, "
            "Schmuck, Bekleidung) werden öffentlich versteigert. Eigentümer können ihre Rechte "
            "bis zum Versteigerungstermin im Bürgerbüro anmelden.",
        ),
        dict(
            cat="zustellungen",
            state="released",
            created=ago(40),
            start=today - d(days=38),
            end=today - d(days=20),
            az="20-OZ-2026-3",
            personal=True,
            office="Stadt Musterstadt – Kämmerei",
            title="Öffentliche Zustellung eines Gebührenbescheids",
            body="Für Herrn Max Beispiel, letzte bekannte Anschrift Lindenallee 7, liegt ein "
            "Gebührenbescheid vom 02.10.2026 zur Abholung in der Kämmerei bereit. Das Dokument "
            "gilt zwei Wochen nach dieser Bekanntmachung als zugestellt.",
        ),
        dict(
            cat="allgemeinverfuegungen",
            state="released",
            created=ago(60),
            start=today - d(days=58),
            end=today - d(days=40),
            az="32-0871/2026",
            title="Allgemeinverfügung zur Aufstallung von Geflügel (Geflügelpest)",
            body="Zum Schutz vor der Geflügelpest wird für das gesamte Stadtgebiet die "
            "Aufstallung von Geflügel angeordnet.",
        ),
        dict(
            cat="sitzungen",
            state="withdrawn",
            created=ago(6),
            start=today - d(days=5),
            end=today + d(days=4),
            az="10-BA-2026-7",
            office="Stadt Musterstadt – Büro des Stadtrates",
            title="Einladung zur Sitzung des Bauausschusses",
            body="Die Sitzung des Bauausschusses findet am Mittwoch um 17:00 Uhr im Ratssaal statt.",
        ),
        dict(
            cat="satzungen",
            state="submitted",
            created=ago(1),
            start=today + d(days=2),
            end=today + d(days=16),
            az="32-0013/2026",
            title="Zweite Satzung zur Änderung der Hundesteuersatzung",
            body="Der Stadtrat hat die folgende Änderungssatzung beschlossen: In § 5 Abs. 1 wird "
            "der Betrag „60 Euro“ durch „72 Euro“ ersetzt.",
        ),
        dict(
            cat="verkehr",
            state="draft",
            created=ago(0),
            start=today + d(days=5),
            end=today + d(days=20),
            az="32-VS-2026-91",
            office="Stadt Musterstadt – Straßenverkehrsbehörde",
            title="Halteverbot zum Weihnachtsmarkt",
            body="Während des Weihnachtsmarktes gilt auf dem Marktplatz ein absolutes Halteverbot.",
        ),
        dict(
            cat="bauleitplanung",
            state="draft",
            created=ago(0),
            start=today + d(days=7),
            end=today + d(days=45),
            az="61-26-44",
            office="Stadt Musterstadt – Bauamt",
            title="Aufstellungsbeschluss Bebauungsplan Nr. 44 „Gewerbegebiet Nord“",
            body="Der Stadtrat hat die Aufstellung des Bebauungsplans Nr. 44 beschlossen.",
        ),
    ]
    created = [_notice(session, tenant, cats, users, **item) for item in items]  # type: ignore[arg-type]
    # The Friedhof statute (Internet binding) has its hint notice on the board already;
    # the Bebauungsplan's hint is left open, so the dashboard shows an overdue one.
    first = created[0]
    assert first.provided_on is not None
    svc.mark_hint_posted(
        session,
        first,
        users["editor"],
        first.provided_on,
        "Hinweis an der Bekanntmachungstafel ausgehängt.",
        now,
    )
    return tenant


def demo_provisioning_token(session: Session, tenant: Tenant, now: datetime) -> str:
    """A display group "Rathaus" and a provisioning token for the demo player that
    ``make run`` starts beside the server (returns the token in plain text, once)."""
    from sqlalchemy import select

    from .models import DisplayGroup
    from .services.displays import enrolment

    admin = session.scalars(select(User).where(User.email == "admin@musterstadt.example")).one()
    group = DisplayGroup(tenant_id=tenant.id, name="Rathaus", created_at=now)
    session.add(group)
    session.flush()
    _, plain = enrolment.create_provisioning_token(
        session, tenant, admin, "Demo-Anzeige (make run)", now, group_id=group.id
    )
    return plain
