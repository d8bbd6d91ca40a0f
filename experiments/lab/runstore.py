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

Interrupts. Every file is written to a ``.tmp-*`` file in its folder and renamed into place;
temporaries and the outputs a command creates are registered here, so that the interrupt
handler of the command line (:mod:`qshock.experiments.cli.guard`) can call
:func:`cleanup_partial`: it takes the commit lock (no rename can happen after it), deletes
the temporaries, the new output files, and new run directories that hold no resumable state
(no valid checkpoint, no finished study item), and returns what it kept.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

from qshock.errors import QShockInputError

__all__ = ["RunStore", "atomic_write_bytes", "atomic_savefig", "write_figures", "write_netcdf", "read_metrics",
           "track_output", "forget_outputs", "cleanup_partial", "resumable"]

KEEP_CHECKPOINTS = 3

#: long_name and units of the metrics.nc variables (others: the name with spaces, units "1")
METRIC_DESCRIPTIONS = {
    "seed": ("random seed", "1"), "step": ("optimisation step", "1"), "obs_step": ("observation step", "1"),
    "loss": ("mini-batch loss before the update", "1"), "accuracy": ("mini-batch accuracy", "1"),
    "grad_norm": ("Euclidean norm of the mini-batch gradient", "1"), "lr": ("learning rate", "1"),
    "update_proj": ("update projected on the top Hessian eigenvector", "1"),
    "train_loss": ("loss on the sharpness batch", "1"), "train_accuracy": ("accuracy on the sharpness batch", "1"),
    "test_loss": ("test-set loss", "1"), "test_accuracy": ("test-set accuracy", "1"),
    "sharpness": ("top Hessian eigenvalues (Lanczos)", "1"),
    "quotient_sharpness": ("top eigenvalue of the Hessian on the quotient", "1"),
    "precond_sharpness": ("top eigenvalue of the Adam-preconditioned Hessian", "1"),
}

# ---------------------------------------------------------------- interrupt bookkeeping
_LOCK = threading.Lock()  # held while a temporary is registered or renamed into place
_TEMPS: set = set()  # temporaries being written
_OUTPUTS: dict = {}  # output path -> True when it did not exist before this command
_T_START = time.time()


def track_output(path: str) -> None:
    """Register an output of the running command: if ``path`` does not exist yet, an interrupt
    (or a failure) removes it again; a path that existed before, even an empty folder, stays (a directory only when it holds no resumable state, see :func:`resumable`)."""
    path = os.path.abspath(path)
    with _LOCK:
        if path not in _OUTPUTS:
            _OUTPUTS[path] = not os.path.exists(path)  # a folder the user already had is never removed


def forget_outputs() -> None:
    """The command finished: its outputs are complete and stay, whatever happens next."""
    with _LOCK:
        _OUTPUTS.clear()


def resumable(folder: str) -> bool:
    """True when ``folder`` holds state a ``--resume`` can use: a checksummed checkpoint or a study item."""
    return bool(glob.glob(os.path.join(folder, "checkpoints", "ckpt-*.sha256"))
                or glob.glob(os.path.join(folder, "items", "*.json")))


def _sweep_temps(folder: str) -> None:
    """Remove ``.tmp-*`` files below ``folder`` made since this process started."""
    for root, _, files in os.walk(folder):
        for f in files:
            p = os.path.join(root, f)
            try:
                if f.startswith(".tmp-") and os.path.getmtime(p) >= _T_START - 1:
                    os.unlink(p)
            except OSError:
                pass


def cleanup_partial(timeout: float = 10.0, release: bool = False) -> list:
    """Called on an interrupt: delete partial outputs (see module docstring) and return the kept
    run directories that can be resumed. The commit lock is taken and, unless ``release`` (a
    failed command inside a longer-lived process), never released: no file is renamed into place
    after this call."""
    got = _LOCK.acquire(timeout=timeout)
    try:
        return _remove_partial()
    finally:
        if release:
            _OUTPUTS.clear()
            _TEMPS.clear()
            if got:
                _LOCK.release()


