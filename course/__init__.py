"""Helpers shared by the Torch Course lessons.

Lessons teach each idea in the open; this package only removes repetition
(data sets, plots, checks, the grader). Import what you need, e.g.::

    from course import data, plot, check
    from course.device import pick_device, seed_everything
"""

__version__ = "0.1.0"

from course.device import pick_device, seed_everything, workdir  # noqa: E402

__all__ = ["pick_device", "seed_everything", "workdir", "__version__"]
