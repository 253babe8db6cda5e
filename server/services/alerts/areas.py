"""Where a tenant is, for relevance (W4): its ARS, its names and its imported area."""

from __future__ import annotations

import json
import threading
from datetime import datetime

from sqlalchemy.orm import Session

from ...domain.alerts import Alert
from ...domain.alerts.geometry import Ring, area_to_geojson, parse_geojson_area
from ...domain.alerts.relevance import Place, Relevance, match_label, relevance
from ...models import Tenant, TenantArea, User
from ...sources.warncells import cell_name
from .. import audit

_lock = threading.Lock()
_parsed: dict[tuple[int, str], tuple[Ring, ...]] = {}


def _rings(area: TenantArea) -> tuple[Ring, ...]:
    """The stored GeoJSON as rings, parsed once per version of the area."""
    key = (area.tenant_id, area.updated_at.isoformat())
    with _lock:
        found = _parsed.get(key)
    if found is None:
        found = parse_geojson_area(area.geojson)
        with _lock:
            if len(_parsed) > 256:
                _parsed.clear()
            _parsed[key] = found
    return found


def tenant_area(session: Session, tenant: Tenant) -> TenantArea | None:
    return session.get(TenantArea, tenant.id)


def tenant_place(session: Session, tenant: Tenant, ars: str | None = None) -> Place:
    """The tenant as a :class:`Place`; a display's own ARS (``ars``) keeps the tenant's
    area and names only when it is the tenant's ARS (a display elsewhere has none)."""
    if ars is not None and ars != tenant.ars:
        return Place(ars)
    area = tenant_area(session, tenant)
    return Place(tenant.ars, names=(tenant.name,), area=_rings(area) if area is not None else ())


def set_tenant_area(
    session: Session, *, tenant: Tenant, text: str, source_name: str, user: User, now: datetime
) -> TenantArea:
    """Validate GeoJSON and store it as the tenant's area (raises ``ValidationFailed``)."""
    rings = parse_geojson_area(text)
    area = tenant_area(session, tenant)
    if area is None:
        area = TenantArea(tenant_id=tenant.id)
        session.add(area)
    area.geojson = area_to_geojson(rings)
    area.source_name = source_name[:300]
    area.updated_at = now
    area.updated_by_id = user.id
    audit.record(
        session,
        now=now,
        action="tenant.area_imported",
        object_type="tenant",
        object_id=tenant.id,
        actor=user,
        tenant_id=tenant.id,
        details={"polygons": len(rings), "points": sum(len(r) for r in rings)},
    )
    session.flush()
    return area


def remove_tenant_area(session: Session, *, tenant: Tenant, user: User, now: datetime) -> None:
    area = tenant_area(session, tenant)
    if area is None:
        return
    session.delete(area)
    audit.record(
        session,
        now=now,
        action="tenant.area_removed",
        object_type="tenant",
        object_id=tenant.id,
        actor=user,
        tenant_id=tenant.id,
        details={},
    )
    session.flush()


def area_summary(area: TenantArea) -> dict[str, int]:
    data = json.loads(area.geojson)
    rings = data.get("coordinates", [])
    return {"polygons": len(rings), "points": sum(len(p[0]) for p in rings if p)}


def describe_match(key: str) -> str:
    """German "relevant durch" text of a stored key, with the cell's DWD name if known."""
    label = match_label(key)
    method, _, matched = key.partition(":")
    if method == "warncell" and matched:
        name = cell_name(matched)
        if name:
            return f"{label} ({name})"
    return label


def relevance_for(
    session: Session, alert: Alert, tenant: Tenant, *, from_own_dashboard: bool = False
) -> Relevance:
    """:func:`relevance` against the tenant's full place (ARS, names, area)."""
    place = tenant_place(session, tenant)
    return relevance(alert, place, from_own_dashboard=from_own_dashboard)
