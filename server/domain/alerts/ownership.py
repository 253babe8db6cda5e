"""Who may reuse an identifier or reference a message (issue 11).

Local warnings (manual and control-centre API) share one identifier space, and CAP
lets any message replace another by naming it: the same ``identifier`` with a newer
``sent`` is a new version, an ``Update`` or ``Cancel`` ends what its ``references``
name. Identifiers are public (warning feeds, CAP URLs), so without an owner check a
control centre of one Kommune could rewrite or end another Kommune's warnings.

Every stored message therefore belongs to an :class:`Issuer`:

* a tenant speaking as one CAP ``sender`` (API tokens and manual messages), or
* the NINA source (MoWaS, DWD, … polled from the NINA dashboards).

A message may reuse an identifier or reference a message only of its own issuer
scope. The scope is the tenant *and* the sender, not the single token: a Leitstelle
that rotates its token, or sends from a standby system with a second token, must
still be able to update and above all cancel its live warnings; a second sender of
the same tenant (another office with its own token) must not touch them. NINA's
messages are never in any tenant's scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from ..errors import DomainError
from .model import Alert, parse_references
from .policy import _NINA_PREFIXES, strip_nina_prefix


@dataclass(frozen=True)
class Issuer:
    """The scope a message belongs to: a tenant as one CAP sender, or NINA."""

    tenant_id: int | None
    sender: str
    nina: bool = False

    @classmethod
    def nina_source(cls) -> Issuer:
        return cls(tenant_id=None, sender="", nina=True)

    def may_act_for(self, owner: Issuer) -> bool:
        """True if a message of this scope may replace or reference one of ``owner``."""
        return (
            not self.nina
            and not owner.nina
            and self.tenant_id is not None
            and self.tenant_id == owner.tenant_id
            and self.sender == owner.sender
        )


@dataclass(frozen=True)
class Stored:
    """A stored message an incoming one might name, and whose it is."""

    identifier: str
    owner: Issuer
    held: bool = False  # awaiting a second person's confirmation (W10)


class RefusalReason(StrEnum):
    IDENTIFIER_TAKEN = "identifier_taken"
    FOREIGN_REFERENCE = "foreign_reference"
    NINA_IDENTIFIER = "nina_identifier"
    NINA_REFERENCE = "nina_reference"


_MESSAGES = {
    RefusalReason.IDENTIFIER_TAKEN: (
        409,
        "Die Kennung „{id}“ gehört zu einer Meldung eines anderen Absenders. Bitte eine "
        "eigene, eindeutige Kennung verwenden.",
    ),
    RefusalReason.FOREIGN_REFERENCE: (
        403,
        "Die Meldung verweist auf „{id}“, eine Meldung eines anderen Absenders. "
        "Aktualisieren und aufheben darf nur, wer die Meldung herausgegeben hat.",
    ),
    RefusalReason.NINA_IDENTIFIER: (
        409,
        "Die Kennung „{id}“ gehört zu einer Meldung aus NINA/MoWaS und kann über diesen "
        "Zugang nicht verwendet werden.",
    ),
    RefusalReason.NINA_REFERENCE: (
        403,
        "Die Meldung verweist auf „{id}“, eine Meldung aus NINA/MoWaS. Solche Meldungen "
        "ändert und hebt nur die herausgebende Stelle über NINA auf.",
    ),
}


class OwnershipRefused(DomainError):
    """An incoming message names a message outside its issuer scope."""

    def __init__(self, reason: RefusalReason, identifier: str) -> None:
        status, text = _MESSAGES[reason]
        super().__init__(text.format(id=identifier[:120]))
        self.status = status
        self.reason = reason
        self.identifier = identifier


def _norm(identifier: str) -> str:
    return strip_nina_prefix(identifier.strip())


def lookup_names(alert: Alert) -> set[str]:
    """Every stored identifier the message could name: its own and its references,
    with and without the NINA prefixes (NINA references drop them now and then)."""
    names = {alert.identifier, *alert.referenced_identifiers()}
    bare = {_norm(n) for n in names}
    return names | bare | {f"{p}.{n}" for p in _NINA_PREFIXES for n in bare}


def check_ownership(alert: Alert, issuer: Issuer, stored: Iterable[Stored]) -> None:
    """Raise :class:`OwnershipRefused` unless ``alert`` names only messages of ``issuer``.

    ``stored`` are the messages found under :func:`lookup_names` (local and NINA). The
    message's own identifier may be reused only by the owner (a new version, or an
    idempotent repeat); every identifier in ``references`` must belong to the same
    scope, and a strict ``sender,identifier,sent`` triple must name the sender that
    issued it. A reference to something nobody holds refers to nothing and is left to
    the lifecycle (a Cancel of nothing ends nothing).
    """
    own = _norm(alert.identifier)
    referenced = {_norm(i) for i in alert.referenced_identifiers()}
    triple_senders: dict[str, set[str]] = {}
    for ref in parse_references(alert.references or ""):
        triple_senders.setdefault(_norm(ref.identifier), set()).add(ref.sender)
    items = list(stored)
    # Own identifier first: a reused identifier is the clearer message.
    for item in sorted(items, key=lambda s: _norm(s.identifier) != own):
        name = _norm(item.identifier)
        if name == own:
            if item.owner.nina:
                raise OwnershipRefused(RefusalReason.NINA_IDENTIFIER, alert.identifier)
            if item.held or not issuer.may_act_for(item.owner):
                raise OwnershipRefused(RefusalReason.IDENTIFIER_TAKEN, alert.identifier)
        if name in referenced:
            if item.owner.nina:
                raise OwnershipRefused(RefusalReason.NINA_REFERENCE, item.identifier)
            if not issuer.may_act_for(item.owner) or any(
                s != item.owner.sender for s in triple_senders.get(name, ())
            ):
                raise OwnershipRefused(RefusalReason.FOREIGN_REFERENCE, item.identifier)
