"""Allow ``python -m costtracker``."""

from costtracker.cli import main

main()
