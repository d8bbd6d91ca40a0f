"""Offline data sets for the training lab.

Everything is generated or loaded locally; nothing is downloaded at run time.

* ``digits``   scikit-learn's bundled 8x8 digits (1797 images, 10 classes), pixels / 16.
* ``mnist1d``  MNIST-1D generated procedurally by ``mnist1d.data.make_dataset`` (never its
               download path), cached as ``.npz`` in ``$QSHOCK_CACHE`` or ``~/.cache/qshock``.
* ``teacher``  teacher-student regression: x ~ N(0, I_d), y = a^T tanh(W x) / sqrt(width).
* ``sequence`` modular addition: tokens (a, b, '='), label (a + b) mod p.

All sets are deterministic functions of ``data_seed`` (default 0), independent of the
training seed, so seeds differ only in initialisation and mini-batch order.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass

import numpy as np

from qshock.errors import QShockInputError

__all__ = ["Dataset", "DATASETS", "load_dataset", "cache_dir"]

DATASETS = ("digits", "mnist1d", "teacher", "sequence")


@dataclass(frozen=True)
class Dataset:
    """A train/test split. ``x`` has shape (N, *input_shape); ``y`` is int labels
    (classification) or float targets of shape (N, out_dim) (regression)."""

    name: str
    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str  # "classification" or "regression"
    n_out: int  # classes, or regression output dimension
    vocab: int = 0  # token vocabulary for sequence data (0 otherwise)

    @property
    def n_train(self) -> int:
        return int(self.x.shape[0])

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.x.shape[1:])


def cache_dir() -> str:
    """Cache folder: ``$QSHOCK_CACHE`` if set, else ``~/.cache/qshock``."""
    d = os.environ.get("QSHOCK_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "qshock")
    os.makedirs(d, exist_ok=True)
    return d


def _split(x, y, frac, seed):
    perm = np.random.default_rng(seed).permutation(len(y))
    n = int(round(frac * len(y)))
    tr, te = perm[:n], perm[n:]
    return x[tr], y[tr], x[te], y[te]


def _digits(seed: int) -> Dataset:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images / 16.0).astype(np.float64)  # (N, 8, 8)
    y = d.target.astype(np.int32)
    xt, yt, xs, ys = _split(x, y, 0.8, seed)
    return Dataset("digits", xt, yt, xs, ys, "classification", 10)


def _mnist1d(seed: int) -> Dataset:
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples = 5000
    args.seed = 42 + seed
    key = json.dumps({k: v for k, v in vars(args).items() if k != "url"}, sort_keys=True, default=str)
    tag = hashlib.sha256(key.encode()).hexdigest()[:16]
    path = os.path.join(cache_dir(), f"mnist1d-{tag}.npz")
    if not os.path.exists(path):
        state = np.random.get_state()  # make_dataset reseeds the global numpy RNG
        try:
            data = make_dataset(args)
        finally:
            np.random.set_state(state)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=os.path.dirname(path))
        os.close(fd)
        try:
            np.savez(tmp, x=data["x"], y=data["y"], x_test=data["x_test"], y_test=data["y_test"])
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    with np.load(path) as f:
        x, y, xs, ys = f["x"], f["y"], f["x_test"], f["y_test"]
    return Dataset("mnist1d", x.astype(np.float64), y.astype(np.int32), xs.astype(np.float64),
                   ys.astype(np.int32), "classification", 10)


def _teacher(seed: int, d: int = 16, width: int = 4, n: int = 512, n_test: int = 256) -> Dataset:
    rng = np.random.default_rng(1000 + seed)
    W = rng.standard_normal((width, d)) / np.sqrt(d)
    a = rng.standard_normal(width)
    x = rng.standard_normal((n + n_test, d))
    y = (np.tanh(x @ W.T) @ a / np.sqrt(width))[:, None]
    return Dataset("teacher", x[:n], y[:n], x[n:], y[n:], "regression", 1)


def _sequence(seed: int, p: int = 23) -> Dataset:
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    a, b = a.ravel(), b.ravel()
    x = np.stack([a, b, np.full_like(a, p)], axis=1).astype(np.int32)  # token p is '='
    y = ((a + b) % p).astype(np.int32)
    xt, yt, xs, ys = _split(x, y, 0.5, seed)
    return Dataset("sequence", xt, yt, xs, ys, "classification", p, vocab=p + 1)


def load_dataset(name: str, data_seed: int = 0) -> Dataset:
    """Return the named offline data set (see module docstring)."""
    loaders = {"digits": _digits, "mnist1d": _mnist1d, "teacher": _teacher, "sequence": _sequence}
    if name not in loaders:
        raise QShockInputError(f"--data: unknown dataset {name!r}; expected one of {', '.join(DATASETS)}")
    return loaders[name](int(data_seed))
