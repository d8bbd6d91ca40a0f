"""Figures of the training lab: files written (non-empty, right format) and the data on the axes.

A synthetic ``metrics.nc`` with known numbers goes through
``qshock.experiments.lab.runstore.write_figures`` (and ``qshock figures RUN_DIR``); the figure
objects are captured as they are saved, so the test reads back what each axis plots.
"""

import os

import numpy as np
import pytest

from qshock.experiments.cli.main import main
from qshock.experiments.lab import plotting, runstore

MAGIC = {"pdf": b"%PDF", "png": b"\x89PNG", "svg": b"<?xml"}
LR = 0.05


def _metrics(run_dir):
    import xarray as xr

    steps, obs = np.arange(30), np.array([0, 10, 20, 29])
    loss = np.stack([2.0 * np.exp(-steps / 10), 1.5 * np.exp(-steps / 20)])
    loss[1, 5] = 0.0  # an exact zero: drawn at the smallest positive value on the log axis
    sharp = np.stack([np.stack([np.linspace(10, 40, 4), np.linspace(5, 8, 4)], -1),
                      np.stack([np.linspace(12, 39, 4), np.linspace(4, 9, 4)], -1)])
    quot = sharp[:, :, 0] / 2
    sq = np.array([[3.0, 3.5, 4.0, 4.2], [2.0, 2.2, 2.1, 2.6]])
    sv = np.arange(2 * 4 * 3 * 4, dtype=float).reshape(2, 4, 3, 4) ** 1.5  # 12 entries: drawn as a norm
    ds = xr.Dataset(
        {"loss": (("seed", "step"), loss), "obs_sharpness": (("seed", "obs_step", "sharpness_d0"), sharp),
         "obs_quotient_sharpness": (("seed", "obs_step"), quot),
         "obs_q_scale_sqnorm_layer0": (("seed", "obs_step"), sq),
         "obs_q_sv_qk_0": (("seed", "obs_step", "sv_d0", "sv_d1"), sv)},
        coords={"seed": [0, 1], "step": steps, "obs_step": obs},
        attrs={"model": "mlp", "data": "digits", "lr": LR, "optimizer": "sgd", "momentum": 0.0})
    os.makedirs(run_dir, exist_ok=True)
    runstore.write_netcdf(ds, os.path.join(run_dir, "metrics.nc"))
    return ds


@pytest.fixture
def captured(monkeypatch):
    """Record, for every saved figure, the lines (x, y), labels and scales of each visible axis."""
    seen = {}
    real = runstore.atomic_savefig

    def spy(fig, path, **kw):
        name = os.path.splitext(os.path.basename(path))[0]
        seen[name] = [dict(lines=[(np.asarray(ln.get_xdata(), float), np.asarray(ln.get_ydata(), float), ln.get_label())
                                  for ln in ax.get_lines()],
                           xlabel=ax.get_xlabel(), ylabel=ax.get_ylabel(), yscale=ax.get_yscale(), title=ax.get_title())
                      for ax in fig.axes if ax.axison]
        return real(fig, path, **kw)

    monkeypatch.setattr(runstore, "atomic_savefig", spy)
    return seen


def _check_files(paths, fmt):
    for p in paths:
        assert p.endswith("." + fmt) and os.path.getsize(p) > 1000
        with open(p, "rb") as fh:
            assert fh.read(5).startswith(MAGIC[fmt]), p


