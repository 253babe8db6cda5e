"""Video for mixed-in content (issue 16): H.264 in an MP4 container, checked by content
(the ``ftyp`` box, and an ``avc1`` sample entry, the H.264 codec every Raspberry Pi decodes
in hardware), stored by hash and fetched by the players like every file. The kiosk plays
it muted: a notice board makes no noise."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from ...domain.errors import ValidationFailed
from ..files import BlobStore, StoredBlob

MEDIA_TYPE = "video/mp4"
CHUNK = 1 << 20


def is_mp4(head: bytes) -> bool:
    """An ISO base media file starts with its ``ftyp`` box."""
    return len(head) >= 8 and head[4:8] == b"ftyp"


def is_h264(path: Path) -> bool:
    """Whether the MP4 holds an H.264 track (an ``avc1`` sample entry in its ``moov``)."""
    tail = b""
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            if b"avc1" in tail + chunk:
                return True
            tail = chunk[-3:]
    return False


def store_video(
    store: BlobStore, stream: IO[bytes], filename: str, *, max_bytes: int
) -> StoredBlob:
    """Store an uploaded video; ValidationFailed (field ``image``, the form's file field)
    for anything but an H.264 MP4 within ``max_bytes``; a refused file leaves nothing."""
    mb = max_bytes // (1024 * 1024)
    try:
        digest, size, _ = store.put_stream(stream, max_bytes=max_bytes, accept=is_mp4)
    except ValueError:
        raise ValidationFailed(
            f"Die Datei „{filename}“ ist kein MP4-Video oder größer als {mb} MB.",
            {"image": f"Erlaubt ist ein MP4-Video (H.264) bis {mb} MB; geprüft wird der Inhalt."},
        ) from None
    if not is_h264(store.path_for(digest)):
        raise ValidationFailed(
            f"Das Video „{filename}“ ist nicht H.264-kodiert.",
            {"image": "Bitte als MP4 mit H.264 (AVC) speichern, z. B. mit HandBrake."},
        )
    return StoredBlob(sha256=digest, size=size, media_type=MEDIA_TYPE)
