"""The Warntag report (W15) for one message, as data, HTML section, JSON and PDF.

Deliveries come in as plain :class:`~server.domain.alerts.warntag.DeliveryRow` values.
The display side registers a provider ``f(session, record) -> rows`` under
``app.extensions["aushang_alert_deliveries"]`` (see :func:`delivery_rows`); until it
does, a report lists no displays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from ..documents import render_pdf
from ..domain.alerts.warntag import DeliveryRow, WarntagReport, build_report, is_test_alert
from ..models import AlertRecord, Tenant
from .printing import PDF_BASE_URL

DeliveryProvider = Callable[[Session, AlertRecord], Sequence[DeliveryRow]]
PROVIDER_KEY = "aushang_alert_deliveries"
# ``render(template_name, **context) -> html``: the view passes Flask's render_template,
# so this service needs no Flask (GUIDE: services are f(session, ..., now) -> result).
Render = Callable[..., str]


def delivery_rows(
    extensions: Mapping[str, Any], session: Session, record: AlertRecord
) -> list[DeliveryRow]:
    """The rows of the registered provider, or none."""
    provider: DeliveryProvider | None = extensions.get(PROVIDER_KEY)
    return list(provider(session, record)) if provider else []


def report_for(record: AlertRecord, tenant: Tenant, rows: Iterable[DeliveryRow]) -> WarntagReport:
    """The report of one message; ``is_test`` tells a Warntag/Übung from a real warning
    (the same report then serves as delivery record of the real one)."""
    texts = (record.headline, record.event)
    return build_report(
        identifier=record.identifier,
        headline=record.headline,
        status=record.status,
        is_test=is_test_alert(record.status, record.sent, texts, tenant.timezone),
        issued_at=record.received_at,
        rows=rows,
    )


def report_pdf(
    report: WarntagReport, tenant: Tenant, generated_at: Any, *, render: Render
) -> bytes:
    """The report as PDF, its HTML from ``render`` (the caller's template renderer)."""
    html = render("pdf/warntag.html", report=report, tenant=tenant, generated_at=generated_at)
    return render_pdf(html, PDF_BASE_URL)
