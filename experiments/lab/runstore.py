"""Run directories: config, atomic checksummed checkpoints, NetCDF metrics, events, figures.

Layout of ``DIR``::

    config.json                 all arguments, seeds, package versions, git commit, command line
    checkpoints/ckpt-00000100.npz   state at step 100 (params, optimiser state, RNG keys, metrics so far)
    checkpoints/ckpt-00000100.sha256  SHA-256 of the .npz (written after it, both atomically)
    metrics.nc                  per-step metrics (dims seed, step) and observations (seed, obs_step, ...)
    events.json                 detected events (``qshock.experiments.lab.events``)
    figures/                    loss, sharpness and observable plots (PNG and PDF)

A checkpoint counts only if its checksum file exists and matches, so a truncated or corrupt
checkpoint (e.g. a run killed while writing) is skipped and the previous one is used.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from qshock.errors import QShockInputError

__all__ = ["RunStore", "atomic_write_bytes", "write_figures", "write_netcdf", "read_metrics"]

KEEP_CHECKPOINTS = 3


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder, fsync and os.replace."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_netcdf(ds, path: str) -> str:
    """Write an xarray Dataset atomically (temporary file + os.replace): NetCDF4 via h5netcdf when
    h5py is importable, else NetCDF3 via scipy (int64 stored as int32, bool as int8)."""
    try:
        import h5py  # noqa: F401

        engine = "h5netcdf"
    except ImportError:
        engine = "scipy"
        ds = ds.copy()
        for k in list(ds.variables):
            if ds[k].dtype == np.int64:
                ds[k] = ds[k].astype(np.int32)
            elif ds[k].dtype == bool:
                ds[k] = ds[k].astype(np.int8)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".nc", dir=folder)
    os.close(fd)
    try:
        ds.to_netcdf(tmp, engine=engine)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def read_metrics(run_dir: str):
    """Load ``run_dir/metrics.nc`` as an in-memory xarray Dataset (either engine)."""
    import xarray as xr

    return xr.load_dataset(os.path.join(run_dir, "metrics.nc"))


def package_versions():
    out = {"python": sys.version.split()[0]}
    for mod in ("jax", "jaxlib", "equinox", "optax", "numpy", "xarray", "qshock"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception:  # pragma: no cover - optional info
            pass
    return out


def git_commit():
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10)
        return r.stdout.strip() if r.returncode == 0 else None
    except Exception:  # pragma: no cover
        return None


class RunStore:
    """One run directory (see module docstring)."""

    def __init__(self, path: str):
        self.path = os.path.abspath(path)
        try:
            os.makedirs(self.path, exist_ok=True)
        except OSError as e:
            raise QShockInputError(f"--out: cannot create run directory {path!r}: {e}") from e
        self.ckpt_dir = os.path.join(self.path, "checkpoints")

    # ---------------------------------------------------------------- config
    def write_config(self, cfg, argv=None, extra=None) -> None:
        doc = {"config": dataclasses.asdict(cfg), "seeds": list(cfg.seeds), "versions": package_versions(),
               "git_commit": git_commit(), "argv": list(sys.argv if argv is None else argv)}
        doc.update(extra or {})
        atomic_write_bytes(os.path.join(self.path, "config.json"), json.dumps(doc, indent=2, default=str).encode())

    def read_config(self):
        p = os.path.join(self.path, "config.json")
        if not os.path.exists(p):
            return None
        with open(p) as f:
            return json.load(f)

    def check_config(self, cfg) -> None:
        """On --resume the stored configuration must equal the requested one."""
        old = self.read_config()
        if old is None:
            return
        new = json.loads(json.dumps(dataclasses.asdict(cfg), default=str))
        old_cfg = old["config"]
        diff = [k for k in new if old_cfg.get(k) != new[k]]
        if diff:
            raise QShockInputError(f"--resume: run directory {self.path} was made with different settings "
                                   f"({'; '.join(f'{k}: {old_cfg.get(k)!r} vs {new[k]!r}' for k in diff)})")

    # ---------------------------------------------------------------- checkpoints
    def _ckpt(self, step):
        return os.path.join(self.ckpt_dir, f"ckpt-{int(step):08d}.npz")

    def save_checkpoint(self, step: int, arrays: dict) -> str:
        """Atomically write the checkpoint and then its SHA-256 file; keep the newest few."""
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        data = buf.getvalue()
        path = self._ckpt(step)
        atomic_write_bytes(path, data)
        atomic_write_bytes(path[:-4] + ".sha256", (hashlib.sha256(data).hexdigest() + "\n").encode())
        for old in self.checkpoints()[:-KEEP_CHECKPOINTS]:
            for p in (old, old[:-4] + ".sha256"):
                if os.path.exists(p):
                    os.unlink(p)
        return path

    def checkpoints(self) -> list:
        """Checkpoint files, oldest first."""
        return sorted(glob.glob(os.path.join(self.ckpt_dir, "ckpt-*.npz")))

    def verify(self, path: str) -> bool:
        """True if the checkpoint's SHA-256 file exists and matches its bytes."""
        sha = path[:-4] + ".sha256"
        if not (os.path.exists(path) and os.path.exists(sha)):
            return False
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        with open(sha) as f:
            return f.read().strip() == digest

    def load_latest(self):
        """The newest valid checkpoint as a dict of arrays (with key ``path``), or None."""
        for path in reversed(self.checkpoints()):
            if not self.verify(path):
                print(f"qshock: checkpoint {os.path.basename(path)} is corrupt or incomplete; trying the previous one",
                      file=sys.stderr)
                continue
            with np.load(path) as f:
                out = {k: f[k] for k in f.files}
            out["path"] = path
            return out
        return None

    # ---------------------------------------------------------------- outputs
    def write_metrics(self, res) -> str:
        """metrics.nc: per-step variables (seed, step), observations (seed, obs_step, ...)."""
        import xarray as xr

        seeds = np.asarray(res.config.seeds)
        nsteps = next(iter(res.step_metrics.values())).shape[1]
        vars_ = {k: (("seed", "step"), v) for k, v in res.step_metrics.items()}
        for k, v in res.obs.items():
            dims = ("seed", "obs_step") + tuple(f"{k}_d{i}" for i in range(v.ndim - 2))
            vars_["obs_" + k] = (dims, v)
        attrs = {k: (json.dumps(v) if isinstance(v, (tuple, list, dict)) or v is None else
                     (int(v) if isinstance(v, bool) else v))
                 for k, v in dataclasses.asdict(res.config).items()}
        attrs.update(wall_time=float(res.wall_time), steps_per_second=float(res.steps_per_second))
        ds = xr.Dataset(vars_, coords={"seed": seeds, "step": np.arange(nsteps), "obs_step": res.obs_steps},
                        attrs=attrs)
        return write_netcdf(ds, os.path.join(self.path, "metrics.nc"))

    def write_events(self, events) -> None:
        atomic_write_bytes(os.path.join(self.path, "events.json"), json.dumps(events, indent=1).encode())

    def write_figures(self, fmt=("png", "pdf")) -> list:
        return write_figures(self.path, fmt)


