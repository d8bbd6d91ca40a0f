"""The shape annotations of the ``manifolds`` public API (``qshock.manifolds.types``, jaxtyping)
match what the methods return: every annotated method of ``Manifold`` and ``Quotient`` is called
on real manifolds and its output checked against the annotation's dimension names."""

import typing

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qshock.manifolds import Manifold, Quotient, RescaleQuotient, ScaleQuotient, Sphere, Torus
from qshock.manifolds import types as T

POINT_METHODS = {  # method: how to call it on manifold m at point x (tangent v, covector p)
    "metric": lambda m, x, v: m.metric(x),
    "inverse_metric": lambda m, x, v: m.inverse_metric(x),
    "log_sqrt_det": lambda m, x, v: m.log_sqrt_det(x),
    "volume_density": lambda m, x, v: m.volume_density(x),
    "christoffel": lambda m, x, v: m.christoffel(x),
    "gradient": lambda m, x, v: m.gradient(lambda y: jnp.sum(jnp.sin(y)), x),
    "divergence": lambda m, x, v: m.divergence(lambda y: jnp.cos(y), x),
    "laplace_beltrami": lambda m, x, v: m.laplace_beltrami(lambda y: jnp.sum(jnp.sin(y)), x),
    "norm": lambda m, x, v: m.norm(x, v),
    "hamiltonian": lambda m, x, v: m.hamiltonian(x, v),
    "to_embedding": lambda m, x, v: m.to_embedding(x),
    "wrap": lambda m, x, v: m.wrap(x),
}


def _dims(ann, sizes):
    """The shape that annotation ``ann`` (a jaxtyping type) names, with ``sizes`` for its symbols."""
    return tuple(sizes[s] for s in ann.dim_str.split())


def _check(ann, out, sizes):
    assert isinstance(out, ann), (ann, getattr(out, "shape", None))
    assert out.shape == _dims(ann, sizes)


@pytest.mark.parametrize("m,x", [(Sphere(3), [1.1, 0.4]), (Torus(2), [0.3, 5.0])], ids=["sphere", "torus"])
def test_manifold_methods_return_the_annotated_shapes(m, x):
    x = jnp.asarray(x)
    v = jnp.asarray([0.2, -0.7])
    sizes = {"d": m.dim, "D": int(np.asarray(m.to_embedding(x)).shape[0])}
    for name, call in POINT_METHODS.items():
        ann = typing.get_type_hints(getattr(Manifold, name))["return"]
        _check(ann, call(m, x, v), sizes)
    hints = typing.get_type_hints(Manifold.exp)
    assert hints["x"] is T.Point and hints["v"] is T.Tangent
    _check(hints["return"], m.exp(x, 0.1 * v), sizes)
    rhs = m.geodesic_rhs(x, v)
    assert len(rhs) == 2 and all(r.shape == (m.dim,) for r in rhs)


@pytest.mark.parametrize("q", [ScaleQuotient(n=4), RescaleQuotient(n=3)], ids=["scale", "rescale"])
def test_quotient_methods_return_the_annotated_shapes(q):
    theta = jax.random.normal(jax.random.PRNGKey(0), (int(q.total_dim),))
    x = q.project(theta)
    J = q.orbit_tangents(theta)
    sizes = {"d": q.dim, "D": int(q.total_dim), "k": int(J.shape[1]), "c": int(np.size(q.conserved(theta)))}
    for name, out in (("project", x), ("section", q.section(x)), ("orbit_tangents", J),
                      ("conserved", q.conserved(theta)), ("log_orbit_volume", q.log_orbit_volume(x)),
                      ("noise_drift", q.noise_drift(x, 0.1)),
                      ("group_action", q.group_action(theta, q.random_group_element(jax.random.PRNGKey(1))))):
        _check(typing.get_type_hints(getattr(Quotient, name))["return"], out, sizes)
    assert sizes["k"] >= 1


def test_types_module_names_its_dimensions():
    assert T.Point.dim_str == "d" and T.Matrix.dim_str == "d d" and T.Christoffel.dim_str == "d d d"
    assert T.Scalar.dim_str == "" and T.Parameters.dim_str == "D" and T.OrbitTangents.dim_str == "D k"
