"""Pure domain rules: no Flask, no SQL, no network; `now` is always a parameter."""
