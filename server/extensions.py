"""Flask extensions, created unbound and initialised in ``create_app``."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, Table
from sqlalchemy.orm import DeclarativeBase, scoped_session

# Stable constraint names, so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    # Every model is mapped to a plain table (no joined or select-mapped classes), so
    # ``Model.__table__.insert()`` and friends type-check.
    __table__: ClassVar[Table]


if TYPE_CHECKING:

    class ScopedSession(FlaskSession, scoped_session[FlaskSession]):  # type: ignore[misc]
        """What ``db.session`` is: a ``scoped_session`` that proxies every ``Session`` method.

        Typed as both so services keep their honest ``Session`` parameters and views pass
        ``db.session`` without a cast (the only difference mypy sees is the proxies' looser
        ``get_bind``/``scalar`` overloads, hence the one ignore).
        """

    class Database(SQLAlchemy):
        session: ScopedSession

    #: The declarative base of every model (``db.Model`` is made at runtime, so mypy
    #: cannot see it as a class).
    Model = Base
else:
    Database = SQLAlchemy

db: Database = Database(model_class=Base)
if not TYPE_CHECKING:
    Model = db.Model
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
