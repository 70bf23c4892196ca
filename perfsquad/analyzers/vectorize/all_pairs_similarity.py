from __future__ import annotations

import ast
from dataclasses import dataclass

from perfsquad.analyzers.vectorize._common import (
    MATRICES,
    SIMILARITY_CALLS,
    distance_operands,
    dot_operands,
    is_builtin,
    names_in,
    numeric_type,
    report,
    similarity_kind,
)
from perfsquad.context import COMPREHENSIONS, FUNCTIONS, Context
from perfsquad.memo import MemoKey, keep
from perfsquad.model import Fix, FixSafety, Span
from perfsquad.rule import Bench, Invalid, Rule
from perfsquad.semantics.effects import call_target
from perfsquad.semantics.types import UNKNOWN, numeric_annotation
from perfsquad.syntax import walk

_SIMILARITIES = SIMILARITY_CALLS

_SUGGESTIONS = {
    "dot": "M = np.asarray({x}, dtype=float); S = M @ M.T  # S[i, j] == dot({x}[i], {x}[j])",
    "cosine": (
        "M = np.asarray({x}, dtype=float); N = np.linalg.norm(M, axis=1, keepdims=True); "
        "U = np.divide(M, N, out=np.zeros_like(M), where=N > 0); S = U @ U.T  # S[i, j] == cosine(...)"
    ),
    "cosine-distance": (
        "M = np.asarray({x}, dtype=float); U = M / np.linalg.norm(M, axis=1, keepdims=True); D = 1.0 - U @ U.T"
    ),
    "squared-distance": (
        "M = np.asarray({x}, dtype=float); sq = (M * M).sum(axis=1); "
        "D2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (M @ M.T), 0.0)"
    ),
    "distance": (
        "M = np.asarray({x}, dtype=float); sq = (M * M).sum(axis=1); "
        "D = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * (M @ M.T), 0.0))"
    ),
}


@dataclass(frozen=True)
class _Side:
    """What one loop iterates: ``collection`` and the expressions naming its current element."""

    collection: ast.expr
    index: str | None
    element: str | None


def _side(ctx: Context, loop: ast.For | ast.comprehension) -> _Side | None:
    target, it = loop.target, loop.iter
    if isinstance(it, ast.Call) and is_builtin(ctx, it.func, "range") and isinstance(target, ast.Name):
        # for i in range(len(X)) / range(n) / range(i + 1, n): the collection is whatever is indexed by i.
        return _Side(it, target.id, None)
    if isinstance(it, ast.Call) and is_builtin(ctx, it.func, "enumerate") and len(it.args) == 1:
        if isinstance(target, ast.Tuple) and len(target.elts) == 2:
            i, e = target.elts
            if isinstance(i, ast.Name) and isinstance(e, ast.Name):
                return _Side(it.args[0], i.id, e.id)
        return None
    if isinstance(target, ast.Name):
        return _Side(it, None, target.id)
    return None


def _element_of(ctx: Context, side: _Side, node: ast.expr) -> ast.expr | None:
    """The collection ``node`` is an element of (``X`` for ``X[i]`` or the loop's element name), also
    through attribute reads of the element (``X[i].embedding``, ``m.vector``: the collection ``X``)."""
    while isinstance(node, ast.Attribute):
        node = node.value
    if side.element is not None and isinstance(node, ast.Name) and node.id == side.element:
        return side.collection
    if (
        side.index is not None
        and isinstance(node, ast.Subscript)
        and isinstance(node.slice, ast.Name)
        and node.slice.id == side.index
        and side.index not in names_in(node.value)
    ):
        if isinstance(side.collection, ast.Call) and is_builtin(ctx, side.collection.func, "range"):
            return node.value
        if ctx.text(node.value) == ctx.text(side.collection):
            return node.value
    return None


def similarity_functions(ctx: Context) -> dict[str, str]:
    """Functions of this module that compare two vector parameters (a dot product, cosine, distance)."""
    return ctx.memo(_SIMILARITY_FUNCTIONS, lambda: _similarity_functions(ctx), keep)


_SIMILARITY_FUNCTIONS: MemoKey[dict[str, str]] = MemoKey("vectorize.similarity_functions")
"""Carried over an edit as it is: ``module_facts`` sends an edit that could change it to a
whole-file analysis."""


def _similarity_functions(ctx: Context) -> dict[str, str]:
    found: dict[str, str] = {}
    for fn in ctx.tree.body:
        if isinstance(fn, FUNCTIONS):
            kind = similarity_kind(ctx, fn)
            if kind is not None:
                found[fn.name] = kind
    return found


