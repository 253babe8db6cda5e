"""The public site: index, archive, notice pages and their stable URLs (L4–L10, L15)."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from server.domain.posting import local_midnight
from server.services import notices as svc

from ..publicworld import PDF_BYTES, PNG_BYTES, make_world


def text_of(response) -> str:
    return response.get_data(as_text=True)


# --- index (L9) ------------------------------------------------------------------------


def test_released_notice_appears_in_the_index_as_soon_as_its_window_opens(
    client, public_world, clock, now
):
    start = now.date() + timedelta(days=3)
    notice = public_world.notice(
        start=start, end=start + timedelta(days=10), title="Künftige Satzung"
    )
    opens = local_midnight(start, public_world.tenant.timezone)
    url = f"/musterstadt/bekanntmachungen/{notice.number}"

    clock.set(opens - timedelta(seconds=1))
    assert "Künftige Satzung" not in text_of(client.get("/musterstadt/"))
    assert client.get(url).status_code == 404  # not provided yet

    clock.set(opens)
    page = text_of(client.get("/musterstadt/"))
    assert "Künftige Satzung" in page
    assert f'href="{url}"' in page
    assert client.get(url).status_code == 200


def test_index_groups_by_category_and_filters(client, public_world, clock, factory):
    other = factory.category(public_world.tenant, "Fundsachen", min_days=7)
    public_world.notice(title="Friedhofssatzung")
    public_world.category, saved = other, public_world.category
    public_world.notice(title="Fundfahrrad")
    public_world.category = saved
    page = text_of(client.get("/musterstadt/"))
    assert '<h2 id="kat-' in page
    assert "Friedhofssatzung" in page and "Fundfahrrad" in page
    filtered = text_of(client.get(f"/musterstadt/?kategorie={other.slug}"))
    assert "Fundfahrrad" in filtered and "Friedhofssatzung" not in filtered
    assert client.get("/musterstadt/?kategorie=gibt-es-nicht").status_code == 404


def test_index_hides_drafts_ended_and_withdrawn(client, public_world, clock, now):
    public_world.notice(title="Entwurf im Aushang", release=False)
    public_world.notice(
        title="Alte Satzung",
        at=now - timedelta(days=30),
        start=now.date() - timedelta(days=30),
        end=now.date() - timedelta(days=15),
    )
    withdrawn = public_world.notice(title="Zurückgezogene Satzung")
    svc.withdraw(
        public_world.factory.session, withdrawn, public_world.approver, "withdrawn", "Fehler", now
    )
    page = text_of(client.get("/musterstadt/"))
    for title in ("Entwurf im Aushang", "Alte Satzung", "Zurückgezogene Satzung"):
        assert title not in page


def test_unknown_tenant_is_404(client, clock):
    for url in ("/gibtesnicht/", "/gibtesnicht/archiv", "/gibtesnicht/bekanntmachungen/2026-0001"):
        response = client.get(url)
        assert response.status_code == 404
        assert "Nicht gefunden" in text_of(response)


# --- notice page (L4, L5, L7, L10, L15) ---------------------------------------------------


def test_anonymous_get_returns_the_full_text_and_metadata(client, public_world, clock, now):
    body = "Der Stadtrat hat **folgende** Satzung beschlossen.\n\n## § 1\n\nAlles gilt."
    notice = public_world.notice(body_md=body)
    response = client.get(f"/musterstadt/bekanntmachungen/{notice.number}")
    assert response.status_code == 200
    page = text_of(response)
    assert "Der Stadtrat hat <strong>folgende</strong> Satzung beschlossen." in page
    assert "Alles gilt." in page
    assert f"Bereitgestellt am {now:%d.%m.%Y}" in page
    assert "32-0001/2026" in page  # Aktenzeichen
    assert "Stadt Musterstadt – Ordnungsamt" in page
    assert "Dr. Maria Muster, Bürgermeisterin" in page
    # binding forms (L1) and effective date (L12)
    assert "Internet (Bereitstellung): Internet" in page
    assert "Aushang (Bekanntmachungstafel, auch digital): Tafel am Rathaus" in page
    assert f"bewirkt am {notice.posting_end:%d.%m.%Y}" in page
    assert notice.current_version.content_hash in page
    assert '<html lang="de">' in page


def test_ended_notice_stays_200_and_says_aushang_beendet(client, public_world, clock, now):
    end = now.date() - timedelta(days=5)
    notice = public_world.notice(
        at=now - timedelta(days=20), start=end - timedelta(days=14), end=end
    )
    response = client.get(f"/musterstadt/bekanntmachungen/{notice.number}")
    assert response.status_code == 200
    assert f"Aushang beendet am {end:%d.%m.%Y}" in text_of(response)
    # and it is in the archive, not in the index
    assert notice.current_version.title in text_of(client.get("/musterstadt/archiv"))


def test_withdrawn_notice_says_why(client, public_world, clock, now):
    notice = public_world.notice()
    svc.withdraw(
        public_world.factory.session,
        notice,
        public_world.approver,
        "withdrawn",
        "Termin abgesagt.",
        now,
    )
    page = text_of(client.get(f"/musterstadt/bekanntmachungen/{notice.number}"))
    assert f"Zurückgezogen am {now:%d.%m.%Y}" in page
    assert "Grund: Termin abgesagt." in page


def test_personal_data_after_the_window_is_410_noindex(client, public_world, clock, now):
    end = now.date() - timedelta(days=2)
    notice = public_world.notice(
        at=now - timedelta(days=20),
        start=end - timedelta(days=14),
        end=end,
        contains_personal_data=True,
        body_md="Für Herrn Max Beispiel liegt ein Bescheid bereit.",
        files=[("bescheid.pdf", PDF_BYTES + b"personal")],
    )
    sha = notice.current_version.attachments[0].sha256
    for url in (
        f"/musterstadt/bekanntmachungen/{notice.number}",
        f"/musterstadt/bekanntmachungen/{notice.number}/v1",
        f"/musterstadt/bekanntmachungen/{notice.number}/v1.pdf",
        f"/musterstadt/dateien/{sha}/bescheid.pdf",
    ):
        response = client.get(url)
        assert response.status_code == 410, url
        assert "noindex" in response.headers["X-Robots-Tag"]
        page = text_of(response)
        assert '<meta name="robots" content="noindex">' in page
        assert "Max Beispiel" not in page
        assert "nicht mehr öffentlich abrufbar" in page
    assert "Max Beispiel" not in text_of(client.get("/musterstadt/archiv?q=Beispiel"))


def test_personal_data_during_the_window_is_shown_but_not_indexed(client, public_world, clock):
    notice = public_world.notice(contains_personal_data=True, body_md="Für Frau Erika Beispiel.")
    response = client.get(f"/musterstadt/bekanntmachungen/{notice.number}")
    assert response.status_code == 200
    assert "Erika Beispiel" in text_of(response)
    assert "noindex" in response.headers["X-Robots-Tag"]
    assert response.headers["Cache-Control"] == "no-store"


def test_never_released_and_unknown_numbers_are_404(client, public_world, clock):
    draft = public_world.notice(release=False)
    assert client.get(f"/musterstadt/bekanntmachungen/{draft.number}").status_code == 404
    assert client.get(f"/musterstadt/bekanntmachungen/{draft.number}/v1").status_code == 404
    assert client.get("/musterstadt/bekanntmachungen/2099-9999").status_code == 404
    released = public_world.notice()
    assert client.get(f"/musterstadt/bekanntmachungen/{released.number}/v7").status_code == 404


def test_correction_keeps_old_version_and_bereitstellungstag(client, public_world, clock, now):
    s = public_world.factory.session
    notice = public_world.notice(body_md="Beginn 18:00 Uhr.")
    first_hash = notice.current_version.content_hash
    later = now + timedelta(days=2)
    clock.set(later + timedelta(hours=1))
    svc.start_correction(s, notice, public_world.editor, "Uhrzeit", later)
    data = svc.input_from_version(notice, notice.working_version)
    data.body_md = "Beginn 18:30 Uhr."
    data.correction_note = "Beginn korrigiert."
    svc.update_draft(s, notice, public_world.editor, data, later)
    svc.submit(s, notice, public_world.editor, later)
    svc.release(s, notice, public_world.approver, "ok", later)

    base = f"/musterstadt/bekanntmachungen/{notice.number}"
    current = text_of(client.get(base))
    assert "Beginn 18:30 Uhr." in current
    assert f"Bereitgestellt am {now:%d.%m.%Y}" in current  # unchanged (L4)
    assert "Berichtigte Fassung" in current and f'href="{base}/v1"' in current
    old = client.get(f"{base}/v1")
    assert old.status_code == 200
    old_page = text_of(old)
    assert "Beginn 18:00 Uhr." in old_page and first_hash in old_page
    assert "Diese Fassung ist nicht mehr aktuell" in old_page and f'href="{base}/v2"' in old_page
    assert f"Bereitgestellt am {now:%d.%m.%Y}" in old_page


# --- archive (L9) ----------------------------------------------------------------------------


def test_archive_searches_title_text_and_file_number(client, public_world, clock):
    public_world.notice(title="Hundesteuersatzung", body_md="Der Betrag steigt auf 72 Euro.")
    public_world.notice(title="Straßenreinigung", file_number="66-STR-2026")
    public_world.notice(title="Gebührensatzung 100%")

    def titles(query: str) -> str:
        return text_of(client.get("/musterstadt/archiv", query_string={"q": query}))

    assert "Hundesteuersatzung" in titles("hundesteuer")
    assert "Hundesteuersatzung" in titles("72 EURO")
    assert "Straßenreinigung" in titles("66-str")
    assert "Hundesteuersatzung" not in titles("66-str")
    assert "Gebührensatzung 100%" in titles("100%")
    assert "Hundesteuersatzung" not in titles("100%")  # % is literal, not a wildcard
    assert "Keine Bekanntmachung passt" in titles("Elefant")


def test_archive_filters_by_category_and_date_and_pages(client, public_world, clock, now, factory):
    other = factory.category(public_world.tenant, "Fundsachen")
    for i in range(23):
        public_world.notice(title=f"Satzung Nummer {i:02d}")
    public_world.category = other
    old = public_world.notice(
        title="Fundsachen-Versteigerung",
        at=now - timedelta(days=40),
        start=now.date() - timedelta(days=40),
        end=now.date() - timedelta(days=30),
    )
    page1 = text_of(client.get("/musterstadt/archiv"))
    assert "24 Bekanntmachungen" in page1 and "Seite 1 von 2" in page1
    assert 'rel="next"' in page1
    page2 = text_of(client.get("/musterstadt/archiv?seite=2"))
    assert page2.count("<li>\n  <h3>") == 4
    by_cat = text_of(client.get(f"/musterstadt/archiv?kategorie={other.slug}"))
    assert "1 Bekanntmachung" in by_cat and "Fundsachen-Versteigerung" in by_cat
    d = old.provided_on
    by_date = text_of(client.get(f"/musterstadt/archiv?von={d:%Y-%m-%d}&bis={d:%d.%m.%Y}"))
    assert "1 Bekanntmachung" in by_date and "Fundsachen-Versteigerung" in by_date


def test_archive_bad_filters_are_400_with_german_messages(client, public_world, clock):
    response = client.get("/musterstadt/archiv?von=gestern&kategorie=nix&seite=abc")
    assert response.status_code == 400
    page = text_of(response)
    assert "Bitte ein gültiges Datum angeben" in page
    assert "Diese Kategorie gibt es nicht." in page
    response = client.get("/musterstadt/archiv?von=2026-11-20&bis=2026-11-01")
    assert response.status_code == 400
    assert "Enddatum liegt vor dem Anfangsdatum" in text_of(response)


# --- attachments (L6, L8) ---------------------------------------------------------------------


def test_downloaded_file_hash_equals_published_hash(client, public_world, clock):
    notice = public_world.notice(
        files=[("plan übersicht.pdf", PDF_BYTES), ("karte.png", PNG_BYTES)]
    )
    page = text_of(client.get(f"/musterstadt/bekanntmachungen/{notice.number}"))
    links = re.findall(r'href="(/musterstadt/dateien/[^"]+)"', page)
    assert len(links) == 2
    for link, attachment in zip(links, notice.current_version.attachments, strict=True):
        response = client.get(link)
        assert response.status_code == 200
        digest = hashlib.sha256(response.data).hexdigest()
        assert digest == attachment.sha256
        assert digest in page  # the published hash
        assert response.headers["ETag"] == f'"{digest}"'
        assert "immutable" in response.headers["Cache-Control"]
        assert response.headers["Content-Type"] == attachment.media_type
        assert "attachment" in response.headers["Content-Disposition"]  # uploaded bytes
        again = client.get(link, headers={"If-None-Match": f'"{digest}"'})
        assert again.status_code == 304


def test_other_tenants_file_and_bad_paths_are_404(client, public_world, clock, factory, app_ctx):
    mine = public_world.notice(files=[("plan.pdf", PDF_BYTES + b"mine")])
    other = make_world(factory, app_ctx, slug="nachbarort", ars="150855555556")
    theirs = other.notice(files=[("geheim.pdf", PDF_BYTES + b"theirs")])
    their_sha = theirs.current_version.attachments[0].sha256
    my_sha = mine.current_version.attachments[0].sha256
    assert client.get(f"/nachbarort/dateien/{their_sha}/geheim.pdf").status_code == 200
    assert client.get(f"/musterstadt/dateien/{their_sha}/geheim.pdf").status_code == 404
    assert client.get(f"/musterstadt/dateien/{my_sha}/anders.pdf").status_code == 404
    for bad in (
        "/musterstadt/dateien/../../secret_key/x",
        "/musterstadt/dateien/%2e%2e%2fsecret_key/x",
        f"/musterstadt/dateien/{my_sha[:-1]}G/plan.pdf",
        f"/musterstadt/dateien/{my_sha.upper()}/plan.pdf",
        "/musterstadt/dateien/" + "0" * 64 + "/plan.pdf",
    ):
        assert client.get(bad).status_code == 404, bad


def test_attachment_of_an_unreleased_draft_is_404(client, public_world, clock):
    draft = public_world.notice(release=False, files=[("entwurf.pdf", PDF_BYTES + b"draft")])
    sha = draft.working_version.attachments[0].sha256
    assert client.get(f"/musterstadt/dateien/{sha}/entwurf.pdf").status_code == 404


# --- own origin (L8) ------------------------------------------------------------------------


class _Urls(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href", "action", "poster", "data", "formaction") and value:
                self.urls.append(value)
            if name == "srcset" and value:
                self.urls.extend(part.split()[0] for part in value.split(","))


def foreign_urls(html: str) -> list[str]:
    parser = _Urls()
    parser.feed(html)
    bad = []
    for url in parser.urls:
        parts = urlsplit(url)
        if parts.scheme in ("mailto", "tel"):
            continue
        if parts.scheme or parts.netloc or url.startswith("//"):
            bad.append(url)
    return bad


def test_public_html_references_no_foreign_host(client, public_world, clock, now, app_ctx):
    notice = public_world.notice(files=[("plan.pdf", PDF_BYTES)])
    gone = public_world.notice(
        at=now - timedelta(days=20),
        start=now.date() - timedelta(days=20),
        end=now.date() - timedelta(days=5),
        contains_personal_data=True,
    )
    public_world.tenant.website_url = "https://www.musterstadt.example"
    public_world.tenant.contact_email = "info@musterstadt.example"
    public_world.tenant.contact_phone = "03941 1234"
    urls = [
        "/musterstadt/",
        "/musterstadt/archiv",
        "/musterstadt/archiv?q=Satzung",
        f"/musterstadt/bekanntmachungen/{notice.number}",
        f"/musterstadt/bekanntmachungen/{notice.number}/v1",
        f"/musterstadt/bekanntmachungen/{gone.number}",
        "/musterstadt/barrierefreiheit",
        "/musterstadt/rueckmeldung",
        "/gibtesnicht/",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code in (200, 404, 410), url
        assert foreign_urls(text_of(response)) == [], url
    css = app_ctx.static_folder + "/aushang.css"
    with open(css, encoding="utf-8") as fh:
        assert not re.search(r"url\(|@import|https?://", fh.read())


@pytest.mark.parametrize("path", ["/musterstadt/", "/musterstadt/archiv"])
def test_public_pages_have_landmarks_skip_link_and_one_h1(client, public_world, clock, path):
    public_world.notice()
    page = text_of(client.get(path))
    assert 'href="#inhalt"' in page and 'id="inhalt"' in page
    assert "<main" in page and "<nav" in page and "<footer" in page and "<header" in page
    assert page.count("<h1") == 1
    assert "Erklärung zur Barrierefreiheit" in page
