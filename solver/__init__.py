"""qshock.solver: finite-volume and spectral solvers for Burgers and Hamilton–Jacobi equations."""

from .errors import BlowUpError, CFLError, QShockInputError
from .grid import Boundary, Grid
from .equations import Burgers, HamiltonJacobi, quadratic_hamiltonian
from .solution import Solution

__all__ = [
    "BlowUpError", "CFLError", "QShockInputError",
    "Boundary", "Grid",
    "Burgers", "HamiltonJacobi", "quadratic_hamiltonian",
    "Solution",
]
