"""perfsquad: a Python performance auditor for the editor and CI."""

__version__ = "0.1.0"
