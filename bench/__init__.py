"""Benchmarks (``make bench``): not timed tests; they write their results to docs/."""
