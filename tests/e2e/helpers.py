"""Small browser helpers shared by the journeys."""

from __future__ import annotations

from typing import Any

from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from server.demo import DEMO_PASSWORD

EDITOR = "redaktion@musterstadt.example"
APPROVER = "freigabe@musterstadt.example"
TENANT_ADMIN = "admin@musterstadt.example"
SYSTEM_ADMIN = "system@aushang.example"


def wait(driver: Any, timeout: float = 10) -> WebDriverWait:
    return WebDriverWait(driver, timeout)


def wait_for_path(driver: Any, path: str, timeout: float = 10) -> None:
    """Wait until the browser shows ``path`` (after a redirect or a form post)."""
    wait(driver, timeout).until(
        lambda d: (
            d.current_url.split("?", 1)[0].split("//", 1)[-1].partition("/")[2] == path.lstrip("/")
        ),
        f"expected to arrive at {path}",
    )


def login(driver: Any, base_url: str, email: str, password: str = DEMO_PASSWORD) -> None:
    """Log in through the real form (mouse-free, but not keyboard-only), as whoever was
    logged in before has left."""
    driver.get(base_url + "/static/aushang.css")
    driver.delete_all_cookies()
    driver.get(base_url + "/login")
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(password)
    submit(driver, "form button[type=submit]")


def submit(driver: Any, button_css: str) -> None:
    """Click a submit button and wait until the next page has replaced this one."""
    old = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, button_css).click()
    wait(driver).until(replaced(old))


def replaced(old: Any) -> Any:
    """Wait condition: ``old`` belongs to a page that has gone. Besides the stale
    element error, Chromium may answer a query on a node of a document in the middle
    of being replaced with "does not belong to the document": gone as well."""

    def condition(_: Any) -> bool:
        try:
            old.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:
            if "does not belong to the document" in str(exc):
                return True
            raise
        return False

    return condition


def heading(driver: Any) -> str:
    return driver.find_element(By.TAG_NAME, "h1").text


ALERTER = "warnung@musterstadt.example"
TENANT = "musterstadt"


def notice_number(live_server: Any, title_start: str) -> str:
    """The public number of the demo notice whose current title starts so."""
    from sqlalchemy import select

    from server.models import Notice, NoticeVersion

    with live_server.session() as session:
        numbers = session.scalars(
            select(Notice.number)
            .join(NoticeVersion, NoticeVersion.notice_id == Notice.id)
            .where(NoticeVersion.title.startswith(title_start))
            .distinct()
        ).all()
    assert len(numbers) == 1, f"{title_start!r}: {numbers}"
    return numbers[0]


def demo_display(live_server: Any, name: str = "Rathaus Foyer") -> int:
    """The id of a display of the demo tenant with this name, created if missing."""
    from sqlalchemy import select

    from server.domain.posting import utcnow
    from server.models import Display, Tenant, User
    from server.services.displays import config
    from server.services.files import BlobStore

    with live_server.session() as session:
        tenant = session.scalar(select(Tenant).where(Tenant.slug == TENANT))
        found = session.scalar(
            select(Display).where(Display.tenant_id == tenant.id, Display.name == name)
        )
        if found is not None:
            return found.id
        admin = session.scalar(select(User).where(User.email == TENANT_ADMIN))
        display = config.save_display(
            session,
            tenant,
            admin,
            config.DisplayInput(name=name, location="Markt 1, Eingang"),
            utcnow(),
            store=BlobStore(live_server.app.config["AUSHANG_DATA_DIR"]),
            base_url=live_server.url,
        )
        session.flush()
        return display.id
