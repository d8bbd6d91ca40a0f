"""`qshock solve --manifold NAME --chart NAME` (issue 4): chart coordinates in the NetCDF output,
the exact S² solution reproduced through the CLI, and one-line exit-2 errors for bad charts/domains."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from qshock.experiments.cli.main import main

NU, EPS = 0.1, 0.5
IC_SPHERICAL = f"-2*{NU}*log(1 + {EPS}*sin(theta)*cos(phi))"
IC_STEREO = f"-2*{NU}*log(1 + {EPS}*2*y1/(1 + y1**2 + y2**2))"


def _exact_s2(x1, t):
    return -2 * NU * np.log1p(EPS * math.exp(-2 * NU * t) * x1)


def _run(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_sphere_spherical_chart_writes_theta_phi(tmp_path, capsys):
    out = tmp_path / "s2.nc"
    code, _, err = _run(["solve", "--equation", "hj", "--manifold", "sphere", "--n", "16,32", "--ic", IC_SPHERICAL,
                         "--nu", str(NU), "--t1", "0.2", "--scheme", "weno5", "--out", str(out)], capsys)
    assert code == 0, err
    with xr.open_dataset(out) as ds:
        assert ds["u"].dims == ("t", "theta", "phi")
        th, ph = ds["theta"].values, ds["phi"].values
        np.testing.assert_allclose(th, (np.arange(16) + 0.5) * np.pi / 16, rtol=1e-14)
        np.testing.assert_allclose(ph, (np.arange(32) + 0.5) * np.pi / 16, rtol=1e-14)
        u = ds["u"].isel(t=-1).values
        x1 = np.sin(th)[:, None] * np.cos(ph)[None, :]
        # the initial data are √G-weighted cell averages: compare at the same (second) order
        err_max = np.max(np.abs(u - _exact_s2(x1, 0.2)))
        assert err_max < 3e-3, err_max
        assert float(ds.attrs["nu"]) == NU


def test_sphere_stereographic_needs_domain(capsys):
    code, _, err = _run(["solve", "--equation", "hj", "--manifold", "sphere", "--chart", "stereographic",
                         "--n", "16", "--ic", IC_STEREO, "--t1", "0.1", "--out", "x.nc"], capsys)
    assert code == 2
    assert err.count("\n") == 1 and "--domain is required" in err and "y1" in err


def test_sphere_stereographic_runs_with_domain(tmp_path, capsys):
    out = tmp_path / "st.nc"
    code, _, err = _run(["solve", "--equation", "hj", "--manifold", "sphere", "--chart", "stereographic",
                         "--domain", "-2:2,-2:2", "--n", "24", "--bc", "dirichlet", "--ic", IC_STEREO,
                         "--nu", str(NU), "--t1", "0.1", "--scheme", "muscl", "--out", str(out)], capsys)
    assert code == 0, err
    with xr.open_dataset(out) as ds:
        assert ds["u"].dims == ("t", "y1", "y2")
        y1, y2 = np.meshgrid(ds["y1"].values, ds["y2"].values, indexing="ij")
        x1 = 2 * y1 / (1 + y1**2 + y2**2)
        err_max = np.max(np.abs(ds["u"].isel(t=-1).values - _exact_s2(x1, 0.1)))
        assert err_max < 3e-3, err_max


@pytest.mark.parametrize("argv, needle", [
    (["--manifold", "sphere", "--domain", "0:4,0:2*pi"], "leaves the chart's domain"),
    (["--manifold", "sphere", "--domain", "0:pi,0:pi"], "exactly one period"),
    (["--manifold", "radial", "--domain", "-1:1"], "leaves the chart's domain"),
    (["--manifold", "klein"], "unknown manifold"),
    (["--manifold", "sphere", "--chart", "mercator"], "unknown chart"),
    (["--manifold", "sphere", "--domain", "0:pi"], "has 1 axes"),
])
def test_bad_chart_input_exits_2_with_one_line(argv, needle, capsys):
    code, out, err = _run(["solve", "--equation", "hj", "--n", "16", "--ic", "0", "--t1", "0.1",
                           "--out", "x.nc", *argv], capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("qshock"), err
    assert needle in err, err
    assert "Traceback" not in err


def test_radial_chart_from_cli_matches_heat_kernel(tmp_path, capsys):
    """R³/O(3) chart: u = −2ν log(1 + (t0/(t+t0))^{3/2} e^{−r²/4ν(t+t0)}) with reflect at r = 0."""
    out = tmp_path / "r.nc"
    t0 = 0.25
    ic = f"-2*{NU}*log(1 + exp(-r**2/(4*{NU}*{t0})))"
    code, _, err = _run(["solve", "--equation", "hj", "--manifold", "radial", "--dim", "3", "--domain", "0:3",
                         "--n", "96", "--ic", ic, "--nu", str(NU), "--t1", "0.25", "--out", str(out)], capsys)
    assert code == 0, err
    with xr.open_dataset(out) as ds:
        assert ds["u"].dims == ("t", "r")
        r = ds["r"].values
        s = 0.25 + t0
        exact = -2 * NU * np.log1p((t0 / s) ** 1.5 * np.exp(-r**2 / (4 * NU * s)))
        err_max = np.max(np.abs(ds["u"].isel(t=-1).values - exact))
        assert err_max < 2e-4, err_max
