"""The README's set-up commands are the ones CI runs."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

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


@pytest.mark.parametrize("pytest_status", [0, 1, 2, 5])
def test_ci_exits_with_the_test_runs_status(tmp_path, pytest_status):
    """.ci/run is green only when pytest is: 5 (no test collected) is red, like any failure.

    The script runs in a copy of the project root where ``python3 -m venv`` is a stand-in
    that makes a .venv whose pip succeeds and whose python exits with ``pytest_status``.
    """
    (tmp_path / ".ci").mkdir()
    shutil.copy(ROOT / ".ci" / "run", tmp_path / ".ci" / "run")
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    venv_maker = fake_bin / "python3"
    venv_maker.write_text(
        "#!/bin/sh\n"
        "mkdir -p .venv/bin\n"
        "printf '#!/bin/sh\\nexit 0\\n' > .venv/bin/pip\n"
        f"printf '#!/bin/sh\\nexit {pytest_status}\\n' > .venv/bin/python\n"
        "chmod +x .venv/bin/pip .venv/bin/python\n"
    )
    venv_maker.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake_bin}{os.pathsep}{os.environ['PATH']}"}
    run = subprocess.run(["bash", str(tmp_path / ".ci" / "run")], env=env,
                         capture_output=True, text=True)
    assert run.returncode == pytest_status, run.stdout + run.stderr


def test_the_readme_names_every_pytorch_name_that_tinynet_refuses():
    # "Coming from PyTorch" lists what is refused with tinynet's way to say it: a refusal
    # added to the code without a word there would leave the page behind.
    from tinynet import model, optim
    from tinynet.layers import base

    text = (ROOT / "README.md").read_text()
    section = text.split("### Coming from PyTorch", 1)[1].split("\n## ", 1)[0]
    refused = [*base.PYTORCH_ARGUMENTS, *base.PYTORCH_NAMES, *optim.PYTORCH_NAMES, "betas",
               *optim.PYTORCH_METHODS, *model.PYTORCH_METHODS]
    missing = [name for name in refused if f"`{name}`" not in section]
    assert not missing, f"README's Coming from PyTorch does not name {missing}"


def test_the_readme_synopsis_of_tinynet_train_names_every_option(capsys):
    # A synopsis of five of the ten options would hide --batch-size and the rest from its
    # reader.
    from tinynet.cli import main

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    options = set(re.findall(r"--[a-z-]+", capsys.readouterr().out)) - {"--help"}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    synopsis = readme[readme.index("tinynet train ["):].split("\ntinynet evaluate", 1)[0]
    assert len(options) >= 10 and options <= set(re.findall(r"--[a-z-]+", synopsis)), synopsis
