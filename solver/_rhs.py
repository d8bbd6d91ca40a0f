r"""Semi-discrete right-hand sides :math:`\dot u = L(u, t)` for the finite-volume schemes.

:func:`build_rhs` turns (equation, grid, scheme) into a pure function ``rhs(u, t)`` and a
stable-time-step function ``max_dt(u) = 1 / (Σ_a α_a/Δx_a + Σ_a ν m_a/(c_ν Δx_a²))``
(advective speeds α_a and viscous weights m_a; multiply by the CFL number).

* Burgers 1-D: :math:`\dot u_i = -(F_{i+1/2}-F_{i-1/2})/Δx + ν D_2 u`, F the numerical flux of
  :math:`f = u^2/(2g)` (g = 1 flat) on reconstructed face states; on a chart the viscous term
  is :math:`ν\,\partial_x[g^{-1/2}\partial_x(g^{-1/2}p)]`.
* Burgers N-D gradient form: fluxes of :math:`K = |v|^2/2` through faces of each axis.
* HJ: :math:`\dot u = -\hat H(x, p^-, p^+) + ν Δ_g u` with one-sided derivatives p^±.
"""

from __future__ import annotations

import itertools
import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from . import _burgers_flux as bf
from . import _diffusion as dif
from . import _hamiltonians as ham
from . import _hj_derivatives as hjd
from . import _reconstruct as rec
from ._geometry import chart_factors
from ._split import split_map
from .equations import Burgers, HamiltonJacobi
from .errors import QShockInputError
from .grid import Grid
from .schemes import Scheme

__all__ = ["Discretisation", "build_rhs", "ghost_width", "runtime_viscosity"]


class Discretisation(NamedTuple):
    rhs: Callable  # (u, t) -> du/dt
    max_dt: Callable  # u -> largest stable dt at CFL 1
    gradient: Callable  # u -> p = grad u (HJ) for output
    field_shape: tuple
    info: dict


def ghost_width(equation, scheme: Scheme, viscous=None) -> int:
    """Ghost cells needed by the scheme's stencils (advective and viscous; ``viscous`` None:
    ``equation.nu > 0``)."""
    if isinstance(equation, Burgers):
        adv = rec.GHOST_CELLS[scheme.burgers_reconstruction()]
    else:
        adv = hjd.HJ_GHOST_CELLS[scheme.hj_derivative()]
    viscous = equation.nu > 0 if viscous is None else viscous
    visc = dif.DIFFUSION_GHOST[scheme.viscous_order] if viscous else 0
    return max(adv, visc)


def runtime_viscosity(equation, nu, dtype):
    r"""``(viscous, ν)``: the static flag and the value of ν used by the right-hand side.

    ``nu=None`` takes the equation's static ``ν`` (viscous iff ``ν > 0``). A given ``nu`` (a number or
    a traced JAX scalar, e.g. an argument of a jitted function) overrides it and makes the
    discretisation viscous: the viscous term is ``ν × (its operator)``, so ``ν = 0`` adds exactly
    zero and one compiled stepper serves every ``ν >= 0``."""
    if nu is None:
        return equation.nu > 0, equation.nu
    if isinstance(nu, (int, float)):  # a number: same arithmetic as the static ν
        if not (math.isfinite(float(nu)) and float(nu) >= 0):
            raise QShockInputError(f"runtime viscosity nu must be finite and >= 0, got {nu!r}")
        return True, float(nu)
    if jnp.ndim(nu) != 0:
        raise QShockInputError(f"runtime viscosity nu must be a scalar, got shape {jnp.shape(nu)}")
    return True, jnp.asarray(nu, dtype)


def _check_grid(grid: Grid, ng: int):
    for a, n in enumerate(grid.shape):
        if n < max(ng, 2 * ng - 1, 3):
            raise QShockInputError(
                f"grid axis {grid.axis_names[a]!r} has {n} cells, too few for the stencil "
                f"(needs at least {max(ng, 2 * ng - 1, 3)})")


def _sum_axes(terms):
    out = terms[0]
    for t in terms[1:]:
        out = out + t
    return out


def _diff_faces(F, axis):
    # a convolution, not F[1:] - F[:-1]: XLA:CPU would fuse the WENO flux into both slices
    return rec.face_difference(F, axis)


