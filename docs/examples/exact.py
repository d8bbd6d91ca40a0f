# Exact solutions: Lax–Oleinik (before and after the shock), Cole–Hopf by three methods,
# Riemann problems and the Osher–Shu HJ benchmark; expressions parsed safely (no eval).
import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import numpy as np

from qshock.experiments.cli.expr import compile_expression, evaluate_constant
from qshock.solver.exact import (burgers_characteristic_solution, burgers_sin_bessel, cell_average,
                                 cole_hopf_burgers_1d, hj_cos_1d, lax_oleinik_burgers, riemann_burgers)

u0 = compile_expression("sin(x)", ["x"], option="--ic")
L = evaluate_constant("2*pi")
x = jnp.linspace(0.0, L, 9)[:-1] + 0.1
lo, ch = lax_oleinik_burgers(u0, x, 0.5), burgers_characteristic_solution(u0, x, 0.5)
print(f"t=0.5 |Lax-Oleinik - characteristics| = {float(jnp.max(jnp.abs(lo - ch))):.1e}")
print("t=2 jump at pi:", [round(float(v), 6) for v in lax_oleinik_burgers(u0, jnp.array([np.pi - 1e-9, np.pi + 1e-9]), 2.0)])
edges = jnp.linspace(0.0, L, 129)
print(f"mass at t=2: {float(jnp.sum(cell_average(lambda s: lax_oleinik_burgers(u0, s, 2.0), edges)) * L / 128):.1e}")
for t in (0.5, 2.0):
    b = burgers_sin_bessel(x, t, 0.1)
    f = cole_hopf_burgers_1d(u0, x, t, 0.1, method="fft")
    q = cole_hopf_burgers_1d(u0, x, t, 0.1, method="quadrature")
    print(f"nu=0.1 t={t}: |fft-bessel| = {float(jnp.max(jnp.abs(f - b))):.1e}, |quad-bessel| = {float(jnp.max(jnp.abs(q - b))):.1e}")
print("Riemann uL=1, uR=-0.5 at t=1 (shock at 0.25):", riemann_burgers(1.0, -0.5, jnp.array([0.2, 0.25, 0.3]), 1.0))
print("Osher-Shu HJ at t=0.05:", hj_cos_1d(jnp.array([-0.5, 0.0, 0.5]), 0.05))
try:
    compile_expression("sin(y)", ["x"], option="--ic")
except Exception as e:
    print(type(e).__name__ + ":", e)
