"""The search benchmarks `archlab bench` runs: the NAS-Bench-201 simulation on the table (nb201.py, with the
LLM planner as a contestant in nb201_llm.py), the MNIST-1D benchmark (mnist1d.py), the figures both report
(summary.py) and their plot (plot.py). Standalone measurement scripts stay in the top-level benchmarks/."""
