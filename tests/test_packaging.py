"""The installed distribution: only ``qshock`` at the top level, and it works from any folder."""

import os
import subprocess
import sys
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(args, cwd, **kw):
    env = dict(os.environ, PYTHONPATH="")  # only the installed packages, plus the cwd for scripts
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300, env=env, **kw)


def test_unrelated_experiments_package_does_not_shadow_qshock(tmp_path):
    for name in ("experiments", "solver", "manifolds"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(f"raise ImportError('the user\\'s own {name}')\n")
    script = tmp_path / "use_qshock.py"
    script.write_text(
        "import jax; jax.config.update('jax_enable_x64', True)\n"
        "from qshock.solver.shocks import predict\n"
        "from qshock.solver import Burgers, Grid\n"
        "import jax.numpy as jnp, math\n"
        "g = Grid(0.0, 2 * math.pi, 64)\n"
        "r = predict(Burgers(), jnp.sin, g)\n"
        "print(f'{float(r.time):.6f}')\n"
        "from qshock.experiments.cli.main import main\n"
        "raise SystemExit(main(['shocks', '--equation', 'burgers', '--domain', '0:2*pi', '--n', '64',\n"
        "                       '--ic', 'sin(x)', '--t1', '1.5', '--json']))\n")
    r = _run([sys.executable, str(script)], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert abs(float(lines[0]) - 1.0) < 1e-6  # t* = -1/min u0' = 1 for u0 = sin x
    assert '"predicted"' in lines[-1]
    # the console script, too, from the same folder
    exe = os.path.join(os.path.dirname(sys.executable), "qshock")
    r = _run([exe, "--version"], cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.startswith("qshock "), r.stderr


def test_no_generic_top_level_names(tmp_path):
    for name in ("solver", "manifolds", "experiments"):
        r = _run([sys.executable, "-c", f"import {name}"], cwd=tmp_path)
        assert r.returncode != 0 and "ModuleNotFoundError" in r.stderr, name


def test_package_list_names_every_package_folder():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        cfg = tomllib.load(f)["tool"]["setuptools"]
    listed = set(cfg["packages"])
    found = {"qshock"}
    for top in ("solver", "manifolds", "experiments"):
        for dirpath, dirnames, files in os.walk(os.path.join(ROOT, top)):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            if "__init__.py" in files:
                rel = os.path.relpath(dirpath, ROOT).replace(os.sep, ".")
                found.add(f"qshock.{rel}")
    assert listed == found
