"""``pip install .`` the ordinary way (a wheel, not an editable install) gives a working
``digits`` command.

The wheel is built from a copy of the source (so no ``build/`` or ``.egg-info`` lands
in the checkout), with pip's usual isolated build (setuptools comes from the package
registry or pip's cache), and installed into a fresh virtual environment.  That
environment gets no copies of numpy, matplotlib and the rest: a ``.pth`` file lets it
see the packages of the environment running the tests, so pip resolves the wheel's
dependencies against those, offline (``--no-index``).  About 5-10 s in all.
"""

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

REPO = Path(__file__).resolve().parent.parent

# Added to the copy of the source before building: a package that did not exist when
# pyproject.toml was written, and data files beside modules, with and without an
# __init__.py (a folder of web pages, say).
PROBES = {
    "digits/probe_subpackage/__init__.py": '"""A subpackage added later."""\n',
    "digits/probe_subpackage/table.json": "{}\n",
    "digits/probe_assets/page.html": "<p>a page</p>\n",
    "digits/probe_assets/style.css": "p { color: black; }\n",
}


def run(command, **options):
    process = subprocess.run([str(part) for part in command], capture_output=True, text=True,
                             timeout=300, **options)
    assert process.returncode == 0, f"{command} failed:\n{process.stdout}\n{process.stderr}"
    return process


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A copy of what a clone holds of the package, plus the PROBES."""
    folder = tmp_path_factory.mktemp("source")
    shutil.copy(REPO / "pyproject.toml", folder)
    shutil.copy(REPO / "README.md", folder)
    shutil.copytree(REPO / "digits", folder / "digits",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    for name, text in PROBES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


@pytest.fixture(scope="module")
def wheel(source, tmp_path_factory) -> Path:
    wheels = tmp_path_factory.mktemp("wheels")
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", wheels, source],
        env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1"))
    (built,) = wheels.glob("digits-*.whl")
    return built


@pytest.fixture(scope="module")
def environment(wheel, tmp_path_factory) -> Path:
    """A fresh virtual environment with the wheel installed; returns its bin folder."""
    folder = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", "--without-pip", folder])
    bin_folder = folder / ("Scripts" if os.name == "nt" else "bin")
    python = bin_folder / ("python.exe" if os.name == "nt" else "python")
    site_packages = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
                         .stdout.strip())
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site_packages / "dependencies-of-the-test-run.pth").write_text("\n".join(sorted(ours)) + "\n")
    run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-index", wheel],
        env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1"))
    return bin_folder


def run_installed(environment, *arguments, tmp_path):
    """Run a program of the environment from outside the checkout, without PYTHONPATH."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return subprocess.run([str(environment / arguments[0]), *arguments[1:]], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path, env=env)


def test_the_wheel_holds_every_module_of_the_package(source, wheel):
    modules = {path.relative_to(source).as_posix() for path in (source / "digits").rglob("*.py")}
    assert "digits/app/commands/train.py" in modules
    assert modules <= set(zipfile.ZipFile(wheel).namelist())


def test_the_wheel_holds_new_subpackages_and_data_files(wheel):
    assert set(PROBES) <= set(zipfile.ZipFile(wheel).namelist())


def test_the_command_runs_the_installed_copy_not_the_checkout(environment, tmp_path):
    process = run_installed(environment, "python", "-c", "import digits; print(digits.__file__)",
                            tmp_path=tmp_path)
    assert process.returncode == 0, process.stderr
    assert Path(process.stdout.strip()).is_relative_to(environment.parent)


def test_digits_help_works_when_installed(environment, tmp_path):
    process = run_installed(environment, "digits", "--help", tmp_path=tmp_path)
    assert process.returncode == 0, process.stderr
    assert process.stdout.startswith("usage: digits") and "train" in process.stdout
    assert process.stderr == ""


def test_digits_train_help_works_when_installed(environment, tmp_path):
    process = run_installed(environment, "digits", "train", "--help", tmp_path=tmp_path)
    assert process.returncode == 0, process.stderr
    assert process.stdout.startswith("usage: digits train") and "--cost" in process.stdout
    assert process.stderr == ""
