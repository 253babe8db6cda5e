"""Push to displays (issue 15, contract/player-protocol-v2.md).

The change is written to the outbox in its own transaction (server.notify); one publisher
per installation (``aushang publisher``, or a thread of the development server) turns
outbox rows into messages on channels and hands them to the push engine: nginx + nchan in
production (``engines.NchanEngine``), the Flask app itself in the embedded default
(``engines.EmbeddedEngine``). Players hold one Server-Sent Events stream for their channels.
"""

from __future__ import annotations

import threading

# Set after every commit that wrote outbox rows: the in-process publisher wakes at once
# (another process's publisher learns of it through LISTEN/NOTIFY or by polling).
wakeup = threading.Event()
