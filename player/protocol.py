"""Protocol v1 as the player speaks it: the API's path and the error for unusable answers.

The manifest itself is checked in ``player.manifest``; the JSON Schema in ``contract/`` is the
reference for both sides.
"""

from __future__ import annotations

API_PREFIX = "/api/player/v1/"


class ProtocolError(ValueError):
    """The server sent something this player cannot use; the last good state stays."""
