"""Benchmark of the patient choice page at a full network's scale: python -m bench.shortlist"""
