"""Training-lab data sets (``qshock.experiments.lab.data``): shapes and types, determinism by
``data_seed``, disjoint train/test splits that cover the source, the mnist1d cache, bad names."""

import os

import numpy as np
import pytest

from qshock.errors import QShockInputError
from qshock.experiments.lab.data import DATASETS, cache_dir, load_dataset


def _rows(a):
    """The rows of ``a`` as a sorted list of bytes (a multiset of examples)."""
    a = np.ascontiguousarray(a.reshape(a.shape[0], -1))
    return sorted(r.tobytes() for r in a)


@pytest.fixture(scope="module")
def mnist_cache(tmp_path_factory):
    """A private, empty mnist1d cache (the data are generated, never downloaded)."""
    d = str(tmp_path_factory.mktemp("qshock-cache"))
    old = os.environ.get("QSHOCK_CACHE")
    os.environ["QSHOCK_CACHE"] = d
    yield d
    if old is None:
        os.environ.pop("QSHOCK_CACHE")
    else:
        os.environ["QSHOCK_CACHE"] = old


EXPECTED = {  # name: (n_train, n_test, input_shape, task, n_out, vocab)
    "digits": (1438, 359, (8, 8), "classification", 10, 0),
    "mnist1d": (4000, 1000, (40,), "classification", 10, 0),
    "teacher": (512, 256, (16,), "regression", 1, 0),
    "sequence": (264, 265, (3,), "classification", 23, 24),
}


@pytest.mark.parametrize("name", DATASETS)
def test_shapes_types_and_label_ranges(name, mnist_cache):
    d = load_dataset(name)
    n, nt, shape, task, n_out, vocab = EXPECTED[name]
    assert (d.name, d.n_train, d.x_test.shape[0], d.input_shape, d.task, d.n_out, d.vocab) == \
        (name, n, nt, shape, task, n_out, vocab)
    assert d.x.shape == (n, *shape) and d.x_test.shape == (nt, *shape)
    if task == "classification":
        assert d.y.shape == (n,) and d.y_test.shape == (nt,) and d.y.dtype == np.int32
        labels = np.concatenate([d.y, d.y_test])
        assert labels.min() >= 0 and labels.max() < n_out
        assert len(np.unique(d.y)) == n_out  # every class is in the training split
    else:
        assert d.y.shape == (n, 1) and d.y_test.shape == (nt, 1) and d.y.dtype == np.float64
    if vocab:
        assert d.x.dtype == np.int32 and d.x.min() >= 0 and d.x.max() < vocab
    else:
        assert d.x.dtype == np.float64 and np.all(np.isfinite(d.x))


def test_digits_pixels_in_unit_interval_and_split_is_a_partition_of_sklearn_digits():
    from sklearn.datasets import load_digits

    d = load_dataset("digits")
    assert d.x.min() == 0.0 and d.x.max() == 1.0  # pixels / 16
    src = load_digits()
    # train + test is exactly the source (as a multiset of (image, label) pairs): nothing lost or repeated
    both = np.concatenate([np.concatenate([d.x, d.x_test]).reshape(-1, 64) * 16,
                           np.concatenate([d.y, d.y_test])[:, None]], axis=1)
    ref = np.concatenate([src.images.reshape(-1, 64), src.target[:, None]], axis=1)
    assert _rows(both.astype(np.float64)) == _rows(ref.astype(np.float64))


def test_sequence_is_modular_addition_and_splits_are_disjoint():
    p = 23
    d = load_dataset("sequence")
    for x, y in ((d.x, d.y), (d.x_test, d.y_test)):
        assert np.all(x[:, 2] == p)  # the '=' token
        assert np.array_equal(y, (x[:, 0] + x[:, 1]) % p)
    train = {tuple(r) for r in d.x[:, :2]}
    test = {tuple(r) for r in d.x_test[:, :2]}
    assert not train & test and len(train) == d.n_train and len(train | test) == p * p


def test_teacher_targets_follow_the_teacher_and_splits_are_disjoint():
    """y = aᵀ tanh(W x) / √4 with W ~ N(0, 1/d), a ~ N(0, 1), x ~ N(0, I_16), from default_rng(1000 + seed)."""
    d = load_dataset("teacher")
    rng = np.random.default_rng(1000)
    W = rng.standard_normal((4, 16)) / 4.0
    a = rng.standard_normal(4)
    x = rng.standard_normal((512 + 256, 16))
    assert np.array_equal(np.concatenate([d.x, d.x_test]), x)
    y = np.tanh(np.concatenate([d.x, d.x_test]) @ W.T) @ a / 2.0
    assert np.max(np.abs(np.concatenate([d.y, d.y_test])[:, 0] - y)) < 1e-14
    assert not set(_rows(d.x)) & set(_rows(d.x_test))


@pytest.mark.parametrize("name", DATASETS)
def test_deterministic_in_data_seed(name, mnist_cache):
    a, b, c = load_dataset(name, 0), load_dataset(name, 0), load_dataset(name, 1)
    for f in ("x", "y", "x_test", "y_test"):
        assert np.array_equal(getattr(a, f), getattr(b, f)), f
    assert not np.array_equal(a.x, c.x) or not np.array_equal(a.x_test, c.x_test)
    assert (c.n_train, c.x_test.shape[0]) == (a.n_train, a.x_test.shape[0])


def test_mnist1d_is_cached_atomically_and_leaves_the_global_rng_alone(mnist_cache):
    np.random.seed(123)
    state = np.random.get_state()[1].copy()
    load_dataset("mnist1d", 7)
    assert np.array_equal(np.random.get_state()[1], state)  # make_dataset reseeds numpy; we restore it
    files = sorted(os.listdir(mnist_cache))
    assert cache_dir() == mnist_cache
    assert any(f.startswith("mnist1d-") and f.endswith(".npz") for f in files)
    assert not [f for f in files if f.startswith(".tmp-")]
    n = len(files)
    again = load_dataset("mnist1d", 7)  # from the cache: no new file
    assert len(os.listdir(mnist_cache)) == n and again.n_train == 4000


def test_mnist1d_train_and_test_do_not_share_examples(mnist_cache):
    d = load_dataset("mnist1d")
    assert not set(_rows(d.x)) & set(_rows(d.x_test))


def test_unknown_dataset_is_an_input_error():
    with pytest.raises(QShockInputError, match="--data: unknown dataset 'cifar'"):
        load_dataset("cifar")
