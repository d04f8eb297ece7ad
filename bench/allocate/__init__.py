"""Network allocation benchmark: `python -m bench.allocate --sizes small,large`."""