def build_rhs(equation, grid: Grid, scheme: Scheme, dtype=None, nu=None) -> Discretisation:
    """Assemble the finite-volume right-hand side for ``equation`` on ``grid``; ``nu`` (optional, may be
    traced) replaces the equation's viscosity at run time (:func:`runtime_viscosity`)."""
    if scheme.name == "spectral":
        raise QShockInputError("build_rhs is finite-volume only; use solver.spectral for --scheme spectral")
    dtype = dtype or jnp.result_type(float)
    visc = runtime_viscosity(equation, nu, dtype)
    if isinstance(equation, Burgers):
        return _burgers(equation, grid, scheme, dtype, visc)
    if isinstance(equation, HamiltonJacobi):
        return _hj(equation, grid, scheme, dtype, visc)
    raise QShockInputError(f"unknown equation object {type(equation).__name__}")


# --------------------------------------------------------------------------- Burgers
def _burgers(eq: Burgers, grid: Grid, scheme: Scheme, dtype, visc) -> Discretisation:
    """Burgers on ``grid``: the 1-D metric (chart) form, flat 1-D, or the N-D gradient form;
    ``visc = (viscous, ν)`` from :func:`runtime_viscosity`."""
    method, kind = scheme.burgers_reconstruction(), scheme.burgers_flux()
    ng = ghost_width(eq, scheme, visc[0])
    _check_grid(grid, ng)
    info = {"reconstruction": method, "flux": kind, "ghost": ng}
    if eq.manifold is not None:
        return _burgers_chart(eq, grid, method, kind, ng, scheme.viscous_order, dtype, info, visc)
    if grid.ndim == 1:
        return _burgers_1d(visc, grid, method, kind, ng, scheme.viscous_order, info)
    return _burgers_nd(visc, grid, method, kind, ng, scheme.viscous_order, info)


def _burgers_chart(eq: Burgers, grid: Grid, method, kind, ng, order, dtype, info, visc) -> Discretisation:
    r"""1-D chart form :math:`p_t + (p^2/(2g))_x = \nu\,\partial_x[g^{-1/2}\partial_x(g^{-1/2}p)]`."""
    if grid.ndim != 1:
        raise QShockInputError("the metric (chart) form of Burgers is 1-D; use hj for higher-dimensional charts")
    fac = chart_factors(eq.manifold, grid, dtype)
    if fac.weighted:  # the form below assumes the density sqrt(g); a weight adds (log rho)' terms
        raise QShockInputError("the 1-D Burgers metric form needs the Riemannian density sqrt(g); this chart "
                               "carries a weight (e.g. r^(n-1) on the radial quotient): use --equation hj")
    (viscous, nu), dx = visc, grid.dx
    cvis = dif.VISCOUS_STABILITY[order]
    g_f = fac.metric_faces[0]
    coef = jnp.where(g_f > 0, 1.0 / jnp.where(g_f > 0, g_f, 1.0), 0.0)  # 1/g at faces; 0 at singular faces
    inv_sqrt_g_c = jnp.sqrt(fac.inv_metric_centres[0])
    w_f = jnp.where(g_f > 0, 1.0 / jnp.sqrt(jnp.where(g_f > 0, g_f, 1.0)), 0.0)
    # q = p/sqrt(g) diffuses with face weights 1/sqrt(g); rate ~ (w+ + w-)/(sqrt(g) dx^2)
    wsum = w_f[1:] + w_f[:-1]
    with jax.ensure_compile_time_eval():  # a number also when built under jit
        bound = float(jnp.max(wsum * inv_sqrt_g_c))
    visc_rate = nu * (0.5 / cvis) * bound / dx[0] ** 2

    def rhs(u, t):
        up = grid.pad(u, ng, 0, parity=-1, t=t)
        qL, qR = rec.reconstruct(up, method, axis=0, ng=ng)
        F = bf.burgers_flux(qL, qR, kind, coef=coef)
        du = -_diff_faces(F, 0) / dx[0]
        if viscous:
            q = up * jnp.pad(inv_sqrt_g_c, ng, mode="edge")
            du = du + nu * dif.metric_diffusion_1axis(q, dx[0], w_f, 1.0, axis=0, ng=ng)
        return du

    def max_dt(u):
        adv = jnp.max(jnp.abs(u) * jnp.sqrt(fac.inv_metric_centres[0])**2) / dx[0]
        return 1.0 / (adv + visc_rate + 1e-300)

    return Discretisation(rhs, max_dt, lambda u: None, grid.shape, info)


