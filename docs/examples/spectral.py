# Fourier pseudo-spectral viscous Burgers (ETDRK4) against the exact Bessel-series solution.
import jax

jax.config.update("jax_enable_x64", True)
import numpy as np

from qshock import solver
from qshock.solver.exact import burgers_sin_bessel
from qshock.solver.spectral import solve_spectral

g = solver.Grid(0.0, 2 * np.pi, 128)
x = np.asarray(g.centres())
sol = solve_spectral(solver.Burgers(0.1), g, np.sin(x), 2.0, dt=1e-3)
err = float(np.max(np.abs(np.asarray(sol.u[-1]) - np.asarray(burgers_sin_bessel(x, 2.0, 0.1)))))
print(sol.n_steps, "steps,", sol.metadata["method"], f"; max error vs Cole-Hopf at t=2: {err:.1e}")
