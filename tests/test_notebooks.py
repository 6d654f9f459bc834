"""The example notebooks run top to bottom in quick mode, and each .ipynb matches its .py pair.

Without ../shared/data the notebooks fall back to synthetic data, so nothing here skips for
want of data; only a missing nbclient/ipykernel/jupytext skips (with the reason).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTEBOOKS = ["camels_runoff", "snow_inference"]


def _execute(nb, timeout: int = 600):
    """Run `nb` in place with the python3 kernel, cwd examples/; raises on a cell's error."""
    nbclient = pytest.importorskip("nbclient", reason="nbclient runs the notebooks")
    pytest.importorskip("ipykernel", reason="ipykernel is the notebooks' kernel")
    client = nbclient.NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(EXAMPLES)}}
    )
    return client.execute()


def _outputs(nb) -> list:
    return [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]


def test_kernel_uses_this_python():
    """The kernel is the interpreter running the tests (the venv), and dgeo imports in it."""
    nbformat = pytest.importorskip("nbformat", reason="nbformat reads notebooks")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import sys\nimport dgeo\nprint(sys.prefix)")]
    _execute(nb, timeout=120)
    stdout = [o.text for o in _outputs(nb) if o.output_type == "stream" and o.name == "stdout"]
    assert "".join(stdout).strip() == sys.prefix


@pytest.mark.parametrize("name", NOTEBOOKS)
@pytest.mark.slow
def test_notebook_runs_in_quick_mode(name, monkeypatch):
    nbformat = pytest.importorskip("nbformat", reason="nbformat reads notebooks")
    monkeypatch.setenv("DGEO_QUICK", "1")  # inherited by the kernel
    figures = EXAMPLES / "figures"
    before = {p: p.stat().st_mtime_ns for p in figures.glob("*")} if figures.is_dir() else {}
    nb = nbformat.read(EXAMPLES / f"{name}.ipynb", as_version=4)
    began = time.perf_counter()
    _execute(nb)  # raises CellExecutionError naming the cell on any error
    print(f"{name}: {time.perf_counter() - began:.0f} s in quick mode")
    outputs = _outputs(nb)
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "no figure was rendered"
    after = {p: p.stat().st_mtime_ns for p in figures.glob("*")} if figures.is_dir() else {}
    assert after == before, "quick mode must not write into examples/figures"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_pair_in_sync_and_stripped(name):
    jupytext = pytest.importorskip("jupytext", reason="jupytext pairs .py and .ipynb")
    nbformat = pytest.importorskip("nbformat", reason="nbformat reads notebooks")
    script = jupytext.read(EXAMPLES / f"{name}.py")
    notebook = jupytext.read(EXAMPLES / f"{name}.ipynb")
    cells = lambda nb: [(c.cell_type, c.source) for c in nb.cells]
    assert cells(notebook) == cells(script), f"run: jupytext --sync examples/{name}.py"
    raw = nbformat.read(EXAMPLES / f"{name}.ipynb", as_version=4)
    assert raw.metadata["jupytext"]["formats"] == "ipynb,py:percent"
    assert raw.metadata["kernelspec"]["name"] == "python3"
    for cell in raw.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "strip the outputs"
