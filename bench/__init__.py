"""The benchmark suite: see docs/benchmarks.md and `python bench/run.py --help`."""
