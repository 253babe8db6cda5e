"""CAP 1.2 parsing (real fixtures, hostile input) and generation (XSD-valid, offsets)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from server.domain.alerts import (
    ManualTexts,
    ars_area,
    build_alert,
    build_cancel,
    build_update,
    make_identifier,
)
from server.sources.cap import (
    CAP_NS,
    CapError,
    CapForbiddenConstruct,
    CapInvalidValue,
    CapMalformed,
    CapMissingField,
    CapTooLarge,
    CapWrongNamespace,
    alert_from_cap_json,
    build_cap_xml,
    parse_cap,
    read_limited,
)

ARS = "150870025025"
SENDER = "leitstelle@kreis-msh.example"


def _fixture(shared_fixtures: Path, name: str) -> bytes:
    return (shared_fixtures / "cap" / name).read_bytes()


def _validate(cap_xsd, data: bytes) -> None:
    from lxml import etree

    doc = etree.fromstring(data)
    if not cap_xsd.validate(doc):
        raise AssertionError(str(cap_xsd.error_log))


CAP_FIXTURES = [
    "Oasis_ThunderstormWarning.xml",
    "Oasis_EarthquakeReport.xml",
    "Oasis_AmberAlert.xml",
    "NWS_FireWeatherWatchCancel.xml",
    "dwd_alert_windboeen_2023-06-22.xml",
    "dwd_update_starkregen_2023-06-23.xml",
]


@pytest.mark.parametrize("name", CAP_FIXTURES)
def test_every_fixture_parses_keeps_raw_bytes_and_round_trips_valid(shared_fixtures, cap_xsd, name):
    raw = _fixture(shared_fixtures, name)
    parsed = parse_cap(raw)
    assert parsed.raw == raw
    assert parsed.alert.identifier and parsed.alert.sender
    assert parsed.alert.sent.tzinfo is not None
    # What we parsed we can write again as valid CAP.
    _validate(cap_xsd, build_cap_xml(parsed.alert))


def test_dwd_multilanguage_alert(shared_fixtures):
    alert = parse_cap(_fixture(shared_fixtures, "dwd_alert_windboeen_2023-06-22.xml")).alert
    assert alert.msg_type == "Alert"
    assert alert.sender == "opendata@dwd.de"
    assert len(alert.infos) == 8
    languages = {i.language for i in alert.infos}
    assert "de-DE" in languages and len(languages) == 8
    assert sum(len(i.areas) for i in alert.infos) == 1352
    primary = alert.primary_info()
    assert primary is not None and primary.language == "de-DE"
    assert any(g.value_name == "WARNCELLID" for a in primary.areas for g in a.geocodes)


def test_dwd_update_references(shared_fixtures):
    alert = parse_cap(_fixture(shared_fixtures, "dwd_update_starkregen_2023-06-23.xml")).alert
    assert alert.msg_type == "Update"
    (ref,) = alert.parsed_references()
    assert ref.sender == "opendata@dwd.de"
    assert ref.identifier.startswith("2.49.0.0.276.0.DWD.PVW.1687503060000.")
    assert ref.sent == "2023-06-23T08:51:00+02:00"
    assert alert.referenced_identifiers() == {ref.identifier}
    polygon = alert.infos[0].areas[0].polygons[0]
    assert polygon[0] == (52.625569, 12.172358)


def test_cancel_and_update_fixtures(shared_fixtures):
    cancel = parse_cap(_fixture(shared_fixtures, "NWS_FireWeatherWatchCancel.xml")).alert
    assert cancel.msg_type == "Cancel"
    assert cancel.referenced_identifiers() == {
        "urn:oid:2.49.0.1.840.0.1b30bfeb3d4f67abd849b064811d657a163f2249.001.1"
    }
    quake = parse_cap(_fixture(shared_fixtures, "Oasis_EarthquakeReport.xml")).alert
    assert [str(r) for r in quake.parsed_references()] == [
        "trinet@caltech.edu,TRI13970876.1,2003-06-11T20:30:00-07:00"
    ]
    assert quake.infos[0].areas[0].circles[0].center == (32.9525, -115.5527)


def _texts() -> ManualTexts:
    return ManualTexts(
        event="Hochwasser",
        category="Met",
        headline="Hochwassergefahr in Sangerhausen",
        description="Die Pegelstände der Gonna steigen.",
        instruction="Meiden Sie Ufer und Keller.",
        sender_name="Landkreis Mansfeld-Südharz, Katastrophenschutz",
        response_type="Prepare",
    )


def _issue(sent: datetime, expires: datetime | None = None):
    return build_alert(
        identifier=make_identifier(ARS, "2f0c6b1e-1111-4a4a-9d9d-000000000001"),
        sender=SENDER,
        sent=sent,
        warnstufe=1,
        texts=_texts(),
        areas=[ars_area("Stadt Sangerhausen", [ARS])],
        expires=expires,
    )


OFFSET_RE = re.compile(rb"<(sent|effective|expires|onset)>[^<]*(\+0[12]:00)</\1>")


def test_generated_alert_update_cancel_validate_with_references(cap_xsd):
    winter = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
    alert = _issue(winter, expires=datetime(2026, 1, 15, 18, 0, tzinfo=UTC))
    update = build_update(
        alert,
        identifier=make_identifier(ARS, "2f0c6b1e-1111-4a4a-9d9d-000000000002"),
        sent=datetime(2026, 1, 15, 10, 0, tzinfo=UTC),
        warnstufe=2,
        texts=_texts(),
    )
    cancel = build_cancel(
        update,
        identifier=make_identifier(ARS, "2f0c6b1e-1111-4a4a-9d9d-000000000003"),
        sent=datetime(2026, 1, 15, 12, 0, tzinfo=UTC),
    )
    docs = [build_cap_xml(m) for m in (alert, update, cancel)]
    for doc in docs:
        _validate(cap_xsd, doc)
        assert b"Z<" not in doc
        assert b"+00:00" not in doc
    assert b"<sent>2026-01-15T10:30:00+01:00</sent>" in docs[0]
    assert (
        b"<references>leitstelle@kreis-msh.example,DE-150870025025-AUSHANG-"
        b"2f0c6b1e-1111-4a4a-9d9d-000000000001,2026-01-15T10:30:00+01:00</references>"
    ) in docs[1]
    assert (
        b"<references>leitstelle@kreis-msh.example,DE-150870025025-AUSHANG-"
        b"2f0c6b1e-1111-4a4a-9d9d-000000000002,2026-01-15T11:00:00+01:00</references>"
    ) in docs[2]
    assert b"<msgType>Cancel</msgType>" in docs[2]
    assert b"<responseType>AllClear</responseType>" in docs[2]
    assert b"<valueName>SHN</valueName>" in docs[0]
    # Our own documents parse back to the same message.
    assert parse_cap(docs[1]).alert.referenced_identifiers() == {alert.identifier}


@pytest.mark.parametrize(
    ("moment", "offset"),
    [
        (datetime(2026, 1, 15, 9, 30, tzinfo=UTC), b"+01:00"),
        (datetime(2026, 7, 15, 9, 30, tzinfo=UTC), b"+02:00"),
        # DST ends 2026-10-25 01:00 UTC; starts 2027-03-28 01:00 UTC.
        (datetime(2026, 10, 25, 0, 59, 59, tzinfo=UTC), b"+02:00"),
        (datetime(2026, 10, 25, 1, 0, 0, tzinfo=UTC), b"+01:00"),
        (datetime(2027, 3, 28, 0, 59, 59, tzinfo=UTC), b"+01:00"),
        (datetime(2027, 3, 28, 1, 0, 0, tzinfo=UTC), b"+02:00"),
    ],
)
def test_offsets_follow_berlin_time(cap_xsd, moment, offset):
    doc = build_cap_xml(_issue(moment))
    _validate(cap_xsd, doc)
    offsets = {m.group(2) for m in OFFSET_RE.finditer(doc)}
    assert offsets == {offset}


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&xxe;</identifier></alert>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol9;</identifier></alert>"""