def _burgers_1d(visc, grid: Grid, method, kind, ng, order, info) -> Discretisation:
    r"""Flat 1-D :math:`u_t + (u^2/2)_x = \nu u_{xx}` (conservative, central viscous term of ``order``)."""
    (viscous, nu), dx = visc, grid.dx
    cvis = dif.VISCOUS_STABILITY[order]

    def rhs(u, t):
        up = grid.pad(u, ng, 0, parity=-1, t=t)
        qL, qR = rec.reconstruct(up, method, axis=0, ng=ng)
        du = -_diff_faces(bf.burgers_flux(qL, qR, kind), 0) / dx[0]
        if viscous:
            du = du + nu * dif.second_derivative(up, dx[0], axis=0, order=order, ng=ng)
        return du

    def max_dt(u):
        return 1.0 / (jnp.max(jnp.abs(u)) / dx[0] + nu / (cvis * dx[0] ** 2) + 1e-300)

    return Discretisation(rhs, max_dt, lambda u: None, grid.shape, info)


def _burgers_nd(visc, grid: Grid, method, kind, ng, order, info) -> Discretisation:
    r"""N-D gradient form :math:`v_t + \nabla(|v|^2/2) = \nu\Delta v`, ``v`` stored as ``(d, *shape)``."""
    (viscous, nu), d, dx = visc, grid.ndim, grid.dx
    cvis = dif.VISCOUS_STABILITY[order]

    def pad_vec(v, a, t):
        comps = [grid.pad(v[j], ng, a, parity=(-1 if j == a else 1), t=t) for j in range(d)]
        return jnp.stack(comps)

    def rhs(v, t):
        terms = []
        for a in range(d):
            vp = pad_vec(v, a, t)
            vL, vR = rec.reconstruct(vp, method, axis=a + 1, ng=ng)
            F = bf.gradient_form_flux(vL, vR, a, kind)
            terms.append(-_diff_faces(F, a + 1) / dx[a])
            if viscous:
                terms.append(nu * dif.second_derivative(vp, dx[a], axis=a + 1, order=order, ng=ng))
        return _sum_axes(terms)

    def max_dt(v):
        adv = sum(jnp.max(jnp.abs(v[a])) / dx[a] for a in range(d))
        vis = sum(nu / (cvis * h * h) for h in dx)
        return 1.0 / (adv + vis + 1e-300)

    return Discretisation(rhs, max_dt, lambda v: None, (d, *grid.shape), info)


def _metric_visc_bound(fac, dx) -> float:
    """max_i Σ_a (W_{a,i+1/2} + W_{a,i-1/2}) / (√G_i Δx_a²): forward-Euler rate of Δ_g (order 2)."""
    total = 0.0
    with jax.ensure_compile_time_eval():  # a number also when built under jit
        for a, w in enumerate(fac.face_weights):
            n = w.shape[a]
            s = jax.lax.slice_in_dim(w, 1, n, axis=a) + jax.lax.slice_in_dim(w, 0, n - 1, axis=a)
            total = total + s / (dx[a] ** 2)
        return float(jnp.max(total * fac.inv_sqrt_det_centres))


# --------------------------------------------------------------------------- Hamilton–Jacobi
def _hj_hamiltonian(eq: HamiltonJacobi, grid: Grid, fac, x, dtype):
    r"""``(H_field, H_point, coeffs)`` for ``eq`` on ``grid``.

    ``H_field(p)`` evaluates :math:`H(x_i, p_i)` on the grid (``p`` of shape ``(d, *shape)``),
    ``H_point(x, p)`` at one point; ``coeffs`` are the separable :math:`a_i` of
    :math:`H = \tfrac12\sum_i a_i p_i^2` (default H: :math:`a_i = g^{ii}` at the centres, 1 flat),
    or ``None``.
    """
    d = grid.ndim
    coeffs = None
    if eq.is_default_hamiltonian:
        coeffs = fac.inv_metric_centres if fac is not None else jnp.ones((d,), dtype)
    elif eq.separable_coefficients is not None:
        if len(eq.separable_coefficients) != d:
            raise QShockInputError(f"{len(eq.separable_coefficients)} separable coefficients for a {d}-D grid")
        coeffs = jnp.asarray(eq.separable_coefficients, dtype)

    if eq.is_default_hamiltonian and fac is not None:
        ginv = fac.inv_metric_centres

        def H_field(p):  # p (d, *shape)
            return 0.5 * ham.sum_components(ginv * p * p)

        def H_point(xp, pp):
            return 0.5 * jnp.sum(pp * pp / jnp.diag(eq.manifold.metric(xp)))
    elif eq.is_default_hamiltonian:
        def H_field(p):
            return 0.5 * ham.sum_components(p * p)

        def H_point(xp, pp):
            return 0.5 * jnp.sum(pp * pp)
    else:
        H_point = eq.hamiltonian
        H_field = _user_field(H_point, 2, grid, x, dtype)
    return H_field, H_point, coeffs


