"""Benchmarks, runnable as `python -m bench.<name>` from the project root."""