def write_figures(run_dir: str, fmt=("png", "pdf")) -> list:
    """Plot loss, sharpness (with the 2/eta-type edge-of-stability line) and the scalar quotient
    observables of ``run_dir/metrics.nc`` into ``run_dir/figures``; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ds = read_metrics(run_dir)
    figdir = os.path.join(run_dir, "figures")
    os.makedirs(figdir, exist_ok=True)
    written = []

    def save(fig, name):
        for ext in fmt:
            p = os.path.join(figdir, f"{name}.{ext}")
            fig.savefig(p, bbox_inches="tight")
            written.append(p)
        plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    for s in ds.seed.values:
        ax.plot(ds.step, ds.loss.sel(seed=s), lw=0.6, label=f"seed {s}")
    ax.set(xlabel="step", ylabel="mini-batch loss", yscale="log", title=f"{ds.attrs['model']} / {ds.attrs['data']}")
    ax.legend(fontsize=7)
    save(fig, "loss")

    fig, ax = plt.subplots(figsize=(6, 4))
    lr, opt, mom = float(ds.attrs["lr"]), ds.attrs["optimizer"], float(ds.attrs["momentum"])
    for s in ds.seed.values:
        ax.plot(ds.obs_step, ds.obs_sharpness.sel(seed=s)[:, 0], "o-", ms=2, label=f"λmax seed {s}")
        if "obs_quotient_sharpness" in ds:
            ax.plot(ds.obs_step, ds.obs_quotient_sharpness.sel(seed=s), "s--", ms=2, label=f"quotient seed {s}")
        if "obs_precond_sharpness" in ds:
            ax.plot(ds.obs_step, ds.obs_precond_sharpness.sel(seed=s), "^:", ms=2, label=f"λmax(P⁻¹H) seed {s}")
    edge = {"sgd": 2 / lr, "momentum": (2 + 2 * mom) / lr, "adam": 38 / lr}[opt]
    ax.axhline(edge, color="k", ls=":", lw=1, label="edge of stability")
    ax.set(xlabel="step", ylabel="sharpness", yscale="log")
    ax.legend(fontsize=7)
    save(fig, "sharpness")

    qs = [k for k in ds.data_vars if k.startswith("obs_q_")]
    if qs:
        n = len(qs)
        cols = min(3, n)
        rows = (n + cols - 1) // cols
        fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.6 * rows), squeeze=False)
        for ax, k in zip(axes.ravel(), qs):
            v = ds[k].values.reshape(ds.sizes["seed"], ds.sizes["obs_step"], -1)
            for i in range(v.shape[0]):
                y = v[i] if v.shape[2] <= 8 else np.linalg.norm(v[i], axis=1, keepdims=True)
                ax.plot(ds.obs_step, y, lw=0.8)
            ax.set_title(k[6:] + ("" if v.shape[2] <= 8 else " (norm)"), fontsize=8)
            ax.tick_params(labelsize=7)
        for ax in axes.ravel()[n:]:
            ax.axis("off")
        fig.tight_layout()
        save(fig, "observables")
    return written
