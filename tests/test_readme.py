"""The README's set-up commands are the ones CI runs."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _shell_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```sh\n(.*?)```", text, flags=re.S)]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme_blocks = _shell_blocks((ROOT / "README.md").read_text())
    test_commands = [b for b in readme_blocks if "pytest" in b]
    assert len(test_commands) == 1, "the README shows exactly one test command"
    assert test_commands[0] in ci.splitlines(), ".ci/run must run the README's test command"


def test_readme_main_job_installs_and_trains():
    installs = [b for b in _shell_blocks((ROOT / "README.md").read_text()) if "pip install" in b]
    assert len(installs) == 2, "the README's set-up is two commands"
    train = [b for b in installs if "tinynet train" in b]
    assert len(train) == 1 and "[dev]" not in train[0]
