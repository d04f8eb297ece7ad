"""Backfill latency benchmark: `python -m bench.backfill`."""
