"""The NINA poller makes no outgoing request unless the operator enabled it."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from server.jobs.alerts import poll_nina


def test_poller_stays_silent_until_enabled(app_ctx, session, factory, now):
    factory.tenant()
    session.commit()
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    old = dict(app_ctx.config)
    try:
        app_ctx.config["AUSHANG_NINA_BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
        assert app_ctx.config["AUSHANG_NINA_ENABLED"] is False
        assert poll_nina(session, now) == 0
        assert hits == []
        app_ctx.config["AUSHANG_NINA_ENABLED"] = True
        poll_nina(session, now)
        assert hits and hits[0].startswith("/dashboard/150850000000.json")
    finally:
        app_ctx.config.clear()
        app_ctx.config.update(old)
        server.shutdown()
