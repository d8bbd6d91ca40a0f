# Manifolds need only their chart metric: Laplace–Beltrami, Christoffel symbols, exp and the
# quotients of network symmetries follow by autodiff (closed forms where they exist).
import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp

import qshock.manifolds as M

s2 = M.make_manifold("sphere")                                  # S², chart ('theta', 'phi')
x = jnp.array([1.0, 2.0])
f = lambda q: s2.to_embedding(q)[0] * s2.to_embedding(q)[2]     # xz: an l = 2 harmonic
print("Δf/f on S² =", float(s2.laplace_beltrami(f, x) / f(x)))
print("Γ^θ_φφ =", float(s2.christoffel(x)[0, 1, 1]), " -sinθcosθ =", float(-jnp.sin(1.0) * jnp.cos(1.0)))
st = M.Sphere(3, "stereographic")
y = st.from_embedding(s2.to_embedding(x))
u = lambda q, t: M.sphere_hj_exact(q, t, 0.1, 0.5, "stereographic")
res = (jax.grad(u, 1)(y, 0.3) + st.hamiltonian(y, jax.grad(u)(y, 0.3))
       - 0.1 * st.laplace_beltrami(lambda q: u(q, 0.3), y))
print(f"viscous HJ residual of the exact solution (stereographic chart) = {float(res):.1e}")
v = jnp.array([0.3, -0.4])
print(f"|exp closed form - exp by geodesic ODE| = {float(jnp.abs(s2.exp(x, v) - M.Manifold.exp(s2, x, v)).max()):.1e}")
rq = M.RescaleQuotient(2)                                       # ReLU neuron (a, w) ~ (a/α, αw)
theta = jnp.array([0.5, 1.0, -2.0])                             # a, w1, w2
print("project(θ) =", rq.project(theta), " project(g·θ) =", rq.project(rq.group_action(theta, 3.0)))
print("conserved |w|² - a² =", float(rq.conserved(theta)[0]))
mf = M.MeanFieldQuotient(4, 1)
print("W2 between particle sets =", float(mf.wasserstein2(jnp.array([3., 0., 1., 2.]), jnp.array([0.5, 1.5, 2.5, 3.5]))))
try:
    s2.check_point([0.0, 1.0])
except M.ManifoldError as e:
    print("ManifoldError:", e)
