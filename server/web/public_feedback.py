"""The public accessibility statement and the feedback form (L19)."""

from __future__ import annotations

import logging
import re

from flask import abort, redirect, render_template, request, url_for

from ..extensions import db
from ..models import Feedback
from ..runtime import runtime
from .clock import request_now
from .public_common import _tenant, bp

log = logging.getLogger("aushang.public")

FEEDBACK_TOPICS = {
    "barrierefreiheit": "Barrierefreiheit",
    "inhalt": "Inhalt einer Bekanntmachung",
    "sonstiges": "Sonstiges",
}


@bp.route("/<tenant>/barrierefreiheit")
def accessibility(tenant: str):
    t = _tenant(tenant)
    return render_template("public/accessibility.html", tenant=t)


def _clean_page_url(raw: str) -> str:
    """Only paths of this site are kept (the form is prefilled from a link)."""
    raw = raw.strip()[:500]
    return raw if raw.startswith("/") and not raw.startswith("//") else ""


@bp.route("/<tenant>/rueckmeldung", methods=["GET", "POST"])
def feedback(tenant: str):
    t = _tenant(tenant)
    errors: dict[str, str] = {}
    form = {
        "topic": request.args.get("thema") or "barrierefreiheit",
        "name": "",
        "email": "",
        "page_url": _clean_page_url(request.args.get("seite") or ""),
        "message": "",
    }
    status = 200
    if request.method == "POST":
        form = {k: (request.form.get(k) or "").strip() for k in form}
        form["page_url"] = _clean_page_url(form["page_url"])
        if request.form.get("website"):  # honeypot, invisible to people
            return redirect(url_for("public.feedback", tenant=t.slug, gesendet=1))
        if form["topic"] not in FEEDBACK_TOPICS:
            errors["topic"] = "Bitte ein Thema auswählen."
        if not form["message"]:
            errors["message"] = "Bitte geben Sie eine Nachricht ein."
        elif len(form["message"]) > 5000:
            errors["message"] = "Die Nachricht ist zu lang (höchstens 5000 Zeichen)."
        if len(form["name"]) > 200:
            errors["name"] = "Höchstens 200 Zeichen."
        if form["email"] and (
            len(form["email"]) > 200 or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", form["email"])
        ):
            errors["email"] = "Bitte eine gültige E-Mail-Adresse angeben oder das Feld leeren."
        if not errors and not runtime().feedback_limiter.hit(request.remote_addr or "?"):
            abort(429, "Zu viele Nachrichten in kurzer Zeit. Bitte später erneut versuchen.")
        if not errors:
            db.session.add(
                Feedback(
                    tenant_id=t.id,
                    created_at=request_now(),
                    topic=form["topic"],
                    name=form["name"],
                    email=form["email"],
                    page_url=form["page_url"],
                    message=form["message"],
                )
            )
            db.session.commit()
            log.info("feedback tenant=%s topic=%s", t.slug, form["topic"])
            return redirect(url_for("public.feedback", tenant=t.slug, gesendet=1))
        status = 422
    return render_template(
        "public/feedback.html",
        tenant=t,
        form=form,
        errors=errors,
        topics=FEEDBACK_TOPICS,
        sent=request.args.get("gesendet") == "1",
    ), status
