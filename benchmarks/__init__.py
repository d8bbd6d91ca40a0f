"""Side-by-side benchmarks against peer solvers (`make bench`)."""
