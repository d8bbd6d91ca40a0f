"""float64 is switched on in one place, the ``qshock`` entry point; library code checks and says.

* no module under solver/, manifolds/ or experiments/ other than cli/main.py calls
  ``jax.config.update("jax_enable_x64", ...)``, and importing them leaves float64 off;
* the entry point turns it on for every command except ``train`` in float32 (its default);
* with float64 off, the lab trainer asked for float64 raises one clear QShockInputError, and
  ``verify`` rows that need it show SKIP (tests/test_verify.py).
"""

import ast
import os
import subprocess
import sys

import jax
import pytest

from qshock.errors import QShockInputError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _enables_x64(source: str) -> bool:
    """True if ``source`` calls ``<...>.config.update("jax_enable_x64", ...)`` (not in a string)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "update" \
                and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == "jax_enable_x64":
            return True
    return False


def test_only_the_cli_entry_point_enables_float64():
    assert _enables_x64("import jax\njax.config.update('jax_enable_x64', True)\n")
    assert not _enables_x64("raise ValueError(\"call jax.config.update('jax_enable_x64', True)\")\n")
    offenders = []
    for top in ("solver", "manifolds", "experiments", "src"):
        for folder, _, files in os.walk(os.path.join(ROOT, top)):
            for f in files:
                path = os.path.join(folder, f)
                if f.endswith(".py") and os.path.relpath(path, ROOT) != os.path.join("experiments", "cli", "main.py"):
                    with open(path, encoding="utf-8") as fh:
                        if _enables_x64(fh.read()):
                            offenders.append(os.path.relpath(path, ROOT))
    assert not offenders, f"float64 switched on outside the entry point: {offenders}"


def _python(code):
    env = dict(os.environ, JAX_ENABLE_X64="0", JAX_PLATFORMS="cpu")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout.strip().splitlines()[-1]


PROBE = """
import jax
from qshock.experiments.verify import registry
from qshock.experiments.verify.registry import Check
registry.CHECKS[:] = [Check("x64", "f", "e", lambda ctx: (str(jax.config.jax_enable_x64), True), needs_x64=False)]
import qshock.experiments.lab.training, qshock.experiments.studies.conservation, qshock.experiments.cli.shocks
import qshock.experiments.cli.train
before = jax.config.jax_enable_x64
from qshock.experiments.cli.main import main
import io, json, contextlib
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    code = main(["verify", "--json"])
print(before, code, json.loads(buf.getvalue())["rows"][0]["measured"])
"""


def test_imports_leave_float64_off_and_the_entry_point_turns_it_on():
    assert _python(PROBE) == "False 0 True"


def test_train_float64_on_only_with_dtype_float64(tmp_path):
    """``train`` defaults to float32 and leaves float64 off; ``--dtype float64`` turns it on."""
    code = ("import jax\nfrom qshock.experiments.cli import train as t\n"
            "seen = []\nt.run = lambda args: seen.append(jax.config.jax_enable_x64) or 0\n"
            "from qshock.experiments.cli.main import main\n"
            f"main(['train', '--model', 'mlp', '--data', 'digits', '--lr', '0.1', '--batch', '8', '--steps', '2', "
            f"'--dtype', 'float32', '--out', {str(tmp_path / 'a')!r}])\n"
            f"main(['train', '--model', 'mlp', '--data', 'digits', '--lr', '0.1', '--batch', '8', '--steps', '2', "
            f"'--dtype', 'float64', '--out', {str(tmp_path / 'b')!r}])\n"
            "print(seen)")
    assert _python(code) == "[False, True]"


def test_trainer_float64_without_x64_is_one_clear_input_error():
    from qshock.experiments.lab.training import TrainConfig, Trainer

    cfg = TrainConfig(model="mlp", data="teacher", lr=0.1, steps=1, batch=8, dtype="float64").validate(None)
    with jax.enable_x64(False):
        with pytest.raises(QShockInputError, match="float64.*jax_enable_x64"):
            Trainer(cfg)