def _user_field(fn, n_args: int, grid: Grid, x, dtype):
    r"""A user's point function ``fn(x, p, ...)`` (vectors of length ``d``) on component-first fields
    ``(d, *shape)``, ``x`` fixed at the cell centres.

    Evaluated on component-split arrays (:func:`split_map`: reductions over the ``d`` components
    written out as grid-array sums, no transposes) when every primitive of ``fn`` is supported and
    the result matches ``jax.vmap``; otherwise by ``jax.vmap`` over the flattened grid.
    """
    d = grid.ndim
    split = split_map(fn, n_args, d, grid.shape, dtype)
    if split is not None:
        xs = jnp.moveaxis(x, -1, 0)

        def field(*fields):
            return split(xs, *fields)
        return field
    vec = jax.vmap(fn)

    def field(*fields):
        flat = [jnp.moveaxis(f, 0, -1).reshape(-1, d) for f in fields]
        out = vec(x.reshape(-1, d), *flat)
        return jnp.moveaxis(out.reshape(grid.shape + out.shape[1:]), grid.ndim, 0) if out.ndim > 1 else \
            out.reshape(grid.shape)
    return field


def _hj_alpha_local(eq: HamiltonJacobi, grid: Grid, coeffs, x, H_point):
    r"""``alpha_local(pm, pp)``: :math:`\max|\partial H/\partial p_i|` over the box
    :math:`[\min(p^-,p^+), \max(p^-,p^+)]` per cell, shape ``(d, *shape)``.

    Closed form for separable H (:math:`a_i\max(|p^-_i|, |p^+_i|)`), the user's ``max_speed``
    bound when given, otherwise corners of the box by autodiff (:func:`lf_alpha_local`).
    """
    d = grid.ndim
    if coeffs is not None:
        cfull = coeffs if coeffs.ndim > 1 else coeffs.reshape((d,) + (1,) * d)

        def alpha_local(pm, pp):
            return jnp.maximum(jnp.abs(pm), jnp.abs(pp)) * cfull
    elif eq.max_speed is not None:
        bound = _user_field(eq.max_speed, 3, grid, x, x.dtype)

        def alpha_local(pm, pp):
            return bound(jnp.minimum(pm, pp), jnp.maximum(pm, pp))
    else:
        dHdp = _user_field(jax.grad(H_point, argnums=1), 2, grid, x, x.dtype)

        def alpha_local(pm, pp):
            return _box_max(dHdp, pm, pp)
    return alpha_local


def _box_max(dHdp_field, pm, pp):
    r""":math:`\max|\partial H/\partial p_i|` over the sample points of the box
    :math:`[\min(p^-,p^+), \max(p^-,p^+)]` of :func:`lf_alpha_local` (the :math:`2^d` corners for
    ``d <= 3``; else :math:`p^\pm`, the lower, upper and farthest corners), on component-first fields."""
    d = pm.shape[0]
    lo, hi = jnp.minimum(pm, pp), jnp.maximum(pm, pp)
    if d <= 3:
        points = [jnp.stack([hi[i] if bit else lo[i] for i, bit in enumerate(bits)])
                  for bits in itertools.product((False, True), repeat=d)]
    else:
        points = [pm, pp, lo, hi, jnp.where(jnp.abs(hi) >= jnp.abs(lo), hi, lo)]
    best = None
    for q in points:
        val = jnp.abs(dHdp_field(q))
        best = val if best is None else jnp.maximum(best, val)
    return best


def _hj_derivatives(grid: Grid, deriv: str, ng: int):
    """``derivatives(u, t) -> (p^-, p^+)``, each ``(d, *shape)``, from the ghost-padded axes."""
    d, dx = grid.ndim, grid.dx

    def derivatives(u, t):
        pm, pp = [], []
        for a in range(d):
            up = grid.pad(u, ng, a, parity=1, t=t)
            m, p = hjd.one_sided_derivatives(up, dx[a], deriv, axis=a, ng=ng)
            pm.append(m)
            pp.append(p)
        return jnp.stack(pm), jnp.stack(pp)
    return derivatives


