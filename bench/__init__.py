"""Benchmarks: ``python -m bench.NAME [--quick]``.

Each prints its figures and ends with one line ``NAME: key=value …``.
"""