MINIMAL = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="{ns}">
  <identifier>X-1</identifier>
  <sender>a@b.example</sender>
  <sent>{sent}</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  {info}
</alert>"""
INFO = (
    "<info><category>Met</category><event>Sturm</event><urgency>Immediate</urgency>"
    "<severity>Severe</severity><certainty>Likely</certainty></info>"
)


def _doc(ns=CAP_NS, sent="2026-01-15T10:30:00+01:00", info=INFO, drop: str | None = None) -> bytes:
    text = MINIMAL.format(ns=ns, sent=sent, info=info)
    if drop:
        text = re.sub(rf"<{drop}>[^<]*</{drop}>", "", text)
    return text.encode()


def test_minimal_document_parses():
    alert = parse_cap(_doc()).alert
    assert alert.identifier == "X-1" and alert.severity == "Severe"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (XXE, CapForbiddenConstruct),
        (LAUGHS, CapForbiddenConstruct),
        (_doc(ns="urn:oasis:names:tc:emergency:cap:1.1"), CapWrongNamespace),
        (_doc(ns=""), CapWrongNamespace),
        (_doc(drop="identifier"), CapMissingField),
        (_doc(drop="sender"), CapMissingField),
        (_doc(drop="scope"), CapMissingField),
        (_doc(info=INFO.replace("<event>Sturm</event>", "")), CapMissingField),
        (_doc(sent="2026-01-15T09:30:00Z"), CapInvalidValue),
        (_doc(info=INFO.replace("Severe", "Gefährlich")), CapInvalidValue),
        (b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><identifier>", CapMalformed),
        (b"", CapMalformed),
        (b"<html><body>Fehler</body></html>", CapWrongNamespace),
    ],
)
def test_hostile_or_broken_input_is_refused_with_german_reason(data, error):
    with pytest.raises(error) as info:
        parse_cap(data)
    assert isinstance(info.value, CapError)
    assert info.value.message and 400 <= info.value.status_code < 500


def test_missing_field_names_the_field():
    with pytest.raises(CapMissingField, match="„identifier“ fehlt"):
        parse_cap(_doc(drop="identifier"))


class EndlessStream(io.RawIOBase):
    """50 MB of XML-ish bytes produced on demand; counts what was read."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.pos = 0
        self.served = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = {0: offset, 1: self.pos + offset, 2: self.total + offset}[whence]
        return self.pos

    def read(self, size: int = -1) -> bytes:
        n = min(self.total - self.pos, 65536 if size < 0 else size)
        self.pos += n
        self.served += n
        return b"<" * n


