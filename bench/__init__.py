"""Benchmarks: ``python -m bench.NAME [--quick]``; each prints its figures and ends with one line ``NAME: key=value …``."""
