"""A device keeps one display record (issue 16): re-enrolment by provisioning key with the
same device identity returns the same display; a re-imaged device (new identity) under the
hostname of an offline display waits for staff to choose "Gerät tauschen"."""

from __future__ import annotations

import shutil
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from server.models import Display, Heartbeat, PairingRequest
from server.services.displays import enrolment
from tests.conftest import login

from .conftest import API
from .test_player_integration import RealServer
from .test_player_integration import running_clock as running_clock  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "player"))
from player_process import PlayerProcess, wait_for  # noqa: E402

KEY_A = "device-key-aaaaaaaaaaaaaaaaaaaa"
KEY_B = "device-key-bbbbbbbbbbbbbbbbbbbb"


def _enrol(client, plain, key="", hostname="pi-gemeindehaus"):
    body = {"player_version": "1.0", "hostname": hostname, "provisioning_token": plain}
    if key:
        body["device_key"] = key
    return client.post(API + "enroll", json=body)


def _displays(session, tenant) -> list[Display]:
    session.expire_all()
    return list(session.scalars(select(Display).where(Display.tenant_id == tenant.id)))


def test_same_identity_returns_the_same_display(client, dw, session, now):
    _, plain = enrolment.create_provisioning_token(
        session, dw.tenant, dw.admin, "Rollout", now, max_uses=1
    )
    session.commit()
    first = _enrol(client, plain, KEY_A)
    assert first.status_code == 201
    again = _enrol(client, plain, KEY_A)  # after a reboot of a read-only Pi
    assert again.status_code == 201, again.get_data(as_text=True)
    assert again.json["display"] == first.json["display"]
    assert again.json["token"] != first.json["token"]
    # The earlier token stops working; the new one works.
    assert client.get(API + "manifest", headers=_bearer(first.json["token"])).status_code == 401
    assert client.get(API + "manifest", headers=_bearer(again.json["token"])).status_code == 200
    names = [d.name for d in _displays(session, dw.tenant)]
    assert names.count("pi-gemeindehaus (neu)") == 1  # and max_uses=1 was not used up again


def test_second_device_sharing_a_hostname_while_the_first_is_online_is_a_new_display(
    client, dw, session, now
):
    _, plain = enrolment.create_provisioning_token(session, dw.tenant, dw.admin, "Rollout", now)
    session.commit()
    first = _enrol(client, plain, KEY_A, hostname="raspberrypi")
    client.post(
        API + "heartbeat", json={"player_version": "1.0"}, headers=_bearer(first.json["token"])
    )
    second = _enrol(client, plain, KEY_B, hostname="raspberrypi")
    assert second.status_code == 201 and second.json["status"] == "paired"
    assert second.json["display"]["id"] != first.json["display"]["id"]


def test_revoked_or_retired_displays_do_not_come_back_silently(client, dw, session, now):
    _, plain = enrolment.create_provisioning_token(session, dw.tenant, dw.admin, "Rollout", now)
    session.commit()
    first = _enrol(client, plain, KEY_A)
    display = session.get(Display, int(first.json["display"]["id"]))
    enrolment.revoke_display(session, display, dw.admin, now)
    session.commit()
    held = _enrol(client, plain, KEY_A)
    assert held.json["status"] == "pending"  # staff decide about a revoked device
    enrolment.retire_display(session, session.get(Display, display.id), dw.admin, now)
    session.commit()
    fresh = _enrol(client, plain, KEY_A)
    assert fresh.json["status"] == "paired"
    assert fresh.json["display"]["id"] != str(display.id)


