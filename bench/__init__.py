"""Benchmarks and fault runs of the hub: scripts that print figures, never timed assertions.

``python -m bench <name>|all`` runs them (see :mod:`bench.__main__`) and merges each
result into ``bench/results/latest.json``; ``docs/performance.md`` explains the method.
"""
