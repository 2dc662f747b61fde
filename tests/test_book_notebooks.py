"""The three notebooks (chapters 1, 3 and 6) run from top to bottom in a real Python kernel,
on a few hundred images and one epoch per run, and are stored without outputs.

They are executed with nbclient (the test extra); the kernel is this interpreter,
named in a kernel spec written to a temporary folder, so nothing is registered
anywhere else and a fresh clone's ``make test`` needs nothing but its venv.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = ["chapter1.ipynb", "chapter3.ipynb", "chapter6.ipynb"]


@pytest.fixture
def kernel(tmp_path, monkeypatch, mnist_data_dir):
    """A kernel spec for this interpreter, found through $JUPYTER_PATH; small runs of the book's data."""
    pytest.importorskip("nbclient", reason="nbclient is not installed (pip install -e '.[test]')")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed (pip install -e '.[test]')")
    spec = tmp_path / "jupyter" / "kernels" / "digits-book"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "digits (tests)", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    # Connection files and IPython's profile in the test's folder, not the user's home.
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("DIGITS_DATA", str(mnist_data_dir))
    monkeypatch.setenv("DIGITS_BOOK_IMAGES", "300")
    monkeypatch.setenv("DIGITS_BOOK_EPOCHS", "1")
    return "digits-book"


def outputs_of(notebook):
    """Every output of the executed notebook: (the cell's source, the output)."""
    return [(cell.source, output) for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.outputs]


@pytest.mark.parametrize("name", NAMES)
def test_the_notebook_runs_and_shows_the_books_lines_and_a_plot(name, kernel, tmp_path, capsys):
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    started = time.perf_counter()
    NotebookClient(notebook, kernel_name=kernel, timeout=300,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    seconds = time.perf_counter() - started
    with capsys.disabled():
        print(f"\n{name}: executed in {seconds:.1f} s")
    outputs = outputs_of(notebook)
    text = "".join(output.get("text", "") for _, output in outputs if output.output_type == "stream"
                   and output.name == "stdout")
    expected = {"chapter1.ipynb": "Epoch 0: ", "chapter3.ipynb": "Epoch 0 training complete",
                "chapter6.ipynb": "Epoch 0: validation accuracy"}[name]
    assert expected in text
    assert not [output for _, output in outputs if output.output_type == "error"]
    pictures = [source for source, output in outputs
                if output.output_type in ("display_data", "execute_result") and "image/png" in output.data]
    plots = [cell.source for cell in notebook.cells if ".plot(" in cell.source]
    assert sorted(pictures) == sorted(plots)             # every plot shown, and once


@pytest.mark.parametrize("name", NAMES)
def test_the_notebook_is_stored_without_outputs(name):
    notebook = json.loads((NOTEBOOKS / name).read_text())
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert code and all(cell["outputs"] == [] and cell["execution_count"] is None for cell in code)


@pytest.mark.parametrize("name", NAMES)
def test_the_notebook_imports_the_books_modules_from_digits_book(name):
    sources = [("".join(cell["source"])) for cell in json.loads((NOTEBOOKS / name).read_text())["cells"]]
    imports = [line for source in sources for line in source.splitlines()
               if line.startswith(("import ", "from ")) and "digits" in line]
    assert imports and all(line.startswith("from digits.book") for line in imports)