def test_training_figures_files_and_axes_data(tmp_path, captured):
    run = str(tmp_path / "run")
    ds = _metrics(run)
    paths = runstore.write_figures(run, ("png", "pdf"))
    assert sorted(os.path.basename(p) for p in paths) == sorted(
        f"{n}.{e}" for n in ("loss", "sharpness", "observables") for e in ("png", "pdf"))
    _check_files([p for p in paths if p.endswith(".png")], "png")
    _check_files([p for p in paths if p.endswith(".pdf")], "pdf")
    assert not [f for f in os.listdir(os.path.join(run, "figures")) if f.startswith(".tmp")]

    (loss_ax,) = captured["loss"]
    assert loss_ax["yscale"] == "log" and loss_ax["xlabel"] == "step" and loss_ax["title"] == "mlp / digits"
    for (x, y, label), s in zip(loss_ax["lines"], (0, 1), strict=True):
        want = ds.loss.sel(seed=s).values.copy()
        want[want <= 0] = want[want > 0].min()
        assert label == f"seed {s}" and np.array_equal(x, np.arange(30)) and np.allclose(y, want, rtol=0, atol=0)

    (sh,) = captured["sharpness"]
    lines = {label: (x, y) for x, y, label in sh["lines"]}
    for s in (0, 1):
        assert np.array_equal(lines[f"λmax seed {s}"][1], ds.obs_sharpness.sel(seed=s).values[:, 0])
        assert np.array_equal(lines[f"quotient seed {s}"][1], ds.obs_quotient_sharpness.sel(seed=s).values)
        assert np.array_equal(lines[f"λmax seed {s}"][0], [0, 10, 20, 29])
    assert np.allclose(lines["edge of stability"][1], 2 / LR)  # the 2/η line of plain SGD

    obs = captured["observables"]
    assert [a["title"] for a in obs] == ["scale_sqnorm_layer0", "sv_qk_0"]
    sq, sv = obs
    for s, (x, y, _) in enumerate(sq["lines"]):  # drift q - q(0) of a scalar observable
        q = ds.obs_q_scale_sqnorm_layer0.values[s]
        assert np.array_equal(x, [0, 10, 20, 29])
        assert np.allclose(y, q - q[0], rtol=0, atol=1e-15) and y[0] == 0
    assert sv["ylabel"] == "‖q − q(0)‖"
    for s, (x, y, _) in enumerate(sv["lines"]):  # > 8 entries: norm of the drift
        v = ds.obs_q_sv_qk_0.values[s].reshape(4, -1)
        assert np.array_equal(x, [0, 10, 20, 29])
        assert np.allclose(y, np.linalg.norm(v - v[:1], axis=1), rtol=1e-14)


def test_qshock_figures_cli_redraws_a_run_as_svg(tmp_path, capsys):
    run = str(tmp_path / "run")
    _metrics(run)
    assert main(["figures", run, "--format", "svg"]) == 0
    assert "3 figure(s) written" in capsys.readouterr().out
    files = sorted(os.listdir(os.path.join(run, "figures")))
    assert files == ["loss.svg", "observables.svg", "sharpness.svg"]
    _check_files([os.path.join(run, "figures", f) for f in files], "svg")


def test_qshock_figures_cli_bad_directory(tmp_path, capsys):
    assert main(["figures", str(tmp_path / "missing")]) == 2
    assert main(["figures", str(tmp_path)]) == 2  # neither metrics.nc nor results.json
    err = capsys.readouterr().err
    assert "does not exist" in err and "neither a training run" in err and "Traceback" not in err


def test_plotting_save_writes_each_format_atomically_with_the_house_style(tmp_path):
    fig, ax = plotting.figure()
    import matplotlib.pyplot as plt

    assert plt.rcParams["pdf.fonttype"] == 42 and plt.rcParams["axes.spines.top"] is False
    ax.plot([1, 2, 3], [3, 1, 2], label="a")
    ax.set_xlabel("x")
    paths = plotting.save(fig, str(tmp_path / "sub" / "fig"), ("pdf", "png", "svg"))
    assert [os.path.basename(p) for p in paths] == ["fig.pdf", "fig.png", "fig.svg"]
    for p in paths:
        _check_files([p], p.rsplit(".", 1)[1])
    assert sorted(os.listdir(tmp_path / "sub")) == ["fig.pdf", "fig.png", "fig.svg"]  # no temporaries left
    assert not plt.fignum_exists(fig.number)  # closed after saving
