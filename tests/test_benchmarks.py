"""benchmarks/run.py runs end to end and writes its report in the documented shape.

Only ``--quick`` is run, and no speed is ever asserted: timings depend on the machine. PyTorch
is optional: without it the torch columns are null, and the test passes either way.
"""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NAMES = ["r1_epoch", "r2_epoch", "r3_epoch", "r4_epoch", "r2_inference", "load_mnist"]
MLP_EPOCHS = {"r1_epoch", "r2_epoch", "r4_epoch"}


def positive(value: object) -> bool:
    return isinstance(value, float) and math.isfinite(value) and value > 0


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    # In a folder that does not exist yet: --json creates it.
    path = tmp_path_factory.mktemp("bench") / "new" / "report.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--json", str(path)],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "target" in result.stdout  # the printed table, with its targets
    return json.loads(path.read_text())


def test_report_has_the_documented_keys(report):
    assert {"machine", "gemm_gflops", "results", "memory"} <= set(report)
    machine = report["machine"]
    assert {"cpu", "cores", "numpy", "blas", "torch", "torch_threads"} <= set(machine)
    assert machine["torch"] is None or isinstance(machine["torch"], str)
    assert [r["name"] for r in report["results"]] == NAMES
    for row in report["results"]:
        assert {"name", "tinynet_s", "torch_s", "ratio", "gemm_fraction"} <= set(row)


def test_numbers_are_positive_and_finite(report):
    assert positive(report["gemm_gflops"])
    assert positive(report["memory"]["r2_train_peak_mib"])
    has_torch = report["machine"]["torch"] is not None
    for row in report["results"]:
        name = row["name"]
        if row["tinynet_s"] is None:
            # Only a program tinynet cannot build yet may be missing, and it says why.
            assert name == "r3_epoch" and row.get("error"), row
        else:
            assert positive(row["tinynet_s"]), row
        if name == "load_mnist" or not has_torch:
            assert row["torch_s"] is None and row["ratio"] is None, row
        else:
            assert positive(row["torch_s"]), row
            if row["tinynet_s"] is not None:
                assert math.isclose(row["ratio"], row["tinynet_s"] / row["torch_s"]), row
        if name in MLP_EPOCHS or name == "r2_inference":
            assert positive(row["gemm_fraction"]), row
        else:
            assert row["gemm_fraction"] is None, row
    torch_peak = report["memory"]["torch_r2_train_peak_mib"]
    assert positive(torch_peak) if has_torch else torch_peak is None


def bad_json_paths(tmp_path: Path) -> list[tuple[str, str]]:
    """(--json value, the end of the error line) for paths the report cannot be written to."""
    (tmp_path / "afile").write_text("")
    (tmp_path / "somefolder").mkdir()
    return [("afile/x.json", "got 'afile/x.json' ('afile' is a file)"),  # FileExistsError
            ("afile/sub/x.json", "got 'afile/sub/x.json' (Not a directory)"),
            (str(tmp_path / "somefolder"),  # was IsADirectoryError
             f"got the folder {str(tmp_path / 'somefolder')!r}"),
            ("report/", "got the folder 'report/'")]


def test_a_bad_json_path_stops_the_run_before_it_starts(tmp_path):
    """Each used to fail with a traceback only after the whole benchmark had run."""
    for value, end in bad_json_paths(tmp_path):
        result = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--no-torch",
             "--json", value], capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert result.returncode == 2, result.stderr[-3000:]
        assert result.stdout == ""  # nothing was measured
        line = result.stderr.strip().splitlines()[-1]
        assert line == ("run.py: error: argument --json: expected a file path whose folder "
                        f"exists or can be created, {end}"), result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "somefolder"]
