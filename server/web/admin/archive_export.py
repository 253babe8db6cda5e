"""The archive export in the staff area (issue 17, build 1): a tenant admin starts it,
watches a progress bar and downloads the ZIP (notices, files, print PDFs,
Aushangvermerke, the audit log and its verification; see server.services.archive).

The export runs in a thread of the web process with its own app context and session
(the view only starts it); its state lives in a small JSON file beside the ZIP under
``<data dir>/exports/<tenant>/``, so every worker process can answer the progress
request and the download survives a restart.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import (
    Flask,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    send_file,
    url_for,
)

from ...extensions import db
from ...models import User
from ...security import tenant_staff_required
from ...services import archive
from ...services.files import BlobStore
from .blueprint import bp
from .common import actor, add_nav, request_now

log = logging.getLogger("aushang.archive_export")
JOB_RE = re.compile(r"^[0-9]{8}T[0-9]{6}-[0-9a-f]{8}$")
KEEP = 10  # finished exports kept per tenant

add_nav([("admin.archive_exports", "Archiv-Export", ("admin",))])


def _dir(app: Flask, slug: str) -> Path:
    path = Path(app.config["AUSHANG_DATA_DIR"]) / "exports" / slug
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write_state(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def _read_state(path: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def _run(app: Flask, slug: str, user_id: int, job: str, now: datetime) -> None:
    folder = _dir(app, slug)
    state_path, target = folder / f"{job}.json", folder / f"{job}.zip"
    state = _read_state(state_path) or {}
    with app.app_context():
        try:

            def progress(done: int, total: int) -> None:
                state.update(done=done, total=total)
                _write_state(state_path, state)

            user = db.session.get(User, user_id)
            assert user is not None
            result = archive.export_archive(
                db.session,
                BlobStore(app.config["AUSHANG_DATA_DIR"]),
                target,
                now=now,
                base_url=app.config["AUSHANG_BASE_URL"],
                tenant_slug=slug,
                progress=progress,
                extra_channels=app.extensions.get("aushang_evidence_channels", ()),
                actor=user,
            )
            db.session.commit()
            state.update(
                state="done",
                size=target.stat().st_size,
                notices=result.notices,
                versions=result.versions,
                files=result.files,
            )
            log.info("event=archive_export tenant=%s job=%s notices=%s", slug, job, result.notices)
        except Exception as exc:  # the page must say so instead of spinning forever
            db.session.rollback()
            log.exception("event=archive_export_failed tenant=%s job=%s", slug, job)
            message = exc.message if isinstance(exc, archive.ArchiveError) else "Interner Fehler."
            state.update(state="failed", message=message)
        finally:
            db.session.remove()
        _write_state(state_path, state)


def _jobs(slug: str) -> list[dict[str, Any]]:
    folder = _dir(current_app._get_current_object(), slug)  # type: ignore[attr-defined]
    jobs = []
    for path in sorted(folder.glob("*.json"), reverse=True):
        state = _read_state(path)
        if state is not None and JOB_RE.match(path.stem):
            jobs.append({"id": path.stem, **state})
    return jobs


@bp.route("/<tenant>/archiv-export")
@tenant_staff_required("admin")
def archive_exports():
    return render_template("admin/archive_export.html", tenant=g.tenant, jobs=_jobs(g.tenant.slug))


@bp.route("/<tenant>/archiv-export", methods=["POST"])
@tenant_staff_required("admin")
def archive_export_start():
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    now = request_now()
    if any(j.get("state") == "running" for j in _jobs(g.tenant.slug)):
        return redirect(url_for("admin.archive_exports", tenant=g.tenant.slug))
    job = f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
    folder = _dir(app, g.tenant.slug)
    user = actor()
    _write_state(
        folder / f"{job}.json",
        {"state": "running", "done": 0, "total": 1, "started_at": now.isoformat(), "by": user.name},
    )
    for old in _jobs(g.tenant.slug)[KEEP:]:
        for suffix in (".json", ".zip"):
            (folder / f"{old['id']}{suffix}").unlink(missing_ok=True)
    thread = threading.Thread(
        target=_run, args=(app, g.tenant.slug, user.id, job, now), daemon=True
    )
    thread.start()
    if app.testing:
        # No export may outlive a test's request (it would write into the next test).
        thread.join(timeout=120)
    return redirect(url_for("admin.archive_exports", tenant=g.tenant.slug, job=job))


def _job_state(job: str) -> dict[str, Any]:
    if not JOB_RE.match(job):
        abort(404)
    state = _read_state(_dir(current_app._get_current_object(), g.tenant.slug) / f"{job}.json")  # type: ignore[attr-defined]
    if state is None:
        abort(404, "Diesen Export gibt es nicht.")
    return state


@bp.route("/<tenant>/archiv-export/<job>.json")
@tenant_staff_required("admin")
def archive_export_status(job: str):
    state = _job_state(job)
    percent = int(100 * state.get("done", 0) / max(1, state.get("total", 1)))
    return jsonify({**state, "percent": 100 if state.get("state") == "done" else percent})


@bp.route("/<tenant>/archiv-export/<job>.zip")
@tenant_staff_required("admin")
def archive_export_download(job: str):
    state = _job_state(job)
    path = _dir(current_app._get_current_object(), g.tenant.slug) / f"{job}.zip"  # type: ignore[attr-defined]
    if state.get("state") != "done" or not path.is_file():
        abort(404, "Dieser Export ist nicht (mehr) verfügbar.")
    return send_file(
        path,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"aushang-archiv-{g.tenant.slug}-{job[:15]}.zip",
    )