def test_retire_and_swap_forms_reject_bad_input_without_500(client, dw, session, now):
    login(client, dw.admin.email)
    base = f"/admin/{dw.tenant.slug}/anzeigen/"
    r = client.post(base + f"{dw.display.id}/ausser-betrieb", data={})
    assert r.status_code == 302
    assert session.get(Display, dw.display.id).retired_at is None
    r = client.post(base + "geraetetausch/999999", data={"decision": "tauschen"})
    assert r.status_code == 303
    r = client.post(base + "geraetetausch/1", data={"decision": "??"})
    assert r.status_code == 303
    other = client.post(f"/admin/{dw.other.slug}/anzeigen/{dw.other_display.id}/ausser-betrieb")
    assert other.status_code in (403, 404)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_real_player_keeps_its_display_across_wipe_and_asks_for_a_swap_when_reimaged(
    app,
    dw,
    session,
    now,
    tmp_path,
    running_clock,  # noqa: F811
    client,
):
    _, plain = enrolment.create_provisioning_token(session, dw.tenant, dw.admin, "Rollout", now)
    session.commit()
    before = {d.id for d in _displays(session, dw.tenant)}
    server = RealServer(app).start()
    player = PlayerProcess(tmp_path, server.url, provisioning_token=plain)
    try:
        player.start()
        wait_for(lambda: player.get("/local/state")["enrolled"], what="enrolled")
        (new_id,) = {d.id for d in _displays(session, dw.tenant)} - before
        wait_for(lambda: _heartbeats(session, new_id) >= 1, what="first heartbeat")
        identity = (player.state_dir / "identity").read_text()

        # Reboot of a read-only Pi: everything but the identity is gone.
        player.stop()
        for path in player.state_dir.iterdir():
            if path.name != "identity":
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        player.start()
        wait_for(lambda: player.get("/local/state")["enrolled"], what="enrolled again")
        wait_for(lambda: _heartbeats(session, new_id) >= 2, what="heartbeat after restart")
        assert {d.id for d in _displays(session, dw.tenant)} - before == {new_id}
        assert (player.state_dir / "identity").read_text() == identity

        # Re-imaged: the identity is gone too, and the old display has gone offline.
        player.stop()
        shutil.rmtree(player.state_dir)
        start = time.monotonic()
        app.config["AUSHANG_CLOCK"] = lambda: (
            now + timedelta(minutes=10, seconds=time.monotonic() - start)
        )
        player.start()
        code = wait_for(lambda: player.get("/local/state")["pairing_code"], what="swap code")
        assert {d.id for d in _displays(session, dw.tenant)} - before == {new_id}
        candidates = enrolment.swap_candidates(session, dw.tenant, now + timedelta(minutes=10))
        assert [(c.code, c.candidate_display_id) for c in candidates] == [(code, new_id)]

        login(client, dw.admin.email)
        page = client.get(f"/admin/{dw.tenant.slug}/anzeigen/").get_data(as_text=True)
        assert page.count("Gerät tauschen: wird") == 1 and code in page
        r = client.post(
            f"/admin/{dw.tenant.slug}/anzeigen/geraetetausch/{candidates[0].id}",
            data={"decision": "tauschen"},
        )
        assert r.status_code == 302
        wait_for(lambda: player.get("/local/state")["enrolled"], what="enrolled after swap")
        count = _heartbeats(session, new_id)
        wait_for(lambda: _heartbeats(session, new_id) > count, what="heartbeat after swap")
        assert {d.id for d in _displays(session, dw.tenant)} - before == {new_id}
        session.expire_all()
        assert (
            session.scalar(
                select(func.count())
                .select_from(PairingRequest)
                .where(
                    PairingRequest.candidate_display_id == new_id,
                    PairingRequest.display_id.is_(None),
                )
            )
            == 0
        )
    finally:
        player.stop()
        server.stop()


def _heartbeats(session, display_id: int) -> int:
    session.expire_all()
    return session.scalar(
        select(func.count()).select_from(Heartbeat).where(Heartbeat.display_id == display_id)
    )


def test_devices_of_a_rollout_sharing_a_hostname_enrol_at_once_as_new_displays(
    client, dw, session, now
):
    _, plain = enrolment.create_provisioning_token(session, dw.tenant, dw.admin, "Rollout", now)
    session.commit()
    answers = [_enrol(client, plain, f"device-key-{n:020d}", "raspberrypi") for n in range(3)]
    assert [a.json["status"] for a in answers] == ["paired"] * 3
    assert len({a.json["display"]["id"] for a in answers}) == 3
