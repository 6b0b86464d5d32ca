"""wt-tune."""

__version__ = "0.1.0"
