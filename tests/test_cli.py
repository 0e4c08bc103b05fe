from pathlib import Path

import nbformat

from course.cli import main
from notebook_factory import notebook, solution_cell, write


def _course(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("")
    write(notebook(solution_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", "t1")), tmp_path / "solutions" / "01_a.ipynb")
    return tmp_path


def test_build_exercises_check_then_write(tmp_path, capsys):
    root = _course(tmp_path)
    assert main(["build-exercises", "--check", "--root", str(root)]) == 1
    assert "exercises/01_a.ipynb" in capsys.readouterr().out
    assert main(["build-exercises", "--root", str(root)]) == 0
    assert main(["build-exercises", "--check", "--root", str(root)]) == 0
    assert "matches" in capsys.readouterr().out


def test_build_exercises_reports_bad_markers(tmp_path, capsys):
    root = _course(tmp_path)
    write(notebook(solution_cell("### BEGIN SOLUTION\nx = 1", "t1")), root / "solutions" / "02_b.ipynb")
    assert main(["build-exercises", "--root", str(root)]) == 2
    assert "never closed" in capsys.readouterr().err


def test_build_exercises_outside_a_course(tmp_path, capsys):
    assert main(["build-exercises", "--root", str(tmp_path)]) == 2
    assert "no solutions/ folder" in capsys.readouterr().err


def test_refresh_stores_outputs_and_keeps_file_on_error(tmp_path, capsys):
    good = write(notebook(nbformat.v4.new_code_cell("print(6 * 7)")), tmp_path / "good.ipynb")
    good_nb = nbformat.read(good, as_version=4)
    good_nb.metadata["jupytext"] = {"formats": "ipynb,py"}
    nbformat.write(good_nb, good)
    assert main(["refresh", str(good)]) == 0
    nb = nbformat.read(good, as_version=4)
    assert nb.cells[0].outputs[0]["text"] == "42\n" and "jupytext" not in nb.metadata

    bad = write(notebook(nbformat.v4.new_code_cell("1 / 0")), tmp_path / "bad.ipynb")
    before = bad.read_text()
    assert main(["refresh", str(bad)]) == 1
    assert "ZeroDivisionError" in capsys.readouterr().out
    assert bad.read_text() == before


def test_refresh_uses_the_same_thread_count_as_the_tests(tmp_path, monkeypatch):
    # Stored outputs must come from the set-up nbval compares them under (one math thread).
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    path = write(notebook(nbformat.v4.new_code_cell("import torch\nprint(torch.get_num_threads())")), tmp_path / "t.ipynb")
    assert main(["refresh", str(path)]) == 0
    assert nbformat.read(path, as_version=4).cells[0].outputs[0]["text"] == "1\n"


def test_retry_kernel_start_retries_a_kernel_that_died_at_start_and_then_gives_up():
    import nbval.kernel
    import pytest

    from course.run import retry_kernel_start

    calls = []

    def dies_once(name):
        calls.append(name)
        if len(calls) == 1:
            raise RuntimeError("Kernel died before replying to kernel_info")
        return f"kernel {name}"

    assert retry_kernel_start(dies_once)("python3") == "kernel python3" and len(calls) == 2

    def always_dies():
        calls.append("again")
        raise RuntimeError("Kernel died before replying to kernel_info")

    calls.clear()
    with pytest.raises(RuntimeError, match="Kernel died"):
        retry_kernel_start(always_dies, attempts=3)()
    assert len(calls) == 3
    with pytest.raises(ValueError, match="attempts"):
        retry_kernel_start(always_dies, attempts=0)
    assert getattr(nbval.kernel.start_new_kernel, "_course_retry", False), "conftest.py should wrap nbval's kernel start"
