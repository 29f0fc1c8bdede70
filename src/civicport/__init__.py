"""civicport: an open data portal a city's staff of one can run."""

__version__ = "0.1.0"
