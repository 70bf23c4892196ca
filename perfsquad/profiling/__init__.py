"""Profiling: run a command under a sampler or cProfile, normalize, classify, and weigh findings.

* :mod:`.model` — the versioned Profile JSON model (``perfsquad.profile/1``);
* :mod:`.formats` — py-spy raw, pstats and speedscope in; speedscope out; :func:`load_profile`;
* :mod:`.target` — what to run (script, ``-m module``, pytest node id, command line);
* :mod:`.run` — the runners (subprocess, timeout, cancellation);
* :mod:`.analysis` — bottleneck classification and the 80/20 set;
* :mod:`.weighting` — static findings ranked by measured time.
"""

from __future__ import annotations

from perfsquad.profiling.formats import load_profile
from perfsquad.profiling.model import FrameRef, FunctionStat, LineStat, Profile, ProfileFormatError

__all__ = ["FrameRef", "FunctionStat", "LineStat", "Profile", "ProfileFormatError", "load_profile"]
