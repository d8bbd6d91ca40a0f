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
