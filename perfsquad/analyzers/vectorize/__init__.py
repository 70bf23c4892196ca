"""Vectorization rules (VEC): pure-Python numeric loops that NumPy does in one call."""

from __future__ import annotations

from perfsquad.analyzers.base import Rule
from perfsquad.analyzers.vectorize.all_pairs_similarity import AllPairsSimilarity
from perfsquad.analyzers.vectorize.array_reduction_loop import ArrayReductionLoop
from perfsquad.analyzers.vectorize.dot_product_loop import DotProductLoop
from perfsquad.analyzers.vectorize.elementwise_loop import ElementwiseLoop
from perfsquad.analyzers.vectorize.math_elementwise import MathElementwise
from perfsquad.analyzers.vectorize.norm_loop import NormLoop
from perfsquad.analyzers.vectorize.numba_candidate import NumbaCandidate
from perfsquad.analyzers.vectorize.triple_loop_matmul import TripleLoopMatmul

RULES: tuple[type[Rule], ...] = (
    DotProductLoop,
    NormLoop,
    ElementwiseLoop,
    ArrayReductionLoop,
    MathElementwise,
    AllPairsSimilarity,
    TripleLoopMatmul,
    NumbaCandidate,
)
