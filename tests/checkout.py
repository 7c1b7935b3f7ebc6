"""Where the tests run from: this checkout, and the environment of a subprocess that must
run its copy of tinynet (not whichever one is installed, perhaps from another checkout)."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: os.environ with this checkout first on PYTHONPATH, as it is first on the tests' own path.
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
