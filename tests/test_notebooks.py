"""The narrative notebooks in notebooks/ run top to bottom (their cells assert the numbers they
show). Code cells are executed in order in one namespace, as a kernel would."""

import json
import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
NB_DIR = os.path.join(os.path.dirname(HERE), "notebooks")
NOTEBOOKS = sorted(f for f in os.listdir(NB_DIR) if f.endswith(".ipynb"))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_executes(name, capsys):
    with open(os.path.join(NB_DIR, name)) as fh:
        nb = json.load(fh)
    namespace = {"__name__": "__notebook__"}
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        code = "".join(cell["source"])
        exec(compile(code, f"{name}[cell {i}]", "exec"), namespace)  # noqa: S102 - our own notebook
    assert capsys.readouterr().out.strip()  # the notebook printed its results
