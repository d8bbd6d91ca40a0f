"""Shock prediction (from initial data, by characteristics) and detection (from a computed solution).

* :func:`predict` — flat closed forms and the curved Jacobi/Riccati integration;
* :func:`detect` — gradient blow-up fit, WENO smoothness-indicator jump, total-variation loss,
  and for ν > 0 the time of maximal steepening and the viscous layer width;
* :class:`ShockEstimate` — the common result (time, location, uncertainty, method).
"""

from ._result import ShockEstimate
from .detect import compression_field, compression_history, detect, smoothness_sensor, total_variation
from .predict import HashableFn, flat_hessian_time, point_fn, predict
from .riccati import constant_curvature_blowup, hamiltonian_flow_rhs, jacobi_fold_times, riccati_scalar_blowup

__all__ = ["ShockEstimate", "predict", "point_fn", "HashableFn", "detect", "compression_history", "compression_field", "smoothness_sensor", "total_variation", "flat_hessian_time", "constant_curvature_blowup", "riccati_scalar_blowup",
           "jacobi_fold_times", "hamiltonian_flow_rhs"]
