from pathlib import Path

import nbformat
import pytest

from course.exercises import MarkerError, build_all, build_exercise, strip_solutions
from notebook_factory import check_cell, markdown, notebook, solution_cell, write

ROOT = Path(__file__).resolve().parent.parent


def test_strip_keeps_indentation_and_surrounding_code():
    source = "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\ny = f(1)"
    assert strip_solutions(source) == (
        "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\ny = f(1)"
    )


def test_strip_handles_several_regions():
    source = "### BEGIN SOLUTION\na = 1\n### END SOLUTION\nprint(a)\n### BEGIN SOLUTION\nb = 2\n### END SOLUTION"
    out = strip_solutions(source)
    assert out.count("raise NotImplementedError()") == 2 and "a = 1" not in out and "print(a)" in out


@pytest.mark.parametrize(
    "source, message",
    [
        ("### BEGIN SOLUTION\nx = 1", "never closed"),
        ("x = 1\n### END SOLUTION", "without a"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside another"),
    ],
)
def test_unbalanced_markers_are_refused_with_the_line(source, message):
    with pytest.raises(MarkerError, match=message):
        strip_solutions(source, where="solutions/x.ipynb cell 3")


def test_build_exercise_clears_outputs_keeps_points_and_markdown_answers():
    nb = notebook(
        markdown("Explain:\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION"),
        solution_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", "t1"),
        check_cell("check.equal(x, 1)", "t1-x", points=3),
    )
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi\n")]
    nb.cells[1].execution_count = 4
    out = build_exercise(nb, "solutions/demo.ipynb")
    assert "Because." not in out.cells[0].source and "YOUR ANSWER HERE" in out.cells[0].source
    assert out.cells[1].outputs == [] and out.cells[1].execution_count is None
    assert out.cells[2].metadata["nbgrader"]["points"] == 3
    assert out.metadata["course"]["generated_from"] == "solutions/demo.ipynb"
    assert nb.cells[1].outputs, "the solution notebook itself must not be modified"


def test_build_all_writes_then_reports_in_sync(tmp_path):
    write(notebook(solution_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", "t1")), tmp_path / "solutions" / "01_a.ipynb")
    write(notebook(), tmp_path / "exercises" / "99_orphan.ipynb")
    stale = build_all(tmp_path, check=True)
    assert [p.name for p in stale] == ["01_a.ipynb", "99_orphan.ipynb"]
    assert not (tmp_path / "exercises" / "01_a.ipynb").exists(), "check mode must not write"
    build_all(tmp_path)
    assert [p.name for p in build_all(tmp_path, check=True)] == ["99_orphan.ipynb"]


def test_exercises_folder_is_what_the_builder_makes():
    stale = build_all(ROOT, check=True)
    assert not stale, f"exercises/ is out of date; run `python -m course build-exercises`: {[str(p) for p in stale]}"


def _lessons(folder: str) -> list[str]:
    return sorted(p.stem for p in (ROOT / folder).glob("*.ipynb"))


def test_every_lesson_has_a_solution_and_an_exercise():
    assert _lessons("notebooks"), "no lessons found"
    assert _lessons("notebooks") == _lessons("solutions") == _lessons("exercises")


@pytest.mark.parametrize("name", _lessons("solutions"))
def test_solution_notebooks_follow_the_task_layout(name):
    nb = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
    checks = [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    minimum = 3 if name.startswith("00") else 5
    assert len(checks) >= minimum, f"{name}: {len(checks)} graded tasks, need at least {minimum}"
    ids = [c.metadata["nbgrader"]["grade_id"] for c in checks]
    assert len(ids) == len(set(ids)), f"{name}: duplicate grade_id"
    for cell in checks:
        assert cell.metadata["nbgrader"].get("points", 0) > 0
        assert "check." in cell.source, f"{name}: check cell {cell.metadata['nbgrader']['grade_id']} uses no course.check"
    solution_cells = [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")]
    assert all("### BEGIN SOLUTION" in c.source for c in solution_cells)
