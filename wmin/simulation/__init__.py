"""Synthetic demand for demos and benchmarks (`demand`), and the what-if simulator (`whatif`)."""
