"""The on-disk checks of the process tests: pruning is not damage, a torn file is."""

from __future__ import annotations

import hashlib
import json

from player_process import PlayerProcess


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class PruningWhileChecked(PlayerProcess):
    """The running player prunes ``pruned`` between the listing and the reading."""

    pruned: set[str] = set()

    def read_asset(self, name: str) -> bytes | None:
        if name in self.pruned:
            (self.state_dir / "assets" / name).unlink(missing_ok=True)
        return super().read_asset(name)


def _device(tmp_path, cls=PlayerProcess):
    process = cls(tmp_path, "http://127.0.0.1:9")
    assets = process.state_dir / "assets"
    assets.mkdir(parents=True)
    kept, old = b"kept slide", b"old slide"
    for data in (kept, old):
        (assets / _sha(data)).write_bytes(data)
    item = {"slide": {"sha256": _sha(kept)}, "assets": []}
    manifest = {"etag": "r2", "manifest": {"items": [item]}}
    (process.state_dir / "manifest.json").write_text(json.dumps(manifest))
    return process, assets, kept, old


def test_a_file_pruned_during_the_check_is_not_damage(tmp_path):
    process, _, _, old = _device(tmp_path, PruningWhileChecked)
    process.pruned = {_sha(old)}
    assert process.consistency_problems() == []


def test_a_torn_unreferenced_file_with_its_final_name_is_damage(tmp_path):
    process, assets, _, old = _device(tmp_path)
    (assets / _sha(old)).write_bytes(old[:4])
    assert process.consistency_problems() == [f"damaged file with final name: {_sha(old)[:12]}"]


def test_a_referenced_file_missing_or_corrupt_is_damage(tmp_path):
    process, assets, kept, _ = _device(tmp_path)
    (assets / _sha(kept)).write_bytes(b"kept slidX")
    assert process.consistency_problems() == [f"missing or damaged: {_sha(kept)[:12]}"]
    (assets / _sha(kept)).unlink()
    assert process.consistency_problems() == [f"missing or damaged: {_sha(kept)[:12]}"]
