"""Verify rows: geometry of S² — the Laplace–Beltrami spectrum and an exact viscous HJ solution."""

from __future__ import annotations

import numpy as np

from .common import TWO_PI
from .registry import check


@check("Laplace–Beltrami spectrum on S²", "-Δ Y_l = l(l+1) Y_l (autodiff of the chart metric)",
       "l = 1, 2, 3: rel. error < 1e-9")
def laplace_beltrami_spectrum(ctx):
    import jax
    import jax.numpy as jnp

    from qshock.manifolds import Sphere

    m = Sphere(3)
    ys = (lambda X: X[2], lambda X: 3 * X[2] ** 2 - 1, lambda X: X[0] * (5 * X[2] ** 2 - 1))
    rng = np.random.default_rng(1)
    pts = jnp.asarray(np.stack([rng.uniform(0.3, 2.8, 6), rng.uniform(0, TWO_PI, 6)], -1))

    @jax.jit
    def rel_err(pts):
        out = []
        for deg, Y in enumerate(ys, start=1):
            def f(x, Y=Y):
                return Y(m.to_embedding(x))
            lap = jax.vmap(lambda x, f=f: m.laplace_beltrami(f, x))(pts)
            val = jax.vmap(f)(pts)
            out.append(jnp.max(jnp.abs(-lap - deg * (deg + 1) * val)) / jnp.max(jnp.abs(val)))
        return jnp.max(jnp.stack(out))

    worst = float(rel_err(pts))
    return f"max rel. error {worst:.1e}", worst < 1e-9


@check("Viscous HJ exact on S²", "u = -2ν log(1 + ε e^{-2νt} X1): u_t + |∇u|²/2 = ν Δ u", "residual < 1e-10")
def sphere_viscous_hj_exact(ctx):
    import jax
    import jax.numpy as jnp

    from qshock.manifolds import Sphere, sphere_hj_exact

    m = Sphere(3)
    nu, eps = 0.3, 0.5
    rng = np.random.default_rng(2)
    pts = jnp.asarray(np.stack([rng.uniform(0.3, 2.8, 8), rng.uniform(0, TWO_PI, 8)], -1))

    def resid(x, t=0.7):
        u_t = jax.grad(lambda s: sphere_hj_exact(x, s, nu, eps))(t)

        def f(y):
            return sphere_hj_exact(y, t, nu, eps)
        p = jax.grad(f)(x)
        return u_t + 0.5 * p @ m.inverse_metric(x) @ p - nu * m.laplace_beltrami(f, x)

    r = float(jnp.max(jnp.abs(jax.jit(jax.vmap(resid))(pts))))
    return f"max residual {r:.1e}", r < 1e-10
