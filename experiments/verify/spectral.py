"""Verify rows: the Fourier pseudo-spectral solver against the Cole–Hopf (Bessel series) solution."""

from __future__ import annotations

from .common import TWO_PI
from .registry import check


@check("Spectral solver (Cole–Hopf)", "Fourier pseudo-spectral, viscous Burgers u0 = sin x, ν = 0.1, t = 0.5",
       "max error < 1e-6")
def spectral_cole_hopf(ctx):
    import jax.numpy as jnp

    from qshock.solver import Burgers, Grid
    from qshock.solver.exact import burgers_sin_bessel
    from qshock.solver.stepping import solve

    g = Grid(0, TWO_PI, 64)
    x = g.centres()
    s = solve(Burgers(0.1), g, jnp.sin(x), 0.5, scheme=ctx.scheme("spectral"))
    err = float(jnp.max(jnp.abs(s.u[-1] - burgers_sin_bessel(x, 0.5, 0.1))))
    return f"{err:.1e}", err < 1e-6
