"""Verify rows: symmetry quotients — the radial reduction of Δ and ``project`` invariance of each quotient."""

from __future__ import annotations

import numpy as np

from .registry import check

QUOTIENTS = ("ScaleQuotient", "RescaleQuotient", "TranslationQuotient", "PermutationQuotient",
             "FactorisedQuotient", "MeanFieldQuotient", "RadialQuotient")


@check("Symmetry reduction (radial)", "Δ_{R^n} f(|x|) = f'' + (n-1)/r f' = Δ on the quotient [0, ∞)",
       "n = 2, 5: rel. error < 1e-10")
def radial_reduction(ctx):
    import jax
    import jax.numpy as jnp

    from qshock.manifolds import RadialQuotient

    def f(r):
        return jnp.exp(-r ** 2) * jnp.cos(r)

    worst = 0.0
    for n in (2, 5):
        q = RadialQuotient(n=n)
        x = jnp.asarray(np.random.default_rng(n).normal(size=n))

        @jax.jit
        def errs(x, q=q):
            full = jnp.trace(jax.hessian(lambda y: f(jnp.sqrt(y @ y)))(x))
            r = jnp.sqrt(x @ x)
            red = q.laplace_beltrami(lambda z: f(z[0]), r[None])
            return jnp.abs(full - red) / jnp.abs(full), jnp.abs(q.project(x)[0] - r)

        worst = max(worst, *(float(e) for e in errs(x)))
    return f"max rel. error {worst:.1e}", worst < 1e-10


def invariance_row(name: str):
    """A row checking ``project(g·θ) = project(θ)`` for ``manifolds.<name>()``, 3 random (g, θ)."""
    def fn(ctx):
        import jax
        import jax.numpy as jnp

        from qshock import manifolds

        q = getattr(manifolds, name)()
        dim = int(getattr(q, "total_dim", None) or q.dim)
        worst = 0.0
        for seed in range(3):
            k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
            theta = jax.random.normal(k1, (dim,))
            gel = q.random_group_element(k2)
            a, b = q.project(q.group_action(theta, gel)), q.project(theta)
            worst = max(worst, float(jnp.max(jnp.abs(a - b))))
        return f"max |Δ| {worst:.1e}", worst < 1e-9
    return fn


for _name in QUOTIENTS:
    check(f"Quotient invariance: {_name}", "project(g·θ) = project(θ) for random g, θ", "< 1e-9")(invariance_row(_name))
