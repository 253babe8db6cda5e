"""The Aushang player: a small daemon for Raspberry Pi displays (stdlib + requests only).

It never imports ``server`` or ``feeds``; its contract with the server is
``contract/player-protocol-v1.schema.json``.
"""

__version__ = "0.1.0"
