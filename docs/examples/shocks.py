# Shock prediction from the initial data and detection in the computed solution.
import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp

from qshock.solver import Burgers, Grid, solve
from qshock.solver.shocks import constant_curvature_blowup, detect, predict

g = Grid(0.0, 2 * jnp.pi, 256)
u0 = jnp.sin(g.centres()) + 0.3 * jnp.sin(2 * g.centres())
pred = predict(Burgers(nu=0.0), u0, g)
sol = solve(Burgers(nu=0.0), g, u0, 1.5 * float(pred.time), scheme="weno5",
            save_at=jnp.linspace(0.0, 1.5 * float(pred.time), 61))
det = detect(sol)
print(f"predicted t* = {float(pred.time):.5f} at x = {float(pred.location[0]):.4f} ({pred.method})")
print(f"detected  t  = {float(det.time):.5f} ± {float(det.uncertainty):.2g} ({det.method})")
print(f"flat fold of λ0 = -1 on curvature k = 1: t* = {float(constant_curvature_blowup(-1.0, 1.0)):.6f} (flat: 1)")
