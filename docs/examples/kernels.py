# Orders of the finite-volume kernels on smooth data: reconstruction from exact cell averages
# of sin x, and the one-sided HJ derivatives of its point values (qshock.solver.kernels).
import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import numpy as np

from qshock.solver.kernels import HJ_DERIVATIVES, RECONSTRUCTIONS, one_sided_derivatives, reconstruct, second_derivative


def face_error(method, n):
    h = 2 * np.pi / n
    left = np.arange(-3, n + 3) * h
    avg = (np.cos(left) - np.cos(left + h)) / h          # exact cell averages of sin x
    qL, qR = reconstruct(jnp.asarray(avg), method, ng=3)
    exact = np.sin(np.arange(n + 1) * h)
    return float(np.max(np.abs(np.concatenate([qL - exact, qR - exact]))))


def deriv_error(method, n):
    h = 2 * np.pi / n
    x = (np.arange(-3, n + 3) + 0.5) * h
    pm, pp = one_sided_derivatives(jnp.asarray(np.sin(x)), h, method, ng=3)
    return float(max(np.abs(pm - np.cos(x[3:-3])).max(), np.abs(pp - np.cos(x[3:-3])).max()))


def laplacian_error(order, n):
    h, g = 2 * np.pi / n, order // 2                     # order 2: 1 ghost cell, order 4: 2
    x = (np.arange(-g, n + g) + 0.5) * h
    d2 = second_derivative(jnp.asarray(np.sin(x)), h, order=order, ng=g)
    return float(np.max(np.abs(d2 + np.sin(x[g:-g]))))


for name, err, methods in (("reconstruct", face_error, RECONSTRUCTIONS),
                           ("HJ derivative", deriv_error, HJ_DERIVATIVES),
                           ("2nd derivative", laplacian_error, (2, 4))):
    for m in methods:
        e80, e160 = err(m, 80), err(m, 160)
        print(f"{name:14s} {str(m):14s} max err N=160: {e160:.2e}  order: {np.log2(e80 / e160):.2f}")
