"""Audits: the three-phase audit, the ROI roadmap, quick diagnosis, benchmarks and their comparison.

* :mod:`.pipeline` — ``audit-performance``: idioms, then a profile, then the hotspot's findings;
* :mod:`.roadmap`, :mod:`.roi`, :mod:`.shares` — ranking by Amdahl-estimated time saved per minute;
* :mod:`.report`, :mod:`.svg` — self-contained HTML (inline SVG), Markdown and JSON reports;
* :mod:`.diagnose` — ``quick-diagnose`` of one function;
* :mod:`.bench`, :mod:`.compare`, :mod:`.stats` — recorded runs and Welch's t-test.

Nothing here knows about LSP: the CLI (``perfsquad/commands``) and the server
(``perfsquad/server/ext_audit.py``) are thin adapters over these modules.
"""
