"""Throughput benchmarks of the event backbone (`python -m bench.run`, `make bench`)."""
