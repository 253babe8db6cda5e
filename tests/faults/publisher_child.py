"""Child process for test_push_edge.py: the real publisher (server.push) against the
test's database and edge, with the test's clock, until it is killed.

    python publisher_child.py <database_url> <instance_dir> <data_dir> <publish_url> <now>
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from datetime import datetime  # noqa: E402


def main() -> int:
    url, instance, data_dir, publish_url, now_iso = sys.argv[1:6]
    from server import create_app
    from server.config import load_settings
    from server.push.runtime import make_runner

    settings = load_settings(
        {
            "AUSHANG_INSTANCE_PATH": instance,
            "AUSHANG_DATA_DIR": data_dir,
            "DATABASE_URL": url,
            "SECRET_KEY": "test-secret",
            "AUSHANG_PUSH_ENGINE": "nchan",
            "AUSHANG_PUSH_PUBLISH_URL": publish_url,
        }
    )
    now = datetime.fromisoformat(now_iso)
    app = create_app({"TESTING": True, "AUSHANG_CLOCK": lambda: now}, settings=settings)
    runner = make_runner(app)
    runner.poll_s = 0.1
    print("ready", flush=True)
    runner.run_local()  # SQLite: reads the outbox every poll interval
    return 0


if __name__ == "__main__":
    sys.exit(main())
