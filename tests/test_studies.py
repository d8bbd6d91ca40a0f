"""Studies (``qshock experiment``) and ``qshock figures``: numbers, classification, resume, errors."""

import json
import os

import pytest

from qshock.experiments import studies
from qshock.experiments.cli.main import main
from qshock.errors import QShockInputError


def _toml(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_conservation_discrete_identity_to_roundoff(tmp_path):
    cfg = _toml(tmp_path, "c.toml", "width = 16\nsteps = 200\nbatch = 32\nlr = 0.2\nweight_decay = 0.05\n")
    doc = studies.run_study("conservation", cfg, seeds=1, out=str(tmp_path / "cons"), quiet=True,
                            formats=("png",))
    it = doc["items"][0]
    # exact scale symmetry (layer norm without epsilon): <g_A, theta_A> = 0 to round-off ...
    assert it["max_abs_cos_g_theta"] < 1e-12
    # ... so |theta_{k+1}|^2 = (1 - eta lam)^2 |theta_k|^2 + eta^2 |g_k|^2 to round-off
    assert it["discrete_identity_max_rel"] <= 1e-10
    # translation: 1^T g = 0, so 1^T b_k = (1 - eta lam)^k 1^T b_0 to round-off
    assert it["translation_discrete_max_rel"] <= 1e-10
    # continuous laws hold to O(eta lam) (eta lam = 1e-2 here, lam t_end = 2)
    assert it["integral_law_max_rel"] < 2e-2
    assert it["translation_exp_max_rel"] < 2e-2
    # weight decay alone (gradient flow without the eta |g|^2 term) is far off
    assert it["gradient_flow_only_final_rel"] > 0.1
    assert os.path.exists(tmp_path / "cons" / "figures" / "conservation_sqnorm.png")


def test_catapult_classifies_and_resume_reuses(tmp_path):
    cfg = _toml(tmp_path, "k.toml", "width = 64\nsteps = 100\neta_lambda0 = [1.0, 6.0]\n")
    out = str(tmp_path / "cat")
    doc = studies.run_study("catapult", cfg, seeds=1, out=out, quiet=True, formats=("png",))
    assert (doc["computed"], doc["reused"]) == (2, 0)
    by_c = {d["eta_lambda0"]: d for d in doc["items"]}
    lazy, div = by_c[1.0], by_c[6.0]
    assert lazy["predicted"] == lazy["observed"] == "lazy"
    assert lazy["max_loss_ratio"] <= 1.0 + 1e-12 and lazy["final_loss"] < 1e-6 * lazy["L0"]
    assert div["predicted"] == div["observed"] == "divergent"
    assert div["final_loss"] > 1e3 * div["L0"]
    # resume: nothing is trained again, the items are the same bytes
    item = os.path.join(out, "items", "c1_seed0.json")
    mtime, before = os.stat(item).st_mtime_ns, open(item).read()
    doc2 = studies.run_study("catapult", cfg, seeds=1, out=out, resume=True, quiet=True, formats=("png",))
    assert (doc2["computed"], doc2["reused"]) == (0, 2)
    assert os.stat(item).st_mtime_ns == mtime and open(item).read() == before
    assert doc2["items"] == doc["items"]
    # qshock figures on the study directory redraws from results.json
    with open(os.path.join(out, "results.json")) as f:
        assert json.load(f)["study"] == "catapult"
    assert main(["figures", out, "--format", "svg"]) == 0
    assert os.path.exists(os.path.join(out, "figures", "catapult_loss.svg"))


def test_unknown_study_and_bad_dirs(tmp_path, capsys):
    with pytest.raises(QShockInputError, match="edge-of-stability, catapult, conservation"):
        studies.run_study("nonsense", out=str(tmp_path / "x"), quiet=True)
    assert main(["experiment", "nonsense", "--out", str(tmp_path / "y")]) == 2
    assert main(["figures", str(tmp_path)]) == 2  # exists, but neither a run nor a study
    assert main(["figures", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("qshock") for line in err)
    bad = _toml(tmp_path, "bad.toml", "learning_rate = 1\n")
    with pytest.raises(QShockInputError, match="unknown parameter"):
        studies.run_study("catapult", bad, out=str(tmp_path / "z"), quiet=True)