def _laplacian(grid: Grid, fac, order: int, ng: int):
    r"""``lap(u, t)``: :math:`\Delta u` (flat, central of ``order``) or :math:`\Delta_g u` (chart: order 4 in
    flux form on periodic/pole/open axes when ``order == 4``, else the 2nd-order flux form)."""
    d, dx = grid.ndim, grid.dx

    def lap(u, t):
        terms = []
        for a in range(d):
            up = grid.pad(u, ng, a, parity=1, t=t)
            if fac is None:
                terms.append(dif.second_derivative(up, dx[a], axis=a, order=order, ng=ng))
            elif order == 4 and _fourth_order_axis(grid, a):
                terms.append(dif.metric_diffusion_1axis_4(grid.pad(u, max(ng, 3), a, parity=1, t=t), dx[a],
                                                          fac.face_weights_ext[a], fac.inv_sqrt_det_points,
                                                          axis=a, ng=max(ng, 3)))
            else:
                terms.append(dif.metric_diffusion_1axis(up, dx[a], fac.face_weights[a], fac.inv_sqrt_det_centres,
                                                        axis=a, ng=ng))
        return _sum_axes(terms)
    return lap


def _fourth_order_axis(grid: Grid, a: int) -> bool:
    """The chart's 4th-order viscous term applies on axis ``a`` (periodic, pole, dirichlet, outflow ends;
    a reflecting end — wall, cone tip — keeps the 2nd-order flux form)."""
    b = grid.boundaries[a]
    return all(k in ("periodic", "pole", "dirichlet", "outflow") for k in (b.kind, b.upper or b.kind))


def _hj_viscous_rate(grid: Grid, fac, nu: float, order: int) -> float:
    """Forward-Euler rate of ``ν Δ_g`` (Gershgorin bound of the discrete operator, per cell)."""
    cvis = dif.VISCOUS_STABILITY[order]
    if fac is not None:
        return nu * (0.5 / cvis) * _metric_visc_bound(fac, grid.dx)
    return sum(nu / (cvis * h * h) for h in grid.dx)


def _hj(eq: HamiltonJacobi, grid: Grid, scheme: Scheme, dtype, visc) -> Discretisation:
    r""":math:`\dot u = -\hat H(x, p^-, p^+) + \nu\Delta_g u`, assembled from the builders above
    and the numerical Hamiltonian registered under ``scheme``'s flux name; ``visc = (viscous, ν)``."""
    deriv = scheme.hj_derivative()
    (viscous, nu) = visc
    ng = ghost_width(eq, scheme, viscous)
    _check_grid(grid, ng)
    d, dx = grid.ndim, grid.dx
    x = grid.points(dtype)  # (*shape, d)
    fac = chart_factors(eq.manifold, grid, dtype) if eq.manifold is not None else None
    if eq.manifold is not None and getattr(eq.manifold, "dim", d) != d:
        raise QShockInputError(f"manifold has dimension {eq.manifold.dim} but the grid has {d} axes")

    H_field, H_point, coeffs = _hj_hamiltonian(eq, grid, fac, x, dtype)
    flux = scheme.hj_flux(separable=coeffs is not None)
    alpha_local = _hj_alpha_local(eq, grid, coeffs, x, H_point)

    def alpha_global(pm, pp):
        return jnp.max(alpha_local(pm, pp).reshape(d, -1), axis=1)

    hhat = ham.NUMERICAL_HAMILTONIANS[flux].build(ham.HamiltonianParts(H_field, coeffs, alpha_local, alpha_global))
    derivatives = _hj_derivatives(grid, deriv, ng)
    lap = _laplacian(grid, fac, scheme.viscous_order, ng)
    visc_rate = _hj_viscous_rate(grid, fac, nu, scheme.viscous_order)

    def rhs(u, t):
        du = -hhat(*derivatives(u, t))
        return du + nu * lap(u, t) if viscous else du

    def imex_parts():  # method 'imex' (solver.imex_charts): advective part, diffusion propagator, nu
        from .imex_charts import imex_parts as parts
        return parts(eq, grid, scheme, dtype)
    rhs.imex_parts = imex_parts

    def max_dt(u):
        alpha = alpha_global(*derivatives(u, 0.0))
        adv = ham.sum_components(alpha / jnp.asarray(dx, dtype))
        return 1.0 / (adv + visc_rate + 1e-300)

    def gradient(u):
        pm, pp = derivatives(u, 0.0)
        p = 0.5 * (pm + pp)
        return p[0] if d == 1 else p

    return Discretisation(rhs, max_dt, gradient, grid.shape,
                          {"hj_derivative": deriv, "flux": flux, "ghost": ng})
