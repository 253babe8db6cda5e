"""Stable identifiers (RFC 4151 ``tag:`` URIs) for notices and their versions.

A feed id must never change once a reader has seen it, so it is built only from facts
that are fixed when a notice is first put online: the installation's host name, the
Bereitstellungstag, the tenant and the notice number. A correction gets the same notice
URI with a higher ``/v<n>``; its id is new, the old version's id stays as it was.
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import quote, urlsplit

_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


def tag_authority(base_url_or_host: str) -> str:
    """Return the host part usable as a tag authority (lower case, no port, no scheme)."""
    value = base_url_or_host.strip()
    host = urlsplit(value).hostname if "://" in value else value.split(":", 1)[0]
    host = (host or "").lower().rstrip(".")
    if not host or not all(_DNS_LABEL.match(label) for label in host.split(".")):
        raise ValueError(f"not a usable host name for tag URIs: {base_url_or_host!r}")
    return host


def _part(value: str) -> str:
    # Tag-specific parts allow RFC 3986 pchars and "/"; everything else is percent-encoded.
    return quote(value, safe="-._~!$&'()*+,;=:@")


def notice_tag(authority: str, provided_on: date, tenant: str, notice_number: str) -> str:
    """Identifier of a notice across all its versions.

    ``provided_on`` is the notice's Bereitstellungstag, a date on which the authority
    owned the host name, as RFC 4151 asks.
    """
    return (
        f"tag:{tag_authority(authority)},{provided_on.isoformat()}:"
        f"{_part(tenant)}/{_part(notice_number)}"
    )


def version_tag(notice_uri: str, version: int) -> str:
    """Identifier of one version of a notice, e.g. ``tag:host,2026-03-01:gemeinde/2026-0007/v2``."""
    if version < 1:
        raise ValueError("versions count from 1")
    return f"{notice_uri}/v{version}"


def feed_tag(authority: str, minted_on: date, name: str) -> str:
    """Identifier of a feed (Atom ``<id>``), e.g. ``tag:host,2026-01-01:gemeinde/feeds/notices``."""
    path = "/".join(_part(segment) for segment in name.split("/"))
    return f"tag:{tag_authority(authority)},{minted_on.isoformat()}:{path}"
