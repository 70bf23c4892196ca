"""Vectorization rules (VEC): pure-Python numeric loops that NumPy does in one call."""

from __future__ import annotations

from perfsquad.analyzers.base import Rule
from perfsquad.analyzers.vectorize.all_pairs_similarity import AllPairsSimilarity
from perfsquad.analyzers.vectorize.dot_product_loop import DotProductLoop
from perfsquad.analyzers.vectorize.elementwise_loop import ElementwiseLoop
from perfsquad.analyzers.vectorize.norm_loop import NormLoop

RULES: tuple[type[Rule], ...] = (DotProductLoop, NormLoop, ElementwiseLoop, AllPairsSimilarity)
