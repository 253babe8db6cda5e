"""The commit boundary: one unit of work per request, job run or CLI command.

Services never commit (GUIDE); the code that *starts* a piece of work ends it, and does so
here: ``unit_of_work()`` commits once when its block ends normally and rolls back when it
raises, ``committed`` does the same around a view (an answer of 400 or more rolls back:
a form shown again with its errors stores nothing), and jobs and CLI commands use the
context manager. A view, job or command that writes calls one of these, not
``db.session.commit()``.

The deliberate exceptions, each with its reason, are listed in ``DELIBERATE_COMMITS``:
code outside this module that commits on its own must be one of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, ParamSpec

from flask import Response, make_response
from sqlalchemy.orm import Session

from .extensions import db

P = ParamSpec("P")

#: Commits that do not follow "one unit of work, committed at its end", and why.
DELIBERATE_COMMITS: dict[str, str] = {
    "server/services/displays/group_commit.py": (
        "Group commit: the leader request writes the rows many concurrent player requests "
        "queued, in one transaction of its own, and wakes them once it is committed."
    ),
    "server/web/player_api/common.py (reject)": (
        "The audit row of a rejected player request is committed before the 401/403 is "
        "raised: the refusal is evidence even though the request itself fails."
    ),
    "server/web/player_api/enrol.py (enrolment limit)": (
        "A refused provisioning token still counts against the rate limit: the limit row "
        "is committed after the rollback of the failed enrolment."
    ),
    "server/web/player_api/common.py (_end_reads)": (
        "Long-polling manifest requests end their read transaction before they wait, so no "
        "connection is held across the wait."
    ),
    "server/web/public.py (_attach_pdf)": (
        "The print PDF of a version is rendered lazily on the first visit and committed on "
        "its own, so a failing renderer never costs the page (it is rolled back alone)."
    ),
    "server/jobs/runner.py (_LeaderLock)": (
        "The scheduler's advisory lock lives on a dedicated connection, not the session."
    ),
    "server/commands/maintenance.py (backup, restore)": (
        "pg_dump/pg_restore run outside the session; the session is ended before them and "
        "the restore's audit row is its own unit of work afterwards."
    ),
}


@contextmanager
def unit_of_work(session: Session | None = None) -> Iterator[Session]:
    """Yield the session; commit when the block ends normally, roll back if it (or the
    commit) raises."""
    s: Session = db.session if session is None else session
    try:
        yield s
        s.commit()
    except BaseException:
        s.rollback()
        raise


def committed(view: Callable[P, Any]) -> Callable[P, Response]:
    """Run a view as one unit of work: commit a successful answer, roll back the rest.

    An answer with status 400 or more (a form shown again with its errors, a refusal)
    rolls back whatever the services flushed on the way; an exception rolls back and
    propagates to the error handlers.
    """

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
        session: Session = db.session
        try:
            response = make_response(view(*args, **kwargs))
        except BaseException:
            session.rollback()
            raise
        if response.status_code >= 400:
            session.rollback()
            return response
        try:
            session.commit()
        except BaseException:
            session.rollback()
            raise
        return response

    return wrapper
