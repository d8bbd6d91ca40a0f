"""qshock.solver.exact: exact solutions used for verification.

Inviscid Burgers (Lax–Oleinik, characteristics, Riemann problems), viscous Burgers and
viscous HJ by Cole–Hopf (FFT, log-space heat-kernel quadrature, Bessel series), Hopf–Lax
for HJ with ``H = |p|^2/2`` in N-D, the Osher–Shu HJ benchmark, and cell averages.
"""

from .burgers import burgers_characteristic_solution, burgers_shock_time, lax_oleinik_burgers, riemann_burgers
from .cole_hopf import burgers_sin_bessel, cole_hopf_burgers_1d, cole_hopf_hj_torus, hj_cos_bessel
from .hj_benchmarks import HJ_COS_KINK_TIME, hj_cos_1d, hj_cos_2d
from .hopf_lax import hopf_lax, hopf_lax_periodic
from .quadrature import cell_average

__all__ = [
    "lax_oleinik_burgers", "burgers_characteristic_solution", "burgers_shock_time", "riemann_burgers",
    "cole_hopf_burgers_1d", "cole_hopf_hj_torus", "burgers_sin_bessel", "hj_cos_bessel",
    "HJ_COS_KINK_TIME", "hj_cos_1d", "hj_cos_2d",
    "hopf_lax", "hopf_lax_periodic",
    "cell_average",
]
