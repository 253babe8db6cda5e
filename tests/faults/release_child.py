"""Child process for test_sigkill_release.py: releases one notice through the real
staff view (the whole Flask request, in this process) and SIGKILLs itself at a chosen
step — the N-th SQL statement, the commit, or just after it.

    python release_child.py <database_url> <instance_dir> <tenant> <number> <approver_id> <kill_at> <now>

``kill_at`` 0 never kills: the child then prints the number of steps it passed.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from datetime import datetime, timedelta  # noqa: E402

from sqlalchemy import event  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402


def main() -> int:
    url, instance, tenant, number, approver_id, kill_at, now_iso = sys.argv[1:8]
    kill_at_n = int(kill_at)

    from server import create_app
    from server.config import load_settings
    from server.extensions import db
    from server.models import User
    from server.web import sessions

    settings = load_settings(
        {"AUSHANG_INSTANCE_PATH": instance, "DATABASE_URL": url, "SECRET_KEY": "test-secret"}
    )
    now = datetime.fromisoformat(now_iso)
    app = create_app(
        {"TESTING": True, "WTF_CSRF_ENABLED": False, "AUSHANG_CLOCK": lambda: now},
        settings=settings,
    )
    steps = 0

    def step(*_args, **_kw) -> None:
        nonlocal steps
        steps += 1
        if steps == kill_at_n:
            os.kill(os.getpid(), signal.SIGKILL)

    with app.app_context():
        user = db.session.get(User, int(approver_id))
        user_key = user.get_id()
        session_token = sessions.create(db.session, user, now, timedelta(days=1))
        db.session.commit()
        db.session.remove()
        engine = db.engine
        client = app.test_client()
        with client.session_transaction() as s:
            s["_user_id"] = user_key
            s["_fresh"] = True
            s[sessions.SESSION_TOKEN_KEY] = session_token
        event.listen(engine, "before_cursor_execute", step)
        event.listen(engine, "commit", step)  # before the database commits
        event.listen(Session, "after_commit", step)  # after it has committed
        r = client.post(
            f"/admin/{tenant}/bekanntmachungen/{number}/freigeben",
            data={"comment": "freigegeben"},
        )
    print(f"status={r.status_code} steps={steps}")
    return 0 if r.status_code in (302, 303) else 1


if __name__ == "__main__":
    sys.exit(main())
