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
    path = tmp_path_factory.mktemp("bench") / "report.json"
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
