"""The archive export in the staff area (issue 17, build 1): started and downloaded by
a tenant admin, with progress, the audit log and its verification in the ZIP."""

from __future__ import annotations

import io
import json
import re
import zipfile

from server.domain.integrity import audit_hash

from ...conftest import login
from ..publicworld import PDF_BYTES


def test_admin_exports_with_progress_and_audit_log(client, public_world, clock, factory):
    w = public_world
    w.notice(files=[("plan.pdf", PDF_BYTES)], title="Satzung im Archiv")
    admin = factory.user(w.tenant, "admin")
    factory.session.commit()
    login(client, admin.email)
    page = client.get("/admin/musterstadt/archiv-export").get_data(as_text=True)
    assert "Noch kein Export." in page
    started = client.post("/admin/musterstadt/archiv-export")
    assert started.status_code == 302
    job = re.search(r"job=([0-9T]+-[0-9a-f]+)", started.headers["Location"]).group(1)
    status = client.get(f"/admin/musterstadt/archiv-export/{job}.json").get_json()
    assert status["state"] == "done" and status["percent"] == 100
    assert status["total"] > 1 and status["done"] == status["total"]  # progress was counted
    page = client.get("/admin/musterstadt/archiv-export").get_data(as_text=True)
    assert f"/admin/musterstadt/archiv-export/{job}.zip" in page and "1 Bekanntmachungen" in page

    download = client.get(f"/admin/musterstadt/archiv-export/{job}.zip")
    assert download.status_code == 200 and download.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(download.data)) as zf:
        names = set(zf.namelist())
        assert {"manifest.json", "audit/log.jsonl", "audit/verification.json"} <= names
        check = json.loads(zf.read("audit/verification.json"))
        assert check["chain_ok"] is True and check["scope"] == ["musterstadt"]
        rows = [json.loads(line) for line in zf.read("audit/log.jsonl").splitlines()]
    assert rows and all(r["tenant_id"] == w.tenant.id for r in rows)
    assert "notice.release" in {r["action"] for r in rows}
    for r in rows:  # each row's hash can be recomputed from the archive alone
        payload = {k: r[k] for k in r if k not in ("prev_hash", "hash")}
        assert audit_hash(r["prev_hash"], payload) == r["hash"]


def test_only_tenant_admins_export(client, public_world, clock, factory):
    factory.session.commit()
    login(client, public_world.approver.email)
    assert client.get("/admin/musterstadt/archiv-export").status_code == 403
    assert client.post("/admin/musterstadt/archiv-export").status_code == 403
    assert client.get("/admin/musterstadt/archiv-export/x.zip").status_code == 403
