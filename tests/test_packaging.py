"""What a user installs from: the wheel is the package with its MNIST files, nothing more; the
source distribution is the whole project, so that its tests run and `tinynet homework export
--source` can make student copies from it. Neither carries what running the project leaves
behind. Both are built once, by this environment's setuptools (the dev extras require it),
from a copy of the project with such leftovers planted in it."""

import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

import tinynet
from tinynet.homework import project_files

ROOT = Path(__file__).resolve().parents[1]

# What a training run, the tests, the benchmarks and Python leave in a project folder.
LEFTOVERS = [
    "runs/model.npz",
    "examples/runs/history.json",
    "curves.png",
    "examples/r2_curves.png",
    "benchmarks/bench.json",
    "tinynet/__pycache__/cli.cpython-311.pyc",
    "tinynet/datasets/data/model.npz",
    "tests/__pycache__/test_io.cpython-311-pytest-9.0.pyc",
    "tests/.hypothesis/examples/0a1b/2c3d",
    ".hypothesis/examples/0a1b/2c3d",
]

# The build's own files, beside the project's, in the source distribution.
SDIST_METADATA = {"PKG-INFO", "setup.cfg"}

_BUILD = """
import sys
from setuptools import build_meta
out = sys.argv[1]  # the build rewrites sys.argv
build_meta.build_sdist(out)
build_meta.build_wheel(out)
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The project's files and the names in its sdist and wheel (without their top folder)."""
    files = project_files(ROOT)
    src = tmp_path_factory.mktemp("project")
    for name in [*files, *LEFTOVERS]:
        target = src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((ROOT / name).read_bytes() if name in files else b"left behind")
    out = tmp_path_factory.mktemp("dist")
    run = subprocess.run([sys.executable, "-c", _BUILD, str(out)], cwd=src, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    (sdist_path,), (wheel_path,) = out.glob("*.tar.gz"), out.glob("*.whl")
    with tarfile.open(sdist_path) as sdist:
        top = sdist_path.name.removesuffix(".tar.gz") + "/"
        in_sdist = {m.name.removeprefix(top) for m in sdist.getmembers() if m.isfile()}
    with zipfile.ZipFile(wheel_path) as wheel:
        in_wheel = set(wheel.namelist())
        info = "-".join(wheel_path.name.split("-")[:2]) + ".dist-info/"
        metadata = Parser().parsestr(wheel.read(info + "METADATA").decode())
    return set(files), in_sdist, in_wheel, info, metadata


def test_the_sdist_is_the_whole_project_and_nothing_a_run_left(built):
    files, in_sdist, _, _, _ = built
    # (An unpacked sdist, or a student copy made from one, holds the build's files too.)
    files -= SDIST_METADATA
    ours = {n for n in in_sdist if n not in SDIST_METADATA and ".egg-info/" not in n}
    missing, extra = sorted(files - ours), sorted(ours - files)
    assert not missing, f"project files missing from the sdist (see MANIFEST.in): {missing}"
    assert not extra, f"files in the sdist that are not the project's: {extra}"


def test_the_wheel_is_the_package_and_its_data_and_says_its_version_and_licence(built):
    files, _, in_wheel, info, metadata = built
    # The modules, the MNIST files, and py.typed, which tells type checkers to read the hints.
    package = {n for n in files if n.startswith("tinynet/")
               and (n.endswith(".py") or n.startswith("tinynet/datasets/data/"))}
    package.add("tinynet/py.typed")
    shipped = {n for n in in_wheel if not n.startswith(info)}
    missing, extra = sorted(package - shipped), sorted(shipped - package)
    assert not missing, f"package files missing from the wheel: {missing}"
    assert not extra, f"files in the wheel that are not the package's: {extra}"
    assert metadata["Version"] == tinynet.__version__
    # The MNIST files it ships are CC BY-SA 3.0, the code MIT.
    assert metadata["License-Expression"] == "MIT AND CC-BY-SA-3.0"
