"""costtracker: what an AI company spends, on what, and whether it earns more than it spends."""

__version__ = "0.1.0"
