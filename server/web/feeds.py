"""Public feeds (RSS, Atom, JSON Feed, iCalendar) and the page that explains them.

URLs: ``/<tenant>/feeds/notices.<fmt>``, ``/<tenant>/feeds/<category>/notices.<fmt>``
and the Land-wide ``/feeds/notices.<fmt>``; ``…/feeds/`` is the explanation page.
Bodies come from a per-process cache rebuilt only when the notices change.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, current_app, render_template, request
from sqlalchemy import select

from ..domain.posting import utcnow
from ..extensions import db
from ..models import Category, Tenant
from ..services import feeds as feed_svc

bp = Blueprint("feeds", __name__)

FORMAT_LABELS = {
    "rss": ("RSS 2.0", "application/rss+xml"),
    "atom": ("Atom", "application/atom+xml"),
    "json": ("JSON Feed", "application/feed+json"),
    "ics": ("iCalendar", "text/calendar"),
}
CACHE_CONTROL = "public, max-age=300"


def _cache() -> feed_svc.FeedCache:
    return current_app.extensions["aushang_feed_cache"]  # type: ignore[no-any-return]


def _base_url() -> str:
    return str(current_app.config["AUSHANG_BASE_URL"]).rstrip("/")


def _tenant(slug: str) -> Tenant:
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug, Tenant.active))
    if tenant is None:
        abort(404)
    return tenant


def _category(tenant: Tenant, slug: str) -> Category:
    category = db.session.scalar(
        select(Category).where(Category.tenant_id == tenant.id, Category.slug == slug)
    )
    if category is None:
        abort(404)
    return category


def _now() -> Any:
    # Tests (and the benchmark) may put a fixed clock into the config; otherwise real time.
    clock = current_app.config.get("AUSHANG_CLOCK") or utcnow
    return clock()


def _serve(scope: feed_svc.FeedScope, fmt: str) -> Any:
    if fmt not in feed_svc.FORMATS:
        abort(404)
    now = _now()
    current = feed_svc.fingerprint(db.session, scope)
    limit = int(current_app.config.get("AUSHANG_FEED_MAX_NOTICES", feed_svc.DEFAULT_MAX_NOTICES))
    built = _cache().get(
        (scope.key, fmt),
        current,
        now,
        lambda: feed_svc.build(
            db.session, scope, fmt, now, _base_url(), current=current, max_notices=limit
        ),
    )
    response = current_app.response_class(built.body, content_type=built.content_type)
    response.set_etag(built.etag)
    response.last_modified = built.last_modified
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers["Access-Control-Allow-Origin"] = "*"  # apps and web readers may fetch
    # 304 with an empty body when If-None-Match / If-Modified-Since match.
    return response.make_conditional(request)


@bp.get("/feeds/notices.<fmt>")
def land_feed(fmt: str) -> Any:
    return _serve(feed_svc.FeedScope(), fmt)


@bp.get("/<tenant_slug>/feeds/notices.<fmt>")
def tenant_feed(tenant_slug: str, fmt: str) -> Any:
    return _serve(feed_svc.FeedScope(tenant=_tenant(tenant_slug)), fmt)


@bp.get("/<tenant_slug>/feeds/<category_slug>/notices.<fmt>")
def category_feed(tenant_slug: str, category_slug: str, fmt: str) -> Any:
    tenant = _tenant(tenant_slug)
    return _serve(feed_svc.FeedScope(tenant=tenant, category=_category(tenant, category_slug)), fmt)


def feed_links(
    tenant: Tenant | None = None, category: Category | None = None
) -> list[dict[str, str]]:
    """Feeds of a scope as (format, label, media type, absolute URL) for templates."""
    scope = feed_svc.FeedScope(tenant=tenant, category=category)
    base = _base_url()
    return [
        {
            "format": fmt,
            "label": label,
            "type": media_type,
            "url": f"{base}{scope.path}/notices.{fmt}",
            "path": f"{scope.path}/notices.{fmt}",
            "title": f"{scope.title()} ({label})",
        }
        for fmt, (label, media_type) in FORMAT_LABELS.items()
    ]


def _explain(tenant: Tenant | None) -> Any:
    categories = list(tenant.categories) if tenant is not None else []
    response = current_app.make_response(
        render_template(
            "feeds/explain.html",
            tenant=tenant,
            links=feed_links(tenant),
            category_links=[(c, feed_links(tenant, c)) for c in categories],
            docs_scope=feed_svc.FeedScope(tenant=tenant),
        )
    )
    return response


@bp.get("/feeds/")
def land_explain() -> Any:
    return _explain(None)


@bp.get("/<tenant_slug>/feeds/")
def tenant_explain(tenant_slug: str) -> Any:
    return _explain(_tenant(tenant_slug))


def init_app(app: Flask) -> None:
    app.extensions["aushang_feed_cache"] = feed_svc.FeedCache()
    app.add_template_global(feed_links, "feed_links")
    app.register_blueprint(bp)
