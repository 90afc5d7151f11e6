"""Benchmarks of the search strategies: a NAS-Bench-201 simulation on the table (nb201.py) and the
figures both benchmarks report (summary.py). `archlab bench` is their command line."""
