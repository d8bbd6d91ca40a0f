"""Spectral solvers: Fourier pseudo-spectral (ETDRK4 / adaptive IMEX) on periodic boxes,
spherical harmonics (heat, viscous HJ by Cole–Hopf) on S²."""

from .etdrk4 import ETDRK4Coefficients, etdrk4_coefficients, etdrk4_step
from .fourier import dealias_mask, fourier_interpolate, spectral_gradient, wavenumbers
from .torus import ResolutionWarning, default_dt, resolution_check, solve_spectral
from .sphere import (SAMPLINGS, Heat, SphereTransform, heat_trace, solve_sphere, sphere_band_limit, sphere_laplacian,
                     sphere_laplacian_eigenvalues, sphere_transform)

__all__ = [
    "ETDRK4Coefficients", "etdrk4_coefficients", "etdrk4_step",
    "dealias_mask", "fourier_interpolate", "spectral_gradient", "wavenumbers",
    "ResolutionWarning", "default_dt", "resolution_check", "solve_spectral",
    "SAMPLINGS", "Heat", "SphereTransform", "heat_trace", "solve_sphere", "sphere_band_limit", "sphere_laplacian",
    "sphere_laplacian_eigenvalues", "sphere_transform",
]
