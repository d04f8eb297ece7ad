"""A 12-week full-network what-if simulation: `python -m bench.simulate --weeks 12 --seed 1`."""
