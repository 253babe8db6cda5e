"""The display seam parses each archived document once (documents never change, W14)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from server.services import alerts as svc

TOWN_ARS = "150870045045"


def _data(tenant, headline="Hochwasser an der Gonna", stufe=1):
    texts = svc.template("hochwasser").texts(tenant.name)
    return svc.ManualAlertInput(
        template_key="hochwasser",
        area_desc=tenant.name,
        tenant_ids=[tenant.id],
        warnstufe=stufe,
        headline=headline,
        description=texts["description"],
        instruction=texts["instruction"],
        sender_name="Ordnungsamt",
    )


class CountingParser:
    """The real parser, counting the documents it was asked to parse."""

    def __init__(self) -> None:
        self.parsed: list[int] = []

    def __call__(self, doc):
        self.parsed.append(doc.id)
        return svc.parse_document(doc)


def _issue(session, tenant, user, now, **kw):
    return svc.issue_manual(
        session,
        tenant=tenant,
        user=user,
        data=_data(tenant, **kw),
        now=now,
        policy=svc.AlertPolicy(),
    )


def test_second_call_does_not_parse_again(factory, session, now):
    town = factory.tenant("sangerhausen", ars=TOWN_ARS)
    alerter = factory.user(town, "alerter")
    first = _issue(session, town, alerter, now)
    second = _issue(session, town, alerter, now, headline="Gefahrstoffaustritt", stufe=2)
    session.commit()
    parser = CountingParser()
    cache = svc.MessageCache(parse=parser)

    shown = svc.active_alerts_for_place(session, tenant=town, now=now, cache=cache)
    assert {a.record.id for a in shown} == {first.id, second.id}
    assert sorted(parser.parsed) == sorted([first.document.id, second.document.id])

    again = svc.active_alerts_for_place(
        session, tenant=town, now=now + timedelta(seconds=5), cache=cache
    )
    assert [a.alert for a in again] == [a.alert for a in shown]
    assert len(parser.parsed) == 2  # nothing parsed the second time

    # An Update adds a document: only that one is parsed.
    update = svc.update_manual(
        session,
        tenant=town,
        user=alerter,
        record_id=first.id,
        data=_data(town, headline="Hochwasser: Pegel sinkt"),
        now=now + timedelta(minutes=1),
        policy=svc.AlertPolicy(),
    )
    session.commit()
    svc.active_alerts_for_place(session, tenant=town, now=now + timedelta(minutes=1), cache=cache)
    assert parser.parsed[2:] == [update.document.id]


def test_cache_is_bounded_and_keyed_by_content(factory, session, now):
    town = factory.tenant("sangerhausen", ars=TOWN_ARS)
    alerter = factory.user(town, "alerter")
    records = [_issue(session, town, alerter, now, headline=f"Lage {i}") for i in range(3)]
    session.commit()
    parser = CountingParser()
    cache = svc.MessageCache(maxsize=2, parse=parser)
    for record in records:
        assert svc.load_message(record, cache).headline == record.headline
    assert len(cache) == 2
    svc.load_message(records[0], cache)  # the oldest was dropped: parsed again
    assert parser.parsed.count(records[0].document.id) == 2
    svc.load_message(records[2], cache)  # recently used: still there
    assert parser.parsed.count(records[2].document.id) == 1

    # Same row id, other bytes (a restored backup): never the stale message.
    doc = records[2].document
    fake = SimpleNamespace(id=doc.id, sha256="0" * 64)
    cache.parse = lambda d: svc.parse_document(records[1].document)
    assert cache.get(fake).headline == "Lage 1"
