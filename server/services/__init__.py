"""Use cases: ``f(session, ..., now) -> result``. They add and flush, never commit."""
