"""Sharded solves (issue 14): the grid split over 4 and 8 forced host devices gives the single-device
answer (finite volume bit for bit; spectral with slab FFTs to round-off), with halo exchange on
periodic and non-periodic boundaries, a global CFL step and a global blow-up check; and the same
over 2 processes joined by ``jax.distributed`` (multi-host launch on one machine).

The device count is fixed when JAX starts, so each count runs in its own subprocess
(``XLA_FLAGS=--xla_force_host_platform_device_count=N``): the flag never reaches this process.
"""

import json
import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

from qshock.solver import Burgers, Grid, HamiltonJacobi, QShockInputError, solve
from qshock.solver.sharding import device_mesh

SCRIPT = textwrap.dedent(r'''
    import json, sys, warnings
    import jax, numpy as np
    jax.config.update("jax_enable_x64", True)
    from qshock.solver import BlowUpError, Burgers, Grid, HamiltonJacobi, solve
    warnings.simplefilter("ignore")
    k = len(jax.devices())
    two = (k // 2, 2)
    out = {"devices": k}

    def diff(a, b):
        d = float(np.max(np.abs(np.asarray(a.u) - np.asarray(b.u))))
        if a.p is not None:
            d = max(d, float(np.max(np.abs(np.asarray(a.p) - np.asarray(b.p)))))
        return {"err": d, "steps": [a.n_steps, b.n_steps]}

    def case(name, eq, grid, u0, t1, mesh, **kw):
        out[name] = diff(solve(eq, grid, u0, t1, **kw), solve(eq, grid, u0, t1, mesh=mesh, **kw))

    g1 = Grid(0, 2 * np.pi, 64, "periodic")
    u1 = np.sin(np.asarray(g1.centres())) + 0.3
    case("burgers1d_periodic", Burgers(nu=0.01), g1, u1, 1.5, k, save_at=[0.5, 1.0])
    case("burgers1d_outflow", Burgers(), Grid(0, 2 * np.pi, 64, "outflow"), u1, 1.5, k, scheme="muscl")
    case("burgers1d_fixed_reflect", Burgers(nu=0.01), Grid(0, 2 * np.pi, 64, "reflect"), u1, 0.5, k,
         method="ssprk3-fixed", dt=0.02)
    g2 = Grid((0, 0), (2 * np.pi, 2 * np.pi), (32, 24), ("periodic", "reflect"))
    X, Y = (np.asarray(c) for c in g2.mesh())
    v0 = np.stack([np.sin(X) * np.cos(Y), 0.5 * np.cos(X) * np.cos(Y)])
    case("burgers2d", Burgers(nu=0.02), g2, v0, 0.5, two, scheme="muscl")
    case("hj2d", HamiltonJacobi(nu=0.02), g2, np.sin(X) * np.cos(Y), 0.5, two, scheme="weno5")
    gs = Grid((0, 0), (2 * np.pi, 2 * np.pi), (32, 32), "periodic")
    Xs, Ys = (np.asarray(c) for c in gs.mesh())
    case("spectral_burgers2d", Burgers(nu=0.1), gs, np.stack([np.sin(Xs) * np.cos(Ys), np.cos(Xs)]), 0.5, k,
         scheme="spectral")
    case("spectral_hj2d", HamiltonJacobi(nu=0.1), gs, np.sin(Xs) * np.cos(Ys), 0.5, k, scheme="spectral")
    # global blow-up check: a step far beyond the CFL limit blows up at the same time and place
    blow = []
    for mesh in (None, k):
        try:
            solve(Burgers(), g1, 3 * u1, 2.0, method="ssprk3-fixed", dt=0.5, mesh=mesh)
            blow.append(None)
        except BlowUpError as e:
            blow.append(str(e))
    out["blowup"] = blow
    from qshock.solver import QShockInputError
    try:
        solve(Burgers(), Grid(0, 1, 63, "periodic"), np.zeros(63), 0.1, mesh=k)
    except QShockInputError as e:
        out["refused"] = str(e)
    print(json.dumps(out))
''')


def _run(devices: int) -> dict:
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices} "
           "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1", "JAX_PLATFORMS": "cpu"}
    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=900, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("devices", [4, 8])
def test_sharded_equals_single_device(devices):
    out = _run(devices)
    assert out["devices"] == devices
    for name in ("burgers1d_periodic", "burgers1d_outflow", "burgers1d_fixed_reflect", "burgers2d", "hj2d"):
        assert out[name]["err"] == 0.0, (name, out[name])  # finite volume: bit-identical
        assert out[name]["steps"][0] == out[name]["steps"][1] > 1, (name, out[name])
    for name in ("spectral_burgers2d", "spectral_hj2d"):
        assert out[name]["err"] <= 1e-13, (name, out[name])
    assert out["blowup"][0] is not None and out["blowup"][0] == out["blowup"][1]
    assert "63 cells, not divisible by its" in out["refused"]


def test_mesh_refusals_name_the_problem():
    g = Grid(0, 1, 64, "periodic")
    n = len(jax.devices())
    with pytest.raises(QShockInputError, match="devices but only"):
        device_mesh(n + 1)
    with pytest.raises(QShockInputError, match="diffrax"):
        solve(Burgers(), g, np.zeros(64), 0.1, method="diffrax", mesh=1)
    with pytest.raises(QShockInputError, match="lf flux"):
        solve(HamiltonJacobi(), Grid((0, 0), (1, 1), (8, 8)), np.zeros((8, 8)), 0.1, scheme="godunov", flux="lf",
              mesh=1)


def test_single_device_mesh_is_the_plain_solve():
    g = Grid(0, 2 * np.pi, 32, "outflow")
    u0 = np.sin(np.asarray(g.centres()))
    a, b = solve(Burgers(nu=0.05), g, u0, 0.3), solve(Burgers(nu=0.05), g, u0, 0.3, mesh=1)
    assert np.array_equal(np.asarray(a.u), np.asarray(b.u)) and a.n_steps == b.n_steps


WORKER = textwrap.dedent(r'''
    import json, sys
    import jax
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    pid, port = int(sys.argv[1]), sys.argv[2]
    jax.distributed.initialize(f"127.0.0.1:{port}", num_processes=2, process_id=pid)
    import numpy as np
    from jax.experimental import multihost_utils
    from qshock.solver import Burgers, Grid, solve
    from qshock.solver.sharding import device_mesh
    g = Grid(0, 2 * np.pi, 64, "outflow")
    s = solve(Burgers(nu=0.01), g, np.sin(np.asarray(g.centres())) + 0.3, 1.0, mesh=device_mesh(len(jax.devices())))
    u = np.asarray(multihost_utils.process_allgather(s.u, tiled=True))
    print(json.dumps({"devices": len(jax.devices()), "local": len(jax.local_devices()), "steps": s.n_steps,
                      "u": u[-1].tolist()}))
''')


def test_two_processes_with_jax_distributed_equal_one_device():
    """Multi-host launch on one machine: 2 processes x 2 host devices, gloo CPU collectives."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "JAX_PLATFORMS": "cpu"}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(i), str(port)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for i in range(2)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-3000:]
        outs.append(json.loads(out.strip().splitlines()[-1]))
    g = Grid(0, 2 * np.pi, 64, "outflow")
    ref = solve(Burgers(nu=0.01), g, np.sin(np.asarray(g.centres())) + 0.3, 1.0)
    for o in outs:
        assert (o["devices"], o["local"]) == (4, 2)
        assert o["steps"] == ref.n_steps
        assert np.array_equal(np.asarray(o["u"]), np.asarray(ref.u[-1]))  # bit-identical across 2 processes