def test_fifty_megabytes_are_refused_before_parsing():
    stream = EndlessStream(50 * 1024 * 1024)
    with pytest.raises(CapTooLarge, match="zu groß"):
        read_limited(stream, max_bytes=1_000_000)
    assert stream.served <= 1_000_001
    with pytest.raises(CapTooLarge):
        parse_cap(b" " * 1_000_001)


def test_read_limited_returns_small_bodies_whole():
    assert read_limited(io.BytesIO(_doc())) == _doc()


def test_cap_json_equivalent():
    alert = alert_from_cap_json(
        {
            "identifier": "LS-1",
            "sender": "leitstelle@example.org",
            "sent": "2026-07-01T12:00:00+02:00",
            "status": "Exercise",
            "msgType": "Alert",
            "scope": "Public",
            "info": [
                {
                    "language": "de-DE",
                    "category": ["Fire"],
                    "event": "Großbrand",
                    "urgency": "Immediate",
                    "severity": "Extreme",
                    "certainty": "Observed",
                    "headline": "Großbrand im Gewerbegebiet",
                    "area": [
                        {
                            "areaDesc": "Sangerhausen",
                            "geocode": [{"valueName": "SHN", "value": ARS}],
                        }
                    ],
                }
            ],
        }
    )
    assert alert.status == "Exercise" and alert.headline == "Großbrand im Gewerbegebiet"
    with pytest.raises(CapMissingField):
        alert_from_cap_json({"identifier": "x"})
    with pytest.raises(CapMalformed):
        alert_from_cap_json(["not", "an", "object"])
