"""Where the tests run from: this checkout, and the environment of a subprocess that must
run its copy of tinynet (not whichever one is installed, perhaps from another checkout)."""

import os
import signal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: os.environ with this checkout first on PYTHONPATH, as it is first on the tests' own path.
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}


def stop_signals_at_default() -> None:
    """For ``Popen(preexec_fn=...)``: SIGTERM and SIGHUP at their default in the child, as in
    a program started from a terminal. A child inherits ignored signals, and under ``nohup``
    (or a job runner that ignores SIGHUP) tinynet rightly leaves SIGHUP ignored, so a test
    that sends it would wait for an end that never comes."""
    for name in ("SIGTERM", "SIGHUP"):
        signal.signal(getattr(signal, name), signal.SIG_DFL)
