"""write_atomic: a file is replaced whole or not at all."""

from pathlib import Path

import pytest

from tinynet.atomic import write_atomic


def test_write_atomic_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "history.json"
    target.write_text("old")

    def interrupted(tmp: Path) -> None:
        tmp.write_text("{\"loss\": [0.1,")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, interrupted)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["history.json"]
    write_atomic(target, lambda tmp: tmp.write_text("new"))
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["history.json"]


def test_the_temporary_file_keeps_the_suffix_and_a_missing_folder_is_named(tmp_path):
    seen = []
    write_atomic(tmp_path / "curves.png", lambda tmp: (seen.append(tmp), tmp.write_bytes(b"x")))
    assert seen[0].suffix == ".png" and seen[0].parent == tmp_path  # matplotlib reads it
    with pytest.raises(FileNotFoundError, match=r"cannot write .*a\.json: no folder .*missing"):
        write_atomic(tmp_path / "missing" / "a.json", lambda tmp: tmp.write_text("{}"))


@pytest.mark.parametrize("name", ["folder", ".", ""])
def test_a_folder_is_refused_before_anything_is_written(tmp_path, monkeypatch, name):
    # Without the check, the rename failed with a message naming the temporary file.
    (tmp_path / "folder").mkdir()
    monkeypatch.chdir(tmp_path)
    written = []
    with pytest.raises(IsADirectoryError, match="folder") as info:
        write_atomic(name, written.append)
    assert ".tmp" not in str(info.value)
    assert written == [] and sorted(p.name for p in tmp_path.iterdir()) == ["folder"]
