# Inviscid Burgers u0 = sin x through its shock at t* = 1, checked against the exact
# Lax–Oleinik entropy solution (run from anywhere: python docs/examples/solve.py).
import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp

from qshock.solver import Burgers, Grid, solve
from qshock.solver.exact import cell_average, lax_oleinik_burgers
from qshock.solver.shocks import predict

g = Grid(0.0, 2 * jnp.pi, 256)                                # cell-centred, periodic
sol = solve(Burgers(nu=0.0), g, jnp.sin(g.centres()), 2.0, scheme="weno5", save_at=[0, 1, 2])
exact = cell_average(lambda x: lax_oleinik_burgers(jnp.sin, x, 2.0), g)
print("snapshots", sol.u.shape, "steps", sol.n_steps)
print("predicted shock time", float(predict(Burgers(nu=0.0), sol.u[0], g).time))
print(f"L1 error at t=2 vs Lax-Oleinik: {float(jnp.mean(jnp.abs(sol.u[-1] - exact)) * 2 * jnp.pi):.2e}")
print(f"mass drift: {float(jnp.abs(jnp.sum(sol.u[-1]) - jnp.sum(sol.u[0])) * g.dx[0]):.1e}")