def _remove_partial() -> list:
    kept = []
    for tmp in list(_TEMPS):
        try:
            os.unlink(tmp)
        except OSError:
            pass
    for path, new in _OUTPUTS.items():
        if os.path.isdir(path):
            if new and not resumable(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                _sweep_temps(path)
                if resumable(path):
                    kept.append(path)
        elif new and os.path.exists(path):
            try:
                os.unlink(path)
            except OSError:
                pass
    return kept


def _commit(tmp: str, path: str) -> None:
    delay = os.environ.get("QSHOCK_TEST_WRITE_DELAY")  # lets the interrupt tests hit "during writing"
    if delay:
        time.sleep(float(delay))
    with _LOCK:
        os.replace(tmp, path)
        _TEMPS.discard(tmp)


def _new_temp(folder: str, suffix: str = "") -> str:
    with _LOCK:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=folder)
        os.close(fd)
        _TEMPS.add(tmp)
    return tmp


def _discard(tmp: str) -> None:
    with _LOCK:
        _TEMPS.discard(tmp)
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder, fsync and os.replace
    (the file gets the permissions of the umask, not the temporary's 0600)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = _new_temp(folder)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _umask_mode())
        _commit(tmp, path)
    finally:
        _discard(tmp)


def atomic_savefig(fig, path: str, **kw) -> str:
    """``fig.savefig`` through a registered temporary file (format from the suffix of ``path``)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = _new_temp(folder, suffix=os.path.splitext(path)[1])
    try:
        fig.savefig(tmp, format=os.path.splitext(path)[1][1:], **kw)
        os.chmod(tmp, _umask_mode())
        _commit(tmp, path)
    finally:
        _discard(tmp)
    return path


def write_netcdf(ds, path: str) -> str:
    """Write an xarray Dataset atomically (temporary file + os.replace) as NetCDF4 via h5netcdf."""
    engine = "h5netcdf"
    folder = os.path.dirname(os.path.abspath(path))
    tmp = _new_temp(folder, suffix=".nc")
    try:
        try:
            ds.to_netcdf(tmp, engine=engine)
            os.chmod(tmp, _umask_mode())
        except OSError as e:  # name the user's file, not the temporary
            raise OSError(e.errno, f"cannot write {path}: {e.strerror or e}") from None
        _commit(tmp, path)
    finally:
        _discard(tmp)
    return path


def read_metrics(run_dir: str):
    """Load ``run_dir/metrics.nc`` as an in-memory xarray Dataset (either engine)."""
    import xarray as xr

    path = os.path.join(run_dir, "metrics.nc")
    if not os.path.isfile(path):
        raise QShockInputError(f"{run_dir!r} has no metrics.nc (not a finished run directory?)")
    try:
        return xr.load_dataset(path)
    except (OSError, ValueError) as e:
        raise QShockInputError(f"{path} is not a readable NetCDF file (truncated or corrupt?): "
                               f"{type(e).__name__}") from None


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
        try:
            with open(p) as f:
                doc = json.load(f)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise QShockInputError(f"{p} is not a valid config.json ({type(e).__name__}: {e})") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("config"), dict):
            raise QShockInputError(f"{p} is not a qshock train config.json (no 'config' table)")
        return doc

    #: settings that do not change the trajectory: a run may be resumed with other values
    RESUMABLE_CHANGES = ("steps", "checkpoint_every")

    def check_config(self, cfg) -> None:
        """On --resume the stored configuration must equal the requested one, except the number of
        steps (a finished run is extended by asking for more steps; the new count is recorded)."""
        old = self.read_config()
        if old is None:
            return
        new = json.loads(json.dumps(dataclasses.asdict(cfg), default=str))
        old_cfg = old["config"]
        diff = [k for k in new if old_cfg.get(k) != new[k] and k not in self.RESUMABLE_CHANGES]
        if diff:
            raise QShockInputError(f"--resume: run directory {self.path} was made with different settings "
                                   f"({'; '.join(f'{k}: {old_cfg.get(k)!r} vs {new[k]!r}' for k in diff)})")
        if old_cfg.get("steps") != new["steps"]:
            done = max((int(os.path.basename(c)[5:13]) for c in self.checkpoints()), default=0)
            if new["steps"] < done:
                raise QShockInputError(f"--resume: --steps {new['steps']} is below step {done}, "
                                       f"already reached in {self.path}")
            old["config"].update(steps=new["steps"], checkpoint_every=new["checkpoint_every"])
            old.setdefault("extended", []).append(new["steps"])
            atomic_write_bytes(os.path.join(self.path, "config.json"),
                               json.dumps(old, indent=2, default=str).encode())

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
        vars_ = {k: (("seed", "step") + tuple(f"{k}_d{i}" for i in range(np.ndim(v) - 2)), v)
                 for k, v in res.step_metrics.items()}  # per-group logs (log_groups) carry a group axis
        for k, v in res.obs.items():
            dims = ("seed", "obs_step") + tuple(f"{k}_d{i}" for i in range(v.ndim - 2))
            vars_["obs_" + k] = (dims, v)
        attrs = {k: (json.dumps(v) if isinstance(v, (tuple, list, dict)) or v is None else
                     (int(v) if isinstance(v, bool) else v))
                 for k, v in dataclasses.asdict(res.config).items()}
        attrs.update(wall_time=float(res.wall_time), steps_per_second=float(res.steps_per_second))
        ds = xr.Dataset(vars_, coords={"seed": seeds, "step": np.arange(nsteps), "obs_step": res.obs_steps},
                        attrs=attrs)
        return write_netcdf(self._describe(ds), os.path.join(self.path, "metrics.nc"))

    def _describe(self, ds):
        """CF attributes: ``long_name``/``units`` on every variable, ``Conventions``, ``history``, ``source``."""
        import datetime

        from qshock import __version__

        doc = {}
        try:
            doc = self.read_config() or {}
        except QShockInputError:
            pass
        cmd = " ".join(str(a) for a in doc.get("argv", sys.argv))
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        ds.attrs.update(Conventions="CF-1.8", title=f"qshock training metrics ({ds.attrs.get('model')} on "
                        f"{ds.attrs.get('data')})", history=f"{now}: {cmd}", source=f"qshock {__version__}",
                        qshock_version=__version__, command_line=cmd, partial=0)
        for name in ds.variables:
            base = name[4:] if name.startswith("obs_") else name
            long_name, units = METRIC_DESCRIPTIONS.get(base, (base.replace("_", " "), "1"))
            if name.startswith("obs_"):
                long_name += " (at observation steps)"
            ds[name].attrs.setdefault("long_name", long_name)
            ds[name].attrs.setdefault("units", units)
        ds = ds.assign_coords({k: ds[k].astype(np.int32) for k in ("seed", "step", "obs_step")})  # CF-1.8: no int64
        for name in ("seed", "step", "obs_step"):
            ds[name].encoding["_FillValue"] = None
        return ds

    def write_events(self, events) -> None:
        atomic_write_bytes(os.path.join(self.path, "events.json"), json.dumps(events, indent=1).encode())

    def write_figures(self, fmt=("png", "pdf")) -> list:
        return write_figures(self.path, fmt)


def write_figures(run_dir: str, fmt=("png", "pdf")) -> list:
    """Plot loss, sharpness (with the 2/eta-type edge-of-stability line) and the scalar quotient
    observables of ``run_dir/metrics.nc`` into ``run_dir/figures``; returns the files written.

    Observables are drawn as drifts from their value at the first observation, ``q(t) - q(0)``
    (a conserved quantity then shows its round-off, not a flat line with an offset label);
    vector observables with more than 8 entries as the norm of the drift. Positive quantities on
    log axes are clipped below at the smallest positive value, so exact zeros stay visible.
    """
    from qshock.experiments.lab.plotting import figure

    ds = read_metrics(run_dir)
    figdir = os.path.join(run_dir, "figures")
    written = []

    def save(fig, name):
        for ext in fmt:
            written.append(atomic_savefig(fig, os.path.join(figdir, f"{name}.{ext}"), bbox_inches="tight"))
        import matplotlib.pyplot as plt

        plt.close(fig)

    fig, ax = figure(figsize=(6, 4))
    for s in ds.seed.values:
        ax.plot(ds.step, _positive(ds.loss.sel(seed=s).values), lw=0.6, label=f"seed {s}")
    ax.set(xlabel="step", ylabel="mini-batch loss", yscale="log", title=f"{ds.attrs['model']} / {ds.attrs['data']}")
    ax.legend(fontsize=7)
    save(fig, "loss")

    fig, ax = figure(figsize=(6, 4))
    _sharpness_axes(ax, ds)
    save(fig, "sharpness")

    qs = [k for k in ds.data_vars if k.startswith("obs_q_")]
    if qs:
        cols = min(3, len(qs))
        rows = (len(qs) + cols - 1) // cols
        fig, axes = figure(rows, cols, figsize=(4 * cols, 2.8 * rows), squeeze=False)
        for ax, k in zip(axes.ravel(), qs):
            _drift_axes(ax, ds, k)
        for ax in axes.ravel()[len(qs):]:
            ax.axis("off")
        fig.tight_layout()
        save(fig, "observables")
    return written


def _positive(y):
    """``y`` with non-positive entries raised to the smallest positive one (log axes)."""
    y = np.asarray(y, dtype=float)
    pos = y[np.isfinite(y) & (y > 0)]
    return np.where(np.isfinite(y) & (y <= 0), pos.min() if pos.size else 1e-300, y)


def _sharpness_axes(ax, ds) -> None:
    lr, opt, mom = float(ds.attrs["lr"]), ds.attrs["optimizer"], float(ds.attrs["momentum"])
    for s in ds.seed.values:
        ax.plot(ds.obs_step, _positive(ds.obs_sharpness.sel(seed=s)[:, 0]), "o-", ms=2, label=f"λmax seed {s}")
        if "obs_quotient_sharpness" in ds:
            ax.plot(ds.obs_step, _positive(ds.obs_quotient_sharpness.sel(seed=s)), "s--", ms=2,
                    label=f"quotient seed {s}")
        if "obs_precond_sharpness" in ds:
            ax.plot(ds.obs_step, _positive(ds.obs_precond_sharpness.sel(seed=s)), "^:", ms=2,
                    label=f"λmax(P⁻¹H) seed {s}")
    edge = {"sgd": 2 / lr, "momentum": (2 + 2 * mom) / lr, "adam": 38 / lr}[opt]
    ax.axhline(edge, color="k", ls=":", lw=1, label="edge of stability")
    ax.set(xlabel="step", ylabel="sharpness (top Hessian eigenvalue)", yscale="log")
    ax.legend(fontsize=7)


def _drift_axes(ax, ds, k: str) -> None:
    """One observable as its drift from the first observation, no offset text on the axis."""
    from matplotlib.ticker import FuncFormatter

    v = ds[k].values.reshape(ds.sizes["seed"], ds.sizes["obs_step"], -1)
    big = v.shape[2] > 8
    for i in range(v.shape[0]):
        d = v[i] - v[i, :1]
        ax.plot(ds.obs_step, np.linalg.norm(d, axis=1) if big else d, lw=0.8)
    ax.set_title(k[6:], fontsize=8)
    ax.set_xlabel("step", fontsize=7)
    ax.set_ylabel("‖q − q(0)‖" if big else "q − q(0)", fontsize=7)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:.3g}"))  # one tick format, no offset text
    ax.tick_params(labelsize=7)
