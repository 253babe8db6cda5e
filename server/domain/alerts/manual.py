"""Manual Schadenslagen (W10): templates and the CAP messages we issue ourselves.

Templates carry German default texts that an alerter edits in a stressful moment;
``{gebiet}`` in a text is replaced by the area description chosen on the form. Each
issued message is a complete CAP 1.2 :class:`~.model.Alert`; an Update or Cancel
references the message it replaces with a ``sender,identifier,sent`` triple (W11).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType

from ..ars import validate_area_code, validate_ars
from .model import Alert, Area, Info, ValuePair
from .policy import severity_for_warnstufe

# MoWaS names 12-digit ARS values "SHN" in area geocodes; we do the same.
ARS_GEOCODE = "SHN"
LANGUAGE = "de-DE"


@dataclass(frozen=True)
class SchadenslageTemplate:
    """A ready-made warning text for a typical local emergency."""

    key: str
    name: str
    event: str
    category: str
    response_type: str
    default_warnstufe: int
    headline: str
    description: str
    instruction: str

    def texts(self, area: str) -> dict[str, str]:
        """Headline, description and instruction with ``{gebiet}`` filled in."""
        return {
            "headline": self.headline.replace("{gebiet}", area),
            "description": self.description.replace("{gebiet}", area),
            "instruction": self.instruction.replace("{gebiet}", area),
        }


_TEMPLATES = (
    SchadenslageTemplate(
        key="hochwasser",
        name="Hochwasser",
        event="Hochwasser",
        category="Met",
        response_type="Prepare",
        default_warnstufe=1,
        headline="Hochwassergefahr in {gebiet}",
        description=(
            "Die Pegelstände steigen weiter an. In {gebiet} ist mit Überflutungen von "
            "Straßen, Kellern und tiefliegenden Grundstücken zu rechnen. Deiche und "
            "Uferbereiche sind stark belastet."
        ),
        instruction=(
            "Meiden Sie Ufer, Deiche und überflutete Straßen. Fahren und gehen Sie nicht "
            "durch überflutete Bereiche. Bringen Sie Fahrzeuge und Wertgegenstände aus "
            "tiefliegenden Bereichen in Sicherheit. Schalten Sie in gefährdeten Kellern "
            "den Strom ab. Folgen Sie den Anweisungen der Einsatzkräfte und informieren "
            "Sie Ihre Nachbarn."
        ),
    ),
    SchadenslageTemplate(
        key="unwetter",
        name="Unwetter",
        event="Unwetter",
        category="Met",
        response_type="Shelter",
        default_warnstufe=2,
        headline="Unwetterwarnung für {gebiet}",
        description=(
            "Über {gebiet} ziehen schwere Gewitter mit Orkanböen, Starkregen und Hagel. "
            "Es besteht Gefahr durch umstürzende Bäume, herabfallende Gegenstände und "
            "überflutete Straßen."
        ),
        instruction=(
            "Suchen Sie ein festes Gebäude auf und bleiben Sie dort. Halten Sie Abstand "
            "zu Bäumen, Gerüsten und Hochspannungsleitungen. Schließen Sie Fenster und "
            "Türen und sichern Sie lose Gegenstände im Freien. Meiden Sie Unterführungen "
            "und Keller, wenn Wasser eindringt."
        ),
    ),
    SchadenslageTemplate(
        key="trinkwasser",
        name="Trinkwasser",
        event="Verunreinigung des Trinkwassers",
        category="Health",
        response_type="Avoid",
        default_warnstufe=2,
        headline="Abkochgebot für Trinkwasser in {gebiet}",
        description=(
            "Im Trinkwasser in {gebiet} wurden Keime nachgewiesen. Das Gesundheitsamt hat "
            "ein Abkochgebot angeordnet. Die Ursache wird untersucht, das Netz wird gespült "
            "und gechlort."
        ),
        instruction=(
            "Verwenden Sie Leitungswasser zum Trinken, Zähneputzen, zur Zubereitung von "
            "Speisen und Säuglingsnahrung sowie zum Reinigen offener Wunden nur, nachdem "
            "Sie es sprudelnd aufgekocht und langsam abgekühlt haben. Zum Duschen und "
            "für die Toilettenspülung kann es weiter genutzt werden. Das Gebot gilt bis "
            "zur ausdrücklichen Aufhebung."
        ),
    ),
    SchadenslageTemplate(
        key="gefahrstoff",
        name="Gefahrstoffaustritt",
        event="Gefahrstoffaustritt",
        category="CBRNE",
        response_type="Shelter",
        default_warnstufe=1,
        headline="Gefahrstoffaustritt – Gefahr durch Rauch und Gase in {gebiet}",
        description=(
            "Bei einem Brand bzw. Unfall werden gesundheitsschädliche Stoffe freigesetzt. "
            "Die Rauchwolke zieht über {gebiet}. Es kann zu Geruchsbelästigung und "
            "Reizungen von Augen und Atemwegen kommen."
        ),
        instruction=(
            "Gehen Sie sofort in ein Gebäude. Schließen Sie Fenster und Türen und schalten "
            "Sie Lüftungs- und Klimaanlagen ab. Meiden Sie den Aufenthalt im Freien und "
            "halten Sie Abstand zum Einsatzort. Bei Atembeschwerden wählen Sie den Notruf "
            "112. Telefonieren Sie nur im Notfall, um die Leitungen freizuhalten."
        ),
    ),
    SchadenslageTemplate(
        key="evakuierung",
        name="Evakuierung",
        event="Evakuierung",
        category="Safety",
        response_type="Evacuate",
        default_warnstufe=1,
        headline="Evakuierung in {gebiet}",
        description=(
            "Wegen einer akuten Gefahrenlage wird {gebiet} geräumt. Einsatzkräfte von "
            "Feuerwehr und Polizei sind vor Ort. Für Menschen ohne Unterkunft ist eine "
            "Betreuungsstelle eingerichtet."
        ),
        instruction=(
            "Verlassen Sie das Gebiet umgehend. Nehmen Sie wichtige Medikamente, "
            "Ausweisdokumente und Ladekabel mit. Helfen Sie Nachbarn, Älteren und Menschen "
            "mit Behinderung. Folgen Sie den Anweisungen der Einsatzkräfte und kehren Sie "
            "erst zurück, wenn die Behörden das Gebiet freigeben."
        ),
    ),
    SchadenslageTemplate(
        key="stromausfall",
        name="Stromausfall",
        event="Stromausfall",
        category="Infra",
        response_type="Prepare",
        default_warnstufe=3,
        headline="Großflächiger Stromausfall in {gebiet}",
        description=(
            "In {gebiet} ist die Stromversorgung ausgefallen. Der Netzbetreiber arbeitet "
            "an der Behebung; die Dauer ist derzeit nicht absehbar. Festnetz, Mobilfunk "
            "und Ampeln können gestört sein."
        ),
        instruction=(
            "Schalten Sie empfindliche Geräte aus, damit sie bei Rückkehr des Stroms "
            "keinen Schaden nehmen. Nutzen Sie Kerzen nur unter Aufsicht. In Notfällen "
            "erreichen Sie Hilfe an den Notfallinfopunkten (Feuerwehrhäuser) der "
            "Gemeinde. Achten Sie auf Nachbarn, die auf Strom angewiesen sind."
        ),
    ),
    SchadenslageTemplate(
        key="bombenentschaerfung",
        name="Bombenentschärfung",
        event="Kampfmittelfund",
        category="Safety",
        response_type="Evacuate",
        default_warnstufe=3,
        headline="Bombenentschärfung – Sperrgebiet in {gebiet}",
        description=(
            "Bei Bauarbeiten wurde ein Blindgänger aus dem Zweiten Weltkrieg gefunden. "
            "Der Kampfmittelbeseitigungsdienst entschärft ihn. Rund um den Fundort in "
            "{gebiet} wird ein Sperrgebiet eingerichtet, das vorher geräumt wird."
        ),
        instruction=(
            "Verlassen Sie das Sperrgebiet bis zum angegebenen Zeitpunkt und betreten Sie "
            "es erst nach der Freigabe wieder. Schließen Sie Fenster und Türen. Wer Hilfe "
            "beim Verlassen der Wohnung braucht, meldet sich beim Bürgertelefon der "
            "Gemeinde. Folgen Sie den Anweisungen von Polizei und Ordnungsamt."
        ),
    ),
)

TEMPLATES: Mapping[str, SchadenslageTemplate] = MappingProxyType({t.key: t for t in _TEMPLATES})


class UnknownTemplate(KeyError):
    """No Schadenslage template with this key."""


def template(key: str) -> SchadenslageTemplate:
    """The template with this key; raises :class:`UnknownTemplate`."""
    try:
        return TEMPLATES[key]
    except KeyError:
        raise UnknownTemplate(f"Unbekannte Vorlage „{key}“.") from None


def make_identifier(ars: str, token: str) -> str:
    """Identifier of a message we issue: ``DE-<ARS>-AUSHANG-<token>`` (token: a UUID)."""
    return f"DE-{validate_ars(ars)}-AUSHANG-{token}"


def ars_area(area_desc: str, ars_codes: Sequence[str]) -> Area:
    """An area named by ARS codes (geocode ``SHN``, as in MoWaS messages)."""
    return Area(
        area_desc=area_desc,
        geocodes=tuple(ValuePair(ARS_GEOCODE, validate_area_code(c)) for c in ars_codes),
    )


@dataclass(frozen=True)
class ManualTexts:
    """What an alerter fills in (or accepts from a template)."""

    event: str
    category: str
    headline: str
    description: str
    instruction: str
    sender_name: str
    response_type: str | None = None
    web: str | None = None
    contact: str | None = None


def build_alert(
    *,
    identifier: str,
    sender: str,
    sent: datetime,
    warnstufe: int,
    texts: ManualTexts,
    areas: Sequence[Area],
    expires: datetime | None = None,
    onset: datetime | None = None,
    status: str = "Actual",
    urgency: str = "Immediate",
    certainty: str = "Observed",
) -> Alert:
    """A new manual warning (msgType ``Alert``)."""
    if sent.tzinfo is None:
        raise ValueError("sent must be timezone-aware")
    info = Info(
        language=LANGUAGE,
        categories=(texts.category,),
        event=texts.event,
        response_types=(texts.response_type,) if texts.response_type else (),
        urgency=urgency,
        severity=severity_for_warnstufe(warnstufe),
        certainty=certainty,
        effective=sent,
        onset=onset,
        expires=expires,
        sender_name=texts.sender_name,
        headline=texts.headline,
        description=texts.description,
        instruction=texts.instruction,
        web=texts.web,
        contact=texts.contact,
        areas=tuple(areas),
    )
    return Alert(
        identifier=identifier,
        sender=sender,
        sent=sent,
        status=status,
        msg_type="Alert",
        scope="Public",
        infos=(info,),
    )


def references_for(previous: Sequence[Alert]) -> str:
    """The ``references`` value naming these messages."""
    return " ".join(str(a.reference()) for a in previous)


def build_update(
    previous: Alert,
    *,
    identifier: str,
    sent: datetime,
    warnstufe: int,
    texts: ManualTexts,
    areas: Sequence[Area] | None = None,
    expires: datetime | None = None,
    onset: datetime | None = None,
) -> Alert:
    """An Update that replaces ``previous`` (same sender, status and scope)."""
    fresh = build_alert(
        identifier=identifier,
        sender=previous.sender,
        sent=sent,
        warnstufe=warnstufe,
        texts=texts,
        areas=areas if areas is not None else _areas_of(previous),
        expires=expires,
        onset=onset,
        status=previous.status,
    )
    return replace(fresh, msg_type="Update", references=references_for([previous]))


def build_cancel(
    previous: Alert,
    *,
    identifier: str,
    sent: datetime,
    sender_name: str | None = None,
    description: str | None = None,
) -> Alert:
    """The Entwarnung for ``previous``: a Cancel that references it.

    The info block says so in plain German; its urgency is ``Past`` and its response
    ``AllClear``. Displays ignore the severity of a Cancel.
    """
    old = previous.primary_info()
    headline = f"Entwarnung: {old.headline}" if old and old.headline else "Entwarnung"
    info = Info(
        language=LANGUAGE,
        categories=old.categories if old else ("Other",),
        event=old.event if old else "Entwarnung",
        response_types=("AllClear",),
        urgency="Past",
        severity="Minor",
        certainty="Observed",
        effective=sent,
        sender_name=sender_name or (old.sender_name if old else None),
        headline=headline,
        description=description
        or "Die Gefahr ist vorüber. Die Warnung wurde von der zuständigen Behörde aufgehoben.",
        instruction="Es sind keine besonderen Maßnahmen mehr erforderlich.",
        web=old.web if old else None,
        contact=old.contact if old else None,
        areas=old.areas if old else (),
    )
    return Alert(
        identifier=identifier,
        sender=previous.sender,
        sent=sent,
        status=previous.status,
        msg_type="Cancel",
        scope=previous.scope,
        references=references_for([previous]),
        infos=(info,),
    )


def _areas_of(alert: Alert) -> tuple[Area, ...]:
    info = alert.primary_info()
    return info.areas if info else ()