_METHOD_KINDS: MemoKey[dict[int, dict[str, str]]] = MemoKey("vectorize.method_similarity")
"""Per class (by id): its methods that compare two vector parameters. Dropped on an edit (the
class and the loops calling ``self.method`` are one top-level unit, analyzed again together)."""

_STATIC = frozenset({"staticmethod"})


def method_similarity(ctx: Context, call: ast.Call) -> tuple[str, str] | None:
    """``(kind, "self.method")`` when ``call`` is ``self.m(u, v)`` or ``cls.m(u, v)`` and ``m``, a method of
    the enclosing class, compares its two vector parameters."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
        return None
    fn = ctx.function_of(call)
    cls = ctx.parent(fn) if fn is not None else None
    if fn is None or not isinstance(cls, ast.ClassDef):
        return None
    first = [*fn.args.posonlyargs, *fn.args.args][:1]
    if not first or first[0].arg != func.value.id:
        return None
    kinds = ctx.memo(_METHOD_KINDS, dict).get(id(cls))
    if kinds is None:
        kinds = {}
        for item in cls.body:
            if isinstance(item, FUNCTIONS):
                static = any(isinstance(d, ast.Name) and d.id in _STATIC for d in item.decorator_list)
                kind = similarity_kind(ctx, item, skip=0 if static else 1)
                if kind is not None:
                    kinds[item.name] = kind
        ctx.memo(_METHOD_KINDS, dict)[id(cls)] = kinds
    kind = kinds.get(func.attr)
    return (kind, ctx.text(func)) if kind is not None else None


class ReadsModuleVectors:
    """Mixin for the vectorization rules: they read the numeric return types and the similarity
    kind of every top-level function (a call's result, a pairwise loop)."""

    facts_by_name = True  # other units read a function's return type and kind by calling it

    @classmethod
    def module_facts(cls, unit: ast.stmt, ctx: Context) -> object:
        if not isinstance(unit, FUNCTIONS) or not any(unit is stmt for stmt in ctx.tree.body):
            return None
        kind = similarity_kind(ctx, unit)
        numeric = isinstance(unit, ast.FunctionDef) and numeric_annotation(unit.returns, ctx.imports) != UNKNOWN
        if kind is None and not numeric:
            return None  # other units learn nothing from calling it (as if it did not exist)
        returns = ast.dump(unit.returns) if unit.returns is not None else None
        return unit.name, type(unit).__name__, returns, kind


@dataclass(frozen=True)
class Pair:
    """What a pair loop compares: the ``kind`` of comparison, the collections ``x`` and ``y`` whose
    elements it takes, the operand read from ``x``'s element (``X[i].embedding``), and the function
    it calls to compare them (``via``, with the line of its ``def``), when it calls one."""

    kind: str
    x: ast.expr
    y: ast.expr
    operand: ast.expr
    via: str | None = None
    line: int | None = None
    where: str | None = None
    """``path:line`` of the compared function's ``def`` in another module."""


def _def_line(ctx: Context, call: ast.Call) -> int | None:
    """The line of the ``def`` a call of a function or method of this module runs."""
    func = call.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
    fn = ctx.function_of(call)
    body = ctx.tree.body
    if isinstance(func, ast.Attribute) and fn is not None and isinstance(cls := ctx.parent(fn), ast.ClassDef):
        body = cls.body
    for item in body:
        if isinstance(item, FUNCTIONS) and item.name == name:
            return item.lineno
    return None


def pair_kind(ctx: Context, call: ast.Call, outer: _Side, inner: _Side) -> Pair | None:
    """What ``call`` compares when it takes an element of the outer loop's ``X`` and one of the inner's ``Y``."""
    operands = dot_operands(ctx, call)
    distance = distance_operands(ctx, call)
    kind: str | None = None
    via: str | None = None
    where: str | None = None
    if operands is not None and operands[0] is not operands[1]:
        kind = "dot"
        pair = operands
    elif distance is not None:
        kind = "squared-distance"
        pair = distance
        operands = distance
    elif len(call.args) == 2 and not call.keywords:
        pair = (call.args[0], call.args[1])
        qn = ctx.qualified_name(call.func)
        if qn in _SIMILARITIES:
            kind = _SIMILARITIES[qn]
        elif isinstance(call.func, ast.Name) and ctx.imports.resolve_name(call.func.id) is None:
            kind = similarity_functions(ctx).get(call.func.id)
            via = call.func.id
        elif (method := method_similarity(ctx, call)) is not None:
            kind, via = method
        elif (other := _project_similarity(ctx, call)) is not None:
            kind, via, where = other
    if kind is None:
        return None
    for first, second in (pair, pair[::-1]):
        x, y = _element_of(ctx, outer, first), _element_of(ctx, inner, second)
        if x is not None and y is not None:
            if (
                kind == "dot"
                and operands is not None
                and not (numeric_type(ctx, x) in MATRICES and numeric_type(ctx, y) in MATRICES)
            ):
                return None  # an inline generator: only on known numeric matrices
            line = _def_line(ctx, call) if via and where is None else None
            return Pair(kind, x, y, first, via, line, where)
    return None


def _project_similarity(ctx: Context, call: ast.Call) -> tuple[str, str, str] | None:
    """``(kind, label, "path:line")`` when ``call`` runs a function of another module of the workspace
    (found through the effect summaries of the workspace index) that compares two vectors."""
    target = call_target(ctx.io, call)
    if target is None or (isinstance(call.func, ast.Name) and target == f"{ctx.io.module}.{call.func.id}"):
        return None
    found = ctx.effects.similarity(target)
    if found is None:
        return None
    return found.similarity, f"{ctx.text(call.func)} → {found.key}", f"{found.path}:{found.line}"


class AllPairsSimilarity(ReadsModuleVectors, Rule):
    """
    ## What it does
    Flags two nested loops that compare every vector with every other one, one pair at a time:
    a dot product, a cosine similarity or a distance between `X[i]` and `X[j]` (or `u` and `v`).
    The comparison is recognized as an inline `sum(x * y for x, y in zip(u, v))` on numeric
    matrices, a library call (`numpy.dot`, `math.dist`, `scipy.spatial.distance.*`), or a call of a
    function that computes one (a dot product of its two parameters, with a `math.sqrt` norm for
    cosine, or a distance): a function of this module, a method of the same class called as
    `self._compute_similarity(...)`, or a function of another module of the workspace (found through
    the effect summaries of the workspace index, which record each function's comparison). The
    loops' elements may be read through attributes (`m[i].embedding`, `a.vector`). The message
    names the chain (`pair loop → self._compute_similarity (line 12): a cosine similarity of ...`)
    and a note gives the recipe: build the matrix once, normalise its rows once, one `A @ A.T`,
    threshold it, and keep the grouping (a union-find) over the pairs it returns.

    Sizes: nothing is reported when the code fixes the data's size (a literal, `range`,
    `np.arange` or `np.linspace` of constants, `np.zeros(<const>)`, a name bound only to one)
    below the calibrated break-even, where the rewrite was measured slower (NumPy's per-call
    overhead loses on a handful of elements). A small fixed size above it (under 1,000 elements),
    or code that runs once (at import, behind a lazy initialiser), is low confidence (shown with
    `--confidence low`): it does not grow. A large fixed size is medium (it costs as much on
    every call); data from a parameter is high; from a call of unknown size, medium.

    ## Why is this bad?
    For `n` vectors of `d` floats this is `n²` interpreted calls each doing `d` boxed multiply-adds:
    for 400 embeddings of 384 floats, 160,000 Python-level cosine calls. All the similarities are one
    matrix product, `U @ U.T` on the row-normalized matrix: a single BLAS call that is hundreds of
    times faster, after which thresholds and grouping work on a boolean matrix.

    ## Example
    ```python
    for i in range(n):
        for j in range(n):
            if i != j and cosine(vectors[i], vectors[j]) >= threshold:
                link(i, j)
    ```

    ## Use instead
    ```python
    import numpy as np

    M = np.asarray(vectors, dtype=float)
    norms = np.linalg.norm(M, axis=1, keepdims=True)
    U = np.divide(M, norms, out=np.zeros_like(M), where=norms > 0)
    similar = (U @ U.T) >= threshold
    np.fill_diagonal(similar, False)
    for i, j in zip(*np.nonzero(similar)):
        link(i, j)
    ```

    ## Fix safety
    Display-only: the loop body (grouping, early exits, side effects) is the user's algorithm and
    cannot be rewritten mechanically. The finding's note gives the matrix expression to start from.
    When rewriting by hand: float results can differ in the last digits (BLAS summation order), so
    compare thresholds with a small tolerance; a zero vector needs the guarded division shown above;
    the loop's own squares underflow for components below about 1e-154 where `np.linalg.norm` does
    not, so such vectors compare differently; distances through the Gram matrix (`|u|² + |v|² - 2 u·v`) lose precision for nearly identical
    vectors (use `scipy.spatial.distance.cdist` when that matters); the matrix takes `8 n²` bytes (1.3 MB for 400 vectors, 8 GB for 32,000: chunk the rows).

    ## Speedup
    Measured by `bench/vectorize.py` (`n` = vector pairs compared, 64 floats each; the Gram matrix
    in Python against `M @ M.T`, conversion included). The demo's 400-by-384 grouping is timed too.

    ## References
    - [`numpy.matmul` / `@`](https://numpy.org/doc/stable/reference/generated/numpy.matmul.html)
    - [`scipy.spatial.distance.cdist`](https://docs.scipy.org/doc/scipy/reference/generated/scipy.spatial.distance.cdist.html)
    """

    code = "VEC006"
    name = "all-pairs-similarity-loop"
    message = "All-pairs similarity computed pair by pair in Python; compute one matrix product"
    fix_title = "Compute every pair at once with a matrix product"
    fix_safety = FixSafety.DISPLAY_ONLY
    node_types = (ast.For, ast.ListComp, ast.GeneratorExp)
    reads_project = True  # a pair loop may call a similarity function of another module (the workspace index)
    effort_minutes = 30
    bench = Bench(
        setup=(
            "import numpy as np\nk = max(1, round(n ** 0.5))\n"
            "X = [[float((i * 7 + d) % 5) for d in range(64)] for i in range(k)]"
        ),
        before="result = [[sum(x * y for x, y in zip(u, v)) for v in X] for u in X]",
        after="M = np.array(X)\nresult = (M @ M.T).tolist()",
        scales_with="n = vector pairs compared, 64 floats each",
    )
    valid = (
        # Comparing strings pair by pair is not numeric work.
        "def f(words: list[str]):\n    for i in range(len(words)):\n        for j in range(len(words)):\n"
        "            if words[i] == words[j]:\n                pass\n",
        # An unknown function of the pair: not known to be a similarity.
        "def f(xs):\n    for a in xs:\n        for b in xs:\n            combine(a, b)\n",
        # One loop only.
        "def cos(a, b):\n    return sum(x * y for x, y in zip(a, b))\n"
        "def f(xs, q):\n    return [cos(q, v) for v in xs]\n",
        # A method comparing strings, not vectors.
        "class C:\n    def same(self, a, b):\n        return a.lower() == b.lower()\n"
        "    def f(self, xs):\n        for a in xs:\n            for b in xs:\n                self.same(a.name, b.name)\n",
        # The inner loop does not pair with the outer element.
        "import numpy as np\ndef f(xs, ys):\n    for i in range(len(xs)):\n        for j in range(len(ys)):\n"
        "            np.dot(ys[j], ys[j])\n",
    )
    invalid = (
        Invalid(
            "import math\n\ndef cosine(a, b):\n    dot = sum(x * y for x, y in zip(a, b))\n"
            "    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))\n\n"
            "def group(vectors, threshold):\n    pairs = []\n    for i in range(len(vectors)):\n"
            "        for j in range(len(vectors)):\n"
            "            if i != j and cosine(vectors[i], vectors[j]) >= threshold:\n"
            "                pairs.append((i, j))\n    return pairs\n"
        ),
        Invalid(
            "def gram(X: list[list[float]]):\n    return [[sum(x * y for x, y in zip(u, v)) for v in X] for u in X]\n"
            "def gram2(X: list[list[float]]):\n    G = []\n    for u in X:\n        for v in X:\n"
            "            G.append(sum(x * y for x, y in zip(u, v)))\n    return G\n",
            count=2,
        ),
        Invalid(
            "import math\ndef dist(a, b):\n    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))\n"
            "def far(points, limit):\n    out = []\n    for i in range(len(points)):\n"
            "        for j in range(i + 1, len(points)):\n            if dist(points[i], points[j]) > limit:\n"
            "                out.append((i, j))\n    return out\n"
        ),
        # A method of the class, elements read through an attribute, `zip(..., strict=False)`.
        Invalid(
            "import math\nclass Merger:\n    def _sim(self, e1, e2):\n"
            "        dot = sum(a * b for a, b in zip(e1, e2, strict=False))\n"
            "        return dot / (math.sqrt(sum(a * a for a in e1)) * math.sqrt(sum(b * b for b in e2)))\n"
            "    def pairs(self, m, t):\n        out = []\n        for i in range(len(m)):\n"
            "            for j in range(i + 1, len(m)):\n"
            "                if self._sim(m[i].embedding, m[j].embedding) > t:\n"
            "                    out.append((i, j))\n        return out\n",
        ),
        Invalid(
            "def sq(X: list[list[float]]):\n    return [[sum((x - y) * (x - y) for x, y in zip(u, v)) for v in X] for u in X]\n"
        ),
        Invalid(
            "import math\ndef closest(points, refs):\n    best = []\n    for i, p in enumerate(points):\n"
            "        for r in refs:\n            best.append(math.dist(p, r))\n    return best\n"
        ),
    )

    def check(self, node: ast.For | ast.ListComp | ast.GeneratorExp, ctx: Context) -> None:
        pairs: list[tuple[_Side | None, ast.AST, ast.AST]] = []
        if isinstance(node, ast.For):
            outer = _side(ctx, node)
            span = ctx.header_span(node)
            pairs = [(_side(ctx, s), s, s) for s in node.body if isinstance(s, ast.For)]
        else:
            if any(isinstance(anc, COMPREHENSIONS) for anc in ctx.loops_around(node)):
                return  # the outer comprehension reports
            first = node.generators[0]
            outer = _side(ctx, first) if not first.ifs else None
            span = ctx.span(node)
            if len(node.generators) == 2:
                # the element, and the second generator's filters (`if cosine(a, b) > t`)
                pairs = [(_side(ctx, node.generators[1]), part, part) for part in (node.elt, *node.generators[1].ifs)]
            elif isinstance(node.elt, COMPREHENSIONS) and len(node.elt.generators) == 1:
                inner_comp = node.elt
                pairs = [(_side(ctx, inner_comp.generators[0]), inner_comp, inner_comp)]
        if outer is None:
            return
        for inner, where, _ in pairs:
            if inner is None:
                continue
            for sub in walk(where):
                if isinstance(sub, ast.Call):
                    found = pair_kind(ctx, sub, outer, inner)
                    if found is not None:
                        self._report(ctx, span, node, found)
                        return

    def _report(self, ctx: Context, span: Span, loop: ast.AST, pair: Pair) -> None:
        rows = _rows(ctx, pair.x, pair.operand)
        suggestion = _SUGGESTIONS[pair.kind].format(x=rows)
        if ctx.text(pair.y) != ctx.text(pair.x):
            suggestion += f"  (with {ctx.text(pair.y)} as the second matrix: A @ B.T)"
        fix = Fix(f"{self.fix_title}: {suggestion}", FixSafety.DISPLAY_ONLY, ())
        notes = [f"Vectorized: {suggestion}"]
        message = None
        if pair.via is not None:
            what = _KIND_WORDS.get(pair.kind, pair.kind)
            at = f" (line {pair.line})" if pair.line else f" ({pair.where})" if pair.where else ""
            message = (
                f"All-pairs similarity computed pair by pair in Python (pair loop → {pair.via}{at}: {what} of "
                f"{ctx.text(pair.operand)} and its partner); compute one matrix product"
            )
            notes.append(_RECIPE)
        report(ctx, self, span, fix=lambda: fix, notes=tuple(notes), loop=loop, message=message)


_KIND_WORDS = {
    "dot": "a dot product",
    "cosine": "a cosine similarity",
    "cosine-distance": "a cosine distance",
    "distance": "a Euclidean distance",
    "squared-distance": "a squared Euclidean distance",
}
_RECIPE = (
    "Recipe: build the matrix once (one row per item), normalise the rows once, compute every pair with"
    " one A @ A.T (BLAS), threshold that matrix (np.nonzero(S >= threshold) on the upper triangle) and keep"
    " the grouping (union-find, merging) over the pairs it returns; the similarity function is then called"
    " no more"
)


def _rows(ctx: Context, collection: ast.expr, operand: ast.expr) -> str:
    """The rows of the matrix: ``X`` itself, or ``[m.embedding for m in X]`` when the loop reads an attribute."""
    attrs: list[str] = []
    while isinstance(operand, ast.Attribute):
        attrs.append(operand.attr)
        operand = operand.value
    if not attrs:
        return ctx.text(collection)
    path = ".".join(reversed(attrs))
    return f"[row.{path} for row in {ctx.text(collection)}]"
