# Spherical harmonics on S²: viscous HJ through Cole–Hopf against the exact solution
# u = -2ν log(1 + ε e^{-2νt} sin θ cos φ), and the heat trace Σ (2l+1) e^{-l(l+1)t}.
import jax

jax.config.update("jax_enable_x64", True)
import numpy as np

from qshock import solver
from qshock.solver.spectral import heat_trace, solve_sphere

nu, eps = 0.1, 0.5
u0 = lambda th, ph: -2 * nu * np.log(1 + eps * np.sin(th) * np.cos(ph))
s2 = solve_sphere(solver.HamiltonJacobi(nu=nu), u0, 8, 1.0, sampling="fejer")
th, ph = np.meshgrid(s2.metadata["theta_nodes"], s2.metadata["phi_nodes"], indexing="ij")
exact = -2 * nu * np.log(1 + eps * np.exp(-2 * nu) * np.sin(th) * np.cos(ph))
print("shape", s2.u.shape, f"max error at t=1: {float(np.abs(s2.u[-1] - exact).max()):.1e}")
t = 0.01
print(f"heat trace at t={t}: {float(heat_trace(t, 400)):.8f}; 1/t + 1/3 + t/15 = {1 / t + 1 / 3 + t / 15:.8f}")
