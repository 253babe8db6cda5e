"""Content sync: the applied manifest, the warnings in force, and the files they need.

A new manifest is *pending* until every file it refers to is stored and verified; only then
is it written to disk (manifest last) and applied, and files nothing refers to any more are
pruned. Warnings need no download: they are taken over at once and persisted at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Protocol

from player.cache import Cache
from player.client import ManifestAnswer
from player.clock import TimeBase
from player.manifest import (
    Alert,
    Blob,
    Manifest,
    blobs_of,
    crest_of,
    parse_alerts,
    parse_manifest,
)
from player.protocol import ProtocolError
from player.status import kv
from player.view import Content

log = logging.getLogger("player")


class AssetClient(Protocol):
    def asset(self, sha256: str) -> AbstractContextManager[Iterator[bytes]]: ...


class ContentSync:
    def __init__(self, client: AssetClient, cache: Cache, time: TimeBase) -> None:
        self.client = client
        self.cache = cache
        self.time = time
        self.manifest: Manifest | None = None
        self.etag: str | None = None
        self.warnings: tuple[Alert, ...] = ()
        self._pending: Manifest | None = None
        self._pending_etag: str | None = None

    # -- start-up ------------------------------------------------------------------------

    def load(self) -> None:
        """The state on disk, as the last run left it."""
        stored = self.cache.load_manifest()
        if stored and isinstance(stored.get("manifest"), dict):
            try:
                self.manifest = parse_manifest(stored["manifest"])
                self.etag = stored.get("etag") or self.manifest.etag
            except ProtocolError as exc:
                log.warning(kv(event="cache_manifest_invalid", error=exc))
        self.warnings = self._stored_warnings()
        if self.manifest:
            # Damaged files are deleted here and fetched again in the next pass.
            missing = [s for s in self._blobs(self.manifest) if not self.cache.verify(s)]
            if missing:
                log.warning(kv(event="cache_files_missing", count=len(missing)))

    def _stored_warnings(self) -> tuple[Alert, ...]:
        stored = self.cache.read_json("warnings.json")
        if isinstance(stored, dict) and isinstance(stored.get("warnings"), list):
            try:
                return parse_alerts(stored["warnings"])
            except ProtocolError as exc:
                log.warning(kv(event="cache_warnings_invalid", error=exc))
        return self.manifest.warnings if self.manifest else ()

    def forget(self) -> None:
        """A revoked device shows nothing but a new pairing code."""
        self.cache.remove("manifest.json")
        self.cache.remove("warnings.json")
        self.manifest, self.etag, self.warnings, self._pending = None, None, (), None

    # -- what is held --------------------------------------------------------------------

    def content(self) -> Content:
        return Content.of(self.manifest, self.warnings)

    def display_id(self) -> str | None:
        manifest = self.manifest or self._pending
        return manifest.display_id if manifest else None

    def media_types(self) -> dict[str, str]:
        held = self.manifest
        items, alerts = (
            (held.items, (*held.warnings, *self.warnings)) if held else ((), self.warnings)
        )
        found = blobs_of(items, alerts)
        crest = crest_of(held)
        if crest is not None:
            found[crest.sha256] = crest
        return {sha: b.media_type for sha, b in found.items()}

    def _blobs(self, manifest: Manifest) -> dict[str, Blob]:
        found = blobs_of(manifest.items, manifest.warnings)
        crest = crest_of(manifest)  # the head line's crest, cached like every file
        if crest is not None:
            found[crest.sha256] = crest
        return found

    # -- one pass ------------------------------------------------------------------------

    def needs_files(self) -> bool:
        if self._pending is not None:
            return True
        return self.manifest is not None and any(
            not self.cache.has(s) for s in self._blobs(self.manifest)
        )

    def receive(self, answer: ManifestAnswer) -> bool:
        """Take a new manifest as pending; True when the warnings in force changed."""
        manifest = parse_manifest(answer.manifest)
        self.time.observe(manifest.server_time)
        self._pending, self._pending_etag = manifest, answer.etag or manifest.etag
        if [w.raw for w in manifest.warnings] == [w.raw for w in self.warnings]:
            return False
        self.warnings = manifest.warnings
        self.cache.write_json("warnings.json", {"warnings": [w.raw for w in self.warnings]})
        return True

    def fetch_missing(self, on_visible: Callable[[], None]) -> None:
        """Download what the manifests lack; ``on_visible`` after each file that changes
        what the screen can show (one of the applied manifest or of a warning)."""
        warning_shas = set(blobs_of((), self.warnings))
        for manifest in (self.manifest, self._pending):
            if not manifest:
                continue
            # Files of warnings first: they are on screen within the second.
            order = sorted(
                self._blobs(manifest).values(), key=lambda b: b.sha256 not in warning_shas
            )
            for blob in order:
                if self.cache.has(blob.sha256):
                    continue
                with self.client.asset(blob.sha256) as chunks:
                    self.cache.store_asset(blob.sha256, blob.size, chunks)
                log.debug(kv(event="asset_stored", sha256=blob.sha256[:12]))
                if manifest is self.manifest or blob.sha256 in warning_shas:
                    on_visible()

    def commit_pending(self) -> bool:
        """Apply the pending manifest once its files are all there; True when applied."""
        manifest, etag = self._pending, self._pending_etag
        if manifest is None:
            return False
        self.cache.save_manifest({"etag": etag, "manifest": manifest.raw})  # manifest last
        self.manifest, self.etag = manifest, etag
        self._pending = None
        log.info(
            kv(
                event="manifest_applied",
                revision=manifest.revision,
                items=len(manifest.items),
                warnings=len(manifest.warnings),
            )
        )
        return True

    def prune(self) -> None:
        """Remove the files no applied manifest refers to any more."""
        if self.manifest is None:
            return
        removed = self.cache.remove_unused(set(self._blobs(self.manifest)))
        if removed:
            log.info(kv(event="cache_pruned", files=len(removed)))
