"""The test session runs as a user would, inside the project's virtual environment: the commands
that run user code pick the user's interpreter (``$VIRTUAL_ENV``, else ``python3`` on ``PATH``;
perfsquad.profiling.target.user_interpreter), so the session says which environment is active,
as `source .venv/bin/activate` would, whoever started pytest and with whatever ``PATH``."""

from __future__ import annotations

import os
import sys

if sys.prefix != sys.base_prefix and "VIRTUAL_ENV" not in os.environ:
    os.environ["VIRTUAL_ENV"] = sys.prefix
