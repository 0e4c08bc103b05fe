"""`python -m course ...` runs the course command line (see course/cli.py)."""

from course.cli import main

raise SystemExit(main())
