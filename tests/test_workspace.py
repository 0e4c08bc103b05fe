"""course.workspace: writing a learner's project files without losing their edits."""

import pytest

from course.workspace import _workspace_magic, load_ipython_extension, write_file


def test_creates_then_leaves_identical_text_alone(tmp_path):
    target = tmp_path / "pkg" / "data.py"
    assert write_file(target, "x = 1") == ("created", None)
    assert target.read_text() == "x = 1\n"
    mtime = target.stat().st_mtime_ns
    assert write_file(target, "x = 1\n") == ("unchanged", None)
    assert target.stat().st_mtime_ns == mtime


def test_an_edited_file_is_kept_as_a_backup_and_backups_never_overwrite_each_other(tmp_path):
    target = tmp_path / "model.py"
    write_file(target, "v = 1")
    target.write_text("my edit\n")
    status, backup = write_file(target, "v = 2")
    assert status == "replaced" and backup.name == "model.py.bak" and backup.read_text() == "my edit\n"
    assert target.read_text() == "v = 2\n"
    target.write_text("second edit\n")
    status, backup2 = write_file(target, "v = 2")
    assert backup2.name == "model.py.bak2" and backup2.read_text() == "second edit\n"
    assert (tmp_path / "model.py.bak").read_text() == "my edit\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_bad_input_is_refused_with_a_clear_message(tmp_path):
    with pytest.raises(TypeError, match="must be a str"):
        write_file(tmp_path / "a.py", b"bytes")
    (tmp_path / "folder").mkdir()
    with pytest.raises(IsADirectoryError, match="not a file"):
        write_file(tmp_path / "folder", "x")
    with pytest.raises(ValueError, match="usage"):
        _workspace_magic("  ", "x = 1")


def test_the_cell_magic_writes_and_reports_the_same_line_every_time(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    registered = {}

    class FakeShell:
        def register_magic_function(self, fn, magic_kind, magic_name):
            registered[(magic_kind, magic_name)] = fn

    load_ipython_extension(FakeShell())
    magic = registered[("cell", "workspace")]
    magic("proj/a.py", "a = 1\nb = 2\n")
    magic("proj/a.py", "a = 1\nb = 2\n")
    assert capsys.readouterr().out == "proj/a.py: 2 lines\nproj/a.py: 2 lines\n"
    (tmp_path / "proj" / "a.py").write_text("edited\n")
    magic("proj/a.py", "a = 1\nb = 2\n")
    assert "kept as a.py.bak" in capsys.readouterr().out


def test_rewriting_our_own_text_needs_no_backup_but_an_edit_in_between_does(tmp_path):
    target = tmp_path / "train.py"
    assert write_file(target, "v = 1") == ("created", None)
    assert write_file(target, "v = 2") == ("updated", None)  # the cell was edited and re-run
    assert target.read_text() == "v = 2\n" and sorted(p.name for p in tmp_path.iterdir()) == ["train.py"]
    target.write_text("edited in an editor\n")
    status, backup = write_file(target, "v = 3")
    assert status == "replaced" and backup.read_text() == "edited in an editor\n"
    assert write_file(target, "v = 4") == ("updated", None)


def test_non_ascii_text_is_written_as_utf8_and_then_recognised_as_unchanged(tmp_path):
    target = tmp_path / "report.py"
    write_file(target, "print('≥ 0.95 ×')")
    assert target.read_bytes() == "print('≥ 0.95 ×')\n".encode("utf-8")
    assert write_file(target, "print('≥ 0.95 ×')") == ("unchanged", None)
