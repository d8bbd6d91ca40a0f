"""Run store: atomic checksummed checkpoints; corrupt/truncated ones are skipped."""

import os

import numpy as np

from qshock.experiments.lab.runstore import RunStore


def _arrays(step):
    return {"step": np.asarray(step), "theta": np.arange(10.0) * step}


def test_newest_valid_checkpoint_is_loaded(tmp_path):
    st = RunStore(str(tmp_path))
    for s in (10, 20, 30):
        st.save_checkpoint(s, _arrays(s))
    got = st.load_latest()
    assert int(got["step"]) == 30 and np.array_equal(got["theta"], np.arange(10.0) * 30)
    assert not [f for f in os.listdir(st.ckpt_dir) if f.startswith(".tmp-")]  # no temporaries left


def test_truncated_checkpoint_falls_back(tmp_path):
    st = RunStore(str(tmp_path))
    for s in (10, 20, 30):
        st.save_checkpoint(s, _arrays(s))
    newest = st.checkpoints()[-1]
    with open(newest, "r+b") as f:  # truncate: as if killed mid-write without atomic rename
        f.truncate(os.path.getsize(newest) // 2)
    assert not st.verify(newest)
    assert int(st.load_latest()["step"]) == 20


def test_bitflip_and_missing_checksum_fall_back(tmp_path):
    st = RunStore(str(tmp_path))
    for s in (10, 20, 30):
        st.save_checkpoint(s, _arrays(s))
    p30, p20 = st.checkpoints()[-1], st.checkpoints()[-2]
    data = bytearray(open(p30, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(p30, "wb").write(bytes(data))
    os.unlink(p20[:-4] + ".sha256")
    assert int(st.load_latest()["step"]) == 10


def test_keeps_only_newest_checkpoints(tmp_path):
    st = RunStore(str(tmp_path))
    for s in range(1, 8):
        st.save_checkpoint(s, _arrays(s))
    steps = [int(os.path.basename(p)[5:13]) for p in st.checkpoints()]
    assert steps == [5, 6, 7]
    assert all(st.verify(p) for p in st.checkpoints())


def test_metrics_file_keeps_per_group_step_logs(tmp_path):
    """log_groups gives (seed, step, group) metrics; metrics.nc stores them with a group axis, equal
    to the in-memory result."""
    import xarray as xr

    from qshock.experiments.lab.training import TrainConfig, train

    cfg = TrainConfig(model="mlp", data="digits", lr=0.1, steps=10, batch=32, width=8, norm=True,
                      sharpness_every=5, lanczos_iters=3, n_eigs=1, quotient_sharpness=False, log_groups=True)
    res = train(cfg, out=str(tmp_path / "run"))
    multi = {k: v for k, v in res.step_metrics.items() if np.ndim(v) > 2}
    assert multi, "log_groups should produce per-group step metrics"
    with xr.open_dataset(tmp_path / "run" / "metrics.nc", engine="h5netcdf") as ds:
        for k, v in res.step_metrics.items():
            np.testing.assert_array_equal(ds[k].values, v)
            assert ds[k].dims[:2] == ("seed", "step")
