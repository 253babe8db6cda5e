"""The staff area's blueprint, apart from the package so the page modules can register
their views on it without importing the package that imports them (no import cycle)."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
