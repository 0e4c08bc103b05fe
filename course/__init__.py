"""Helpers shared by the Torch Course lessons.

Lessons teach each idea in the open; this package only removes repetition
(data sets, plots, checks, the grader). Import what you need, e.g.::

    from course import data, plot, check
    from course.device import pick_device, seed_everything

``import course`` alone does not import torch (the command line answers a bad path at once);
``course.pick_device`` and the other names below load ``course.device`` on first use.
"""

__version__ = "0.1.0"

__all__ = ["pick_device", "seed_everything", "workdir", "__version__"]


def __getattr__(name: str):
    if name in ("pick_device", "seed_everything", "workdir"):
        from course import device

        return getattr(device, name)
    raise AttributeError(f"module 'course' has no attribute {name!r}")
