"""Benchmarks: they print numbers and assert nothing about time. `python -m tests.bench` runs them all."""
