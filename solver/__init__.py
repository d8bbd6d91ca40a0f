"""qshock.solver: finite-volume and spectral solvers for Burgers and Hamilton–Jacobi equations.

``solve(equation, grid, u0, t1, scheme=..., flux=..., cfl=..., save_at=...)`` is the entry point;
see :mod:`solver.stepping`.
"""

from .errors import BlowUpError, CFLError, QShockInputError
from .grid import Boundary, Grid
from .equations import Burgers, HamiltonJacobi, quadratic_hamiltonian
from .solution import Solution
from .schemes import Scheme
from .stepping import build_stepper, solve
from .fokker_planck import FokkerPlanck, chamber_fraction, fp_mass, fp_solve, fp_stationary

__all__ = [
    "BlowUpError", "CFLError", "QShockInputError",
    "Boundary", "Grid",
    "Burgers", "HamiltonJacobi", "quadratic_hamiltonian",
    "Solution", "Scheme", "solve", "build_stepper",
    "FokkerPlanck", "chamber_fraction", "fp_mass", "fp_solve", "fp_stationary",
]

# subpackages: solver.exact (exact solutions), solver.spectral (Fourier / spherical harmonics),
# solver.shocks (prediction and detection), solver.charts (manifold charts for the FV solver)
