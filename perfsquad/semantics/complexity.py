"""A static Big-O estimate of each function's running time, in terms of its inputs.

The estimate is built from the function's structure, never by running it:

* **loops** multiply: a ``for`` runs once per element of its iterable (whose size is traced back to
  the parameters it comes from: ``xs``, ``range(len(xs))``, ``sorted(xs)``, a list grown by
  ``append`` in another loop...); a loop bounded by a constant (``range(3)``, a literal tuple) does
  not count; a ``while`` loop runs once per element of what its test consumes, or ``log n`` times
  when its body halves a bound (binary search);
* **operations** have their known CPython cost: ``x in list`` and ``list.index/count/remove``,
  ``insert``/``pop(0)`` are linear, ``sorted``/``sort`` are ``n log n``, slicing and ``list(...)``
  copy, ``sum(lists, [])`` is quadratic;
* **calls** to functions and methods of the same module compose: the callee's estimate is rewritten
  in terms of the caller's arguments (call cycles are cut);
* **recursion** follows the usual recurrences: one call on ``n - 1`` is ``n`` times the body, two
  or more on ``n - 1``/``n - 2`` are exponential unless memoized, calls on halves follow the master
  theorem (merge sort ``n log n``, binary search ``log n``), calls on a node's children are a
  tree walk (linear in the nodes).

Sizes are named ``n``, ``m``, ``k``... in the order of the parameters they come from; the reason
says which line drives the estimate and what each letter stands for.

Public API: :func:`estimate` (one function's ``O(...)`` and reason), :func:`estimator_for` (the
module's shared :class:`Estimator`) and :func:`calls_per_run`; the algebra of costs is in
:mod:`perfsquad.semantics.cost`. The module is read through
:class:`~perfsquad.semantics.view.TypedModuleView` (a rule's context is one).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field

from perfsquad.memo import MemoKey
from perfsquad.semantics.cost import (
    CONST,
    Cost,
    Term,
    log_of,
    relabel,
    render,
    render_named,
    substitute,
    times_term,
    var,
)
from perfsquad.semantics.types import MAPPINGS, UNKNOWN
from perfsquad.semantics.view import TypedModuleView
from perfsquad.syntax import children, walk

__all__ = ["Estimator", "FunctionNode", "calls_per_run", "estimate", "estimator_for"]

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
_NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_COMPS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_LIST_LIKE = frozenset({"list", "tuple", "str", "bytes", "bytearray"})
_HASHED = frozenset({"set", "frozenset", *MAPPINGS})
_MEMO_DECORATORS = frozenset({"functools.cache", "functools.lru_cache", "functools.cached_property"})
_LINEAR_BUILTINS = frozenset(
    {"min", "max", "sum", "any", "all", "list", "tuple", "set", "frozenset", "dict", "bytes", "bytearray"}
)
_LAZY_WRAPPERS = frozenset({"enumerate", "reversed", "iter", "list", "tuple", "set", "frozenset", "sorted", "dict"})
_SIZE_PRESERVING_METHODS = frozenset({"items", "keys", "values", "copy", "split", "splitlines", "strip"})
_GROW_METHODS = frozenset({"append", "add", "insert", "appendleft", "setdefault", "update", "extend", "push"})
_COLLECTION_CONSTRUCTORS = frozenset(
    {"collections.deque", "collections.Counter", "collections.OrderedDict", "heapq.nlargest", "heapq.nsmallest"}
)
_COSTLY_BUILTINS = frozenset({"sorted", "sum", "min", "max", "any", "all", "list", "tuple", "set", "frozenset", "dict"})
_COSTLY_METHODS = frozenset({"index", "count", "remove", "insert", "pop", "sort", "extend", "copy", "join"})
_LOOP_NODES = (ast.For, ast.AsyncFor, ast.While, *_COMPS)
_MAX_TEXT = 40


# -- the estimator ------------------------------------------------------------------------------
def _short(ctx: TypedModuleView, node: ast.AST) -> str:
    try:
        text = " ".join(ctx.text(node).split())
    except (AttributeError, IndexError, ValueError):
        return "…"
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def _body_nodes(root: ast.AST) -> Iterator[ast.AST]:
    """Nodes of ``root`` that run when it runs: nested functions, classes and lambdas excluded."""
    stack = children(root)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, _NESTED_SCOPES):
            continue
        stack.extend(children(node))


@dataclass
class _FunctionFacts:
    node: FunctionNode
    params: list[str]
    assigns: dict[str, list[ast.expr]] = field(default_factory=dict)
    """name -> values assigned to it (``None`` values are loop targets etc.: unknown)."""
    loop_targets: dict[str, ast.expr] = field(default_factory=dict)
    """name -> the iterable of the loop that binds it."""
    growth: dict[str, list[ast.AST]] = field(default_factory=dict)
    """name -> nodes that add elements to it (``name.append(...)``, ``name[k] = v``...)."""
    self_calls: list[ast.Call] = field(default_factory=list)


class Estimator:
    """Estimates for every function of one module (cached; call cycles cut)."""

    def __init__(self, ctx: TypedModuleView) -> None:
        self.ctx = ctx
        self._done: dict[ast.AST, Cost] = {}
        self._active: set[ast.AST] = set()
        self._facts: dict[ast.AST, _FunctionFacts] = {}
        self._module_functions: dict[str, FunctionNode] | None = None
        self._sites: dict[ast.AST, list[ast.AST]]
        self._fact_nodes: dict[ast.AST, list[ast.AST]]
        self._trip_cache: dict[ast.AST, Cost] = {}
        self._fn_names: set[str]
        self._indexed: set[int]

    # -- public -------------------------------------------------------------------------------
    def estimate(self, fn: FunctionNode) -> tuple[str, str | None]:
        cost = self.cost_of_function(fn)
        return render(cost, self._order(fn))

    def _order(self, fn: FunctionNode) -> list[str]:
        order: list[str] = []
        for p in self.facts(fn).params:
            order += [f"len({p})", p, f"nodes({p})"]
        return order

    def cost_of_function(self, fn: FunctionNode) -> Cost:
        done = self._done.get(fn)
        if done is not None:
            return done
        if fn in self._active:
            return CONST
        self._active.add(fn)
        try:
            facts = self.facts(fn)
            body = self._body_cost(fn, facts)
            if facts.self_calls:
                body = self._recursion(fn, facts, body)
        finally:
            self._active.discard(fn)
        self._done[fn] = body
        return body

    # -- the module index -----------------------------------------------------------------------
    def _index(self) -> None:
        """Group the nodes that cost something, and the facts, by the function that runs them.

        Uses the engine's node buckets (no walk of the tree). Functions missing from the buckets
        are walked on demand by ``_walk_function``; so is every function of an editor's
        incremental context, whose parent links cover only the re-analyzed unit (the rules ask
        about its functions): grouping the module's buckets by owner there classified every node
        of the module at each edit (2-5 ms on sympy's ``polytools.py``) to attribute only the
        unit's."""
        ctx = self.ctx
        self._sites = {}
        self._fact_nodes = {}
        defs: list[FunctionNode] = [f for kind in (ast.FunctionDef, ast.AsyncFunctionDef) for f in ctx.nodes(kind)]  # type: ignore[misc]
        self._fn_names = {f.name for f in defs}
        if not ctx.links_whole_tree():
            self._indexed = set()
            return
        self._indexed = {id(f) for f in defs}
        owners: dict[ast.AST, ast.AST | None] = {}

        def owner(node: ast.AST) -> ast.AST | None:
            chain: list[ast.AST] = []
            found: ast.AST | None = None
            for anc in ctx.ancestors(node):
                if anc in owners:
                    found = owners[anc]
                    break
                chain.append(anc)
                if isinstance(anc, ast.FunctionDef | ast.AsyncFunctionDef):
                    found = anc
                    break
                if isinstance(anc, ast.Lambda | ast.ClassDef | ast.Module):
                    break
            for anc in chain:
                owners[anc] = found
            return found

        kinds: list[type[ast.AST]] = [
            ast.For, ast.AsyncFor, ast.While, *_COMPS, ast.AugAssign, ast.Compare, ast.Subscript, ast.BinOp,
            ast.Call, ast.Assign, ast.AnnAssign, ast.NamedExpr, ast.comprehension,
        ]  # fmt: skip
        for kind in kinds:
            for node in ctx.nodes(kind):
                site, fact = self._classify(node)
                if site or fact:
                    fn = owner(node)
                    if fn is not None:
                        if site:
                            self._sites.setdefault(fn, []).append(node)
                        if fact:
                            self._fact_nodes.setdefault(fn, []).append(node)

    def _classify(self, node: ast.AST) -> tuple[bool, bool]:
        """(costs something, tells something about names) for one node."""
        kind = type(node)
        if kind in _LOOP_NODES:
            return True, kind in (ast.For, ast.AsyncFor)
        if kind is ast.Compare:
            return any(type(op) is ast.In or type(op) is ast.NotIn for op in node.ops), False  # type: ignore[attr-defined]
        if kind is ast.Subscript:
            if type(node.slice) is ast.Slice:  # type: ignore[attr-defined]
                return True, False
            return False, type(node.ctx) is ast.Store  # type: ignore[attr-defined]
        if kind is ast.BinOp:
            return type(node.op) is ast.Add, False  # type: ignore[attr-defined]
        if kind is ast.Call:
            func = node.func  # type: ignore[attr-defined]
            if type(func) is ast.Name:
                mine = func.id in self._fn_names
                return func.id in _COSTLY_BUILTINS or mine, mine
            if type(func) is ast.Attribute:
                attr = func.attr
                mine = attr in self._fn_names
                return attr in _COSTLY_METHODS or mine, attr in _GROW_METHODS or mine
            return False, False
        if kind is ast.AugAssign:
            return True, True
        if kind in (ast.Assign, ast.AnnAssign, ast.NamedExpr, ast.comprehension):
            return False, True
        return False, False

    def _walk_function(self, fn: FunctionNode) -> None:
        """Index one function the buckets do not know (walked once, nested scopes skipped)."""
        self._fn_names.add(fn.name)
        sites: list[ast.AST] = []
        facts: list[ast.AST] = []
        stack: list[ast.AST] = children(fn)
        while stack:
            node = stack.pop()
            if isinstance(node, _NESTED_SCOPES):
                continue
            site, fact = self._classify(node)
            if site:
                sites.append(node)
            if fact:
                facts.append(node)
            stack.extend(children(node))
        self._sites[fn] = sites
        self._fact_nodes[fn] = facts
        self._indexed.add(id(fn))

    def _body_cost(self, fn: FunctionNode, facts: _FunctionFacts) -> Cost:
        """The sum, over every costly node of ``fn``, of its cost times the loops around it."""
        total = CONST
        # Source order, whichever way the nodes were found (buckets or a walk): equal terms keep
        # the first reason, so the result must not depend on discovery order.
        for node in sorted(self._sites.get(fn, ()), key=_position):
            if isinstance(node, _LOOP_NODES):
                cost = self._trips(node, facts)
                if cost.constant:
                    continue
            else:
                cost = self._site_cost(node, facts)
                if cost.constant:
                    continue
            total = total + self._around(node, cost, facts)
        return total

    def _around(self, node: ast.AST, cost: Cost, facts: _FunctionFacts) -> Cost:
        for loop in self.ctx.loops_around(node):
            trips = self._trips(loop, facts)
            if trips.constant:
                continue
            cost = trips.times(cost, self._describe_loop(loop))
        return cost

    def _describe_loop(self, loop: ast.AST) -> str:
        if isinstance(loop, ast.For | ast.AsyncFor):
            return f"loop over `{_short(self.ctx, loop.iter)}` (line {loop.lineno})"
        if isinstance(loop, ast.While):
            return f"`while` loop (line {loop.lineno})"
        gens: list[ast.comprehension] = loop.generators  # type: ignore[attr-defined]
        return f"comprehension over `{_short(self.ctx, gens[0].iter)}` (line {gens[0].iter.lineno})"

    def _trips(self, loop: ast.AST, facts: _FunctionFacts) -> Cost:
        cached = self._trip_cache.get(loop)
        if cached is not None:
            return cached
        if isinstance(loop, ast.For | ast.AsyncFor):
            text = _short(self.ctx, loop.iter)
            cost = relabel(self._size(loop.iter, facts, set()), f"line {loop.lineno}: loop over `{text}`")
        elif isinstance(loop, ast.While):
            cost = self._trips_while(loop, facts)
        else:
            gens: list[ast.comprehension] = loop.generators  # type: ignore[attr-defined]
            cost = CONST
            for gen in gens:
                cost = cost.times(self._size(gen.iter, facts, set()), "")
            text = _short(self.ctx, gens[0].iter)
            cost = relabel(cost, f"line {gens[0].iter.lineno}: comprehension over `{text}`")
        self._trip_cache[loop] = cost
        return cost

    def _site_cost(self, node: ast.AST, facts: _FunctionFacts) -> Cost:
        if isinstance(node, ast.Call):
            return self._call(node, facts)
        if isinstance(node, ast.Compare):
            return self._compare(node, facts)
        if isinstance(node, ast.AugAssign):
            return self._augassign(node, facts)
        if isinstance(node, ast.Subscript):
            if isinstance(node.ctx, ast.Load) and self._type(node.value) not in _HASHED:
                return relabel(
                    self._size(node.value, facts, set()), f"line {node.lineno}: slice `{_short(self.ctx, node)}` copies"
                )
            return CONST
        if isinstance(node, ast.BinOp):
            kinds = {self._type(node.left), self._type(node.right)}
            if kinds & {"list", "tuple"}:
                size = self._size(node.left, facts, set()) + self._size(node.right, facts, set())
                return relabel(size, f"line {node.lineno}: `{_short(self.ctx, node)}` copies")
        return CONST

    # -- facts --------------------------------------------------------------------------------
    def facts(self, fn: FunctionNode) -> _FunctionFacts:
        facts = self._facts.get(fn)
        if facts is not None:
            return facts
        if not hasattr(self, "_sites"):
            self._index()
        if id(fn) not in self._indexed:
            self._walk_function(fn)
        args = fn.args
        params = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
        if args.vararg:
            params.append(args.vararg.arg)
        facts = _FunctionFacts(fn, params)
        for node in sorted(self._fact_nodes.get(fn, ()), key=_position):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    self._bind(facts, target, node.value)
            elif isinstance(node, ast.AnnAssign | ast.NamedExpr):
                if node.value is not None:
                    self._bind(facts, node.target, node.value)
            elif isinstance(node, ast.AugAssign):
                if isinstance(node.target, ast.Name) and isinstance(node.op, ast.Add | ast.BitOr):
                    facts.growth.setdefault(node.target.id, []).append(node)
            elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
                for sub in walk(node.target):
                    if isinstance(sub, ast.Name):
                        facts.loop_targets[sub.id] = node.iter
            elif isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                    if func.attr in _GROW_METHODS:
                        facts.growth.setdefault(func.value.id, []).append(node)
                    elif func.attr == fn.name and func.value.id in ("self", "cls"):
                        facts.self_calls.append(node)
                elif isinstance(func, ast.Name) and func.id == fn.name:
                    facts.self_calls.append(node)
            elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
                facts.growth.setdefault(node.value.id, []).append(node)
        self._facts[fn] = facts
        return facts

    @staticmethod
    def _bind(facts: _FunctionFacts, target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, ast.Name):
            facts.assigns.setdefault(target.id, []).append(value)
        elif isinstance(target, ast.Tuple | ast.List):
            values = value.elts if isinstance(value, ast.Tuple | ast.List) else None
            for i, elt in enumerate(target.elts):
                if values is not None and len(values) == len(target.elts):
                    Estimator._bind(facts, elt, values[i])
                else:
                    for sub in walk(elt):
                        if isinstance(sub, ast.Name):
                            facts.assigns.setdefault(sub.id, []).append(value)

    def module_functions(self) -> dict[str, FunctionNode]:
        if self._module_functions is None:
            found: dict[str, FunctionNode] = {}
            ambiguous: set[str] = set()
            for stmt in self.ctx.tree.body:
                if isinstance(stmt, FunctionNode):
                    if stmt.name in found:
                        ambiguous.add(stmt.name)
                    found[stmt.name] = stmt
            self._module_functions = {k: v for k, v in found.items() if k not in ambiguous}
        return self._module_functions

    # -- costs of single nodes ------------------------------------------------------------------
    def _augassign(self, stmt: ast.AugAssign, facts: _FunctionFacts) -> Cost:
        """``s += t`` copies ``s`` when it is an immutable sequence (str, tuple)."""
        target = stmt.target
        if not (isinstance(target, ast.Name) and isinstance(stmt.op, ast.Add)):
            return CONST
        kind = self._type(target)
        if kind == UNKNOWN:
            from perfsquad.semantics.types import expr_type

            kinds = {expr_type(v, self.ctx.imports) for v in facts.assigns.get(target.id, ())}
            kind = kinds.pop() if len(kinds) == 1 else UNKNOWN
        if kind not in ("str", "tuple", "bytes"):
            return CONST
        size = self._size(target, facts, set())
        return relabel(size, f"line {stmt.lineno}: `{_short(self.ctx, stmt)}` copies the {kind}")

    def _compare(self, node: ast.Compare, facts: _FunctionFacts) -> Cost:
        total = CONST
        for op, right in zip(node.ops, node.comparators, strict=False):
            if not isinstance(op, ast.In | ast.NotIn):
                continue
            if _small_literal(right):
                continue
            kind = self._type(right)
            if kind in _LIST_LIKE or (isinstance(right, ast.Subscript) and isinstance(right.slice, ast.Slice)):
                size = self._size(right, facts, set())
                label = kind if kind in _LIST_LIKE else "sequence"
                total = total + relabel(size, f"line {node.lineno}: `{_short(self.ctx, node)}` ({label})")
        return total

    def _call(self, node: ast.Call, facts: _FunctionFacts) -> Cost:
        func = node.func
        line = node.lineno
        qn = self.ctx.qualified_name(func)
        if qn is not None and qn.startswith("builtins."):
            name = qn[9:]
            if not node.args or isinstance(node.args[0], ast.Starred):
                return CONST
            arg = node.args[0]
            if name == "sorted":
                size = self._size(arg, facts, set())
                return times_term(size, log_of(size), f"line {line}: `{_short(self.ctx, node)}` sorts")
            if name == "sum" and len(node.args) == 2 and self._type(node.args[1]) in ("list", "tuple"):
                size = self._size(arg, facts, set())
                return relabel(size.times(size, ""), f"line {line}: `{_short(self.ctx, node)}` concatenates repeatedly")
            if name in ("min", "max") and len(node.args) > 1:
                return CONST
            if name in _LINEAR_BUILTINS:
                return relabel(self._size(arg, facts, set()), f"line {line}: `{_short(self.ctx, node)}`")
            return CONST
        if isinstance(func, ast.Attribute):
            return self._method(node, func, facts)
        if isinstance(func, ast.Name):
            callee = self._resolve(func.id, facts)
            if callee is not None and callee is not facts.node:
                return self._compose(node, callee, facts, skip_self=False)
        return CONST

    def _method(self, node: ast.Call, func: ast.Attribute, facts: _FunctionFacts) -> Cost:
        recv = func.value
        line = node.lineno
        attr = func.attr
        if isinstance(recv, ast.Name) and recv.id in ("self", "cls"):
            callee = self._method_of_class(facts.node, attr)
            if callee is not None and callee is not facts.node:
                return self._compose(node, callee, facts, skip_self=True)
            return CONST
        if attr == "join" and isinstance(recv, ast.Constant) and node.args:
            return relabel(self._size(node.args[0], facts, set()), f"line {line}: `{_short(self.ctx, node)}`")
        kind = self._type(recv)
        if kind in _HASHED or kind == "collections.deque":
            return CONST
        text = f"line {line}: `{_short(self.ctx, node)}`"
        if attr in ("index", "count"):
            return relabel(self._size(recv, facts, set()), f"{text} scans the sequence")
        if kind == "list" or (kind == UNKNOWN and isinstance(recv, ast.Name) and recv.id in facts.assigns):
            if attr == "remove" or (attr == "insert" and node.args) or (attr == "pop" and node.args and _is_zero(node.args[0])):
                return relabel(self._size(recv, facts, set()), f"{text} shifts every element")
            if attr == "sort":
                size = self._size(recv, facts, set())
                return times_term(size, log_of(size), f"{text} sorts")
            if attr == "extend" and node.args:
                return relabel(self._size(node.args[0], facts, set()), text)
            if attr == "copy":
                return relabel(self._size(recv, facts, set()), text)
        return CONST

    def _resolve(self, name: str, facts: _FunctionFacts) -> FunctionNode | None:
        # A function nested in the caller, then one defined at module level.
        for stmt in facts.node.body:
            if isinstance(stmt, FunctionNode) and stmt.name == name:
                return stmt
        if name in facts.assigns or name in facts.params:
            return None
        return self.module_functions().get(name)

    def _method_of_class(self, fn: FunctionNode, name: str) -> FunctionNode | None:
        parent = self.ctx.parent(fn)
        if not isinstance(parent, ast.ClassDef):
            return None
        found = [s for s in parent.body if isinstance(s, FunctionNode) and s.name == name]
        if len(found) != 1 or any(
            self.ctx.qualified_name(d) not in (None, "builtins.staticmethod", "builtins.classmethod")
            and not isinstance(d, ast.Name)
            for d in found[0].decorator_list
        ):
            return None
        return found[0]

    def _compose(self, node: ast.Call, callee: FunctionNode, facts: _FunctionFacts, *, skip_self: bool) -> Cost:
        cost = self.cost_of_function(callee)
        if cost.constant:
            return CONST
        callee_facts = self.facts(callee)
        params = callee_facts.params[1:] if skip_self else callee_facts.params
        mapping: dict[str, Cost] = {}
        bound: dict[str, ast.expr] = {}
        for i, arg in enumerate(node.args):
            if isinstance(arg, ast.Starred):
                break
            if i < len(params):
                bound[params[i]] = arg
        for kw in node.keywords:
            if kw.arg is not None and kw.arg in params:
                bound[kw.arg] = kw.value
        for p in params:
            arg_node = bound.get(p)
            if arg_node is None:
                defaults = self._default_of(callee, p)
                if defaults is None:
                    continue
                mapping[f"len({p})"] = CONST
                mapping[p] = CONST
                mapping[f"nodes({p})"] = CONST
                continue
            mapping[f"len({p})"] = self._size(arg_node, facts, set())
            mapping[p] = self._int_size(arg_node, facts, set())
            mapping[f"nodes({p})"] = self._size(arg_node, facts, set())
        # (in the callee's own names: its letters would clash with the caller's)
        reason = f"line {node.lineno}: calls `{callee.name}()`, which is {render_named(cost)}"
        return substitute(cost, mapping, reason)

    @staticmethod
    def _default_of(fn: FunctionNode, param: str) -> ast.expr | None:
        args = fn.args
        positional = [*args.posonlyargs, *args.args]
        offset = len(positional) - len(args.defaults)
        for i, a in enumerate(positional):
            if a.arg == param and i >= offset:
                return args.defaults[i - offset]
        for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=False):
            if a.arg == param:
                return d
        return None

    # -- sizes --------------------------------------------------------------------------------
    def _type(self, node: ast.expr) -> str:
        try:
            return self.ctx.type_of(node)
        except (KeyError, AttributeError):
            return UNKNOWN

    def _trips_for(self, iterable: ast.expr, facts: _FunctionFacts) -> Cost:
        return self._size(iterable, facts, set())

    def _size(self, node: ast.expr, facts: _FunctionFacts, seen: set[tuple[str, str]]) -> Cost:
        """How many elements ``node`` has (a cost in the function's sizes)."""
        if isinstance(node, ast.Constant):
            return CONST
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            cost = CONST
            for elt in node.elts:
                if isinstance(elt, ast.Starred):
                    cost = cost + self._size(elt.value, facts, seen)
            return cost
        if isinstance(node, ast.Dict):
            return CONST
        if isinstance(node, ast.Name):
            return self._name_size(node.id, facts, seen)
        if isinstance(node, ast.Subscript):
            if isinstance(node.slice, ast.Slice):
                return self._size(node.value, facts, seen)
            if isinstance(node.slice, ast.Constant):
                return var(f"len({_plain(self.ctx, node)})")
            # Any element of one collection: one size (the rows of a matrix, the vectors of a list
            # share a width), so `cosine(vectors[i], vectors[j])` costs O(d), not O(m + k).
            return var(f"len({_plain(self.ctx, node.value)}[{ELEMENT}])")
        if isinstance(node, _COMPS):
            cost = CONST
            for gen in node.generators:
                cost = cost.times(self._size(gen.iter, facts, seen), "")
            return cost
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Add):
                return self._size(node.left, facts, seen) + self._size(node.right, facts, seen)
            if isinstance(node.op, ast.Mult):
                left_kind = self._type(node.left)
                if isinstance(node.left, ast.List | ast.Tuple | ast.Constant) or left_kind in _LIST_LIKE:
                    return self._size(node.left, facts, seen).times(self._int_size(node.right, facts, seen), "")
                return self._size(node.right, facts, seen).times(self._int_size(node.left, facts, seen), "")
            return self._size(node.left, facts, seen)
        if isinstance(node, ast.IfExp):
            return self._size(node.body, facts, seen) + self._size(node.orelse, facts, seen)
        if isinstance(node, ast.Call):
            return self._call_size(node, facts, seen)
        if isinstance(node, ast.Attribute):
            return var(f"len({_plain(self.ctx, node)})")
        return var(f"len({_plain(self.ctx, node)})")

    def _call_size(self, node: ast.Call, facts: _FunctionFacts, seen: set[tuple[str, str]]) -> Cost:
        func = node.func
        qn = self.ctx.qualified_name(func)
        args = [a for a in node.args if not isinstance(a, ast.Starred)]
        if qn is not None and qn.startswith("builtins."):
            name = qn[9:]
            if name == "range":
                return self._range_size(args, facts, seen)
            if name in ("zip", "map", "filter"):
                seqs = args if name == "zip" else args[1:]
                return self._size(seqs[0], facts, seen) if seqs else CONST
            if name in _LAZY_WRAPPERS and args:
                return self._size(args[0], facts, seen)
        if qn in _COLLECTION_CONSTRUCTORS and args:
            return self._size(args[0], facts, seen)
        if qn in ("itertools.combinations", "itertools.permutations", "itertools.product") and args:
            base = self._size(args[0], facts, seen)
            if qn == "itertools.product":
                cost = CONST
                for a in args:
                    cost = cost.times(self._size(a, facts, seen), "")
                return cost
            r = args[1] if len(args) > 1 else None
            if isinstance(r, ast.Constant) and isinstance(r.value, int) and 0 < r.value <= 4:
                cost = CONST
                for _ in range(r.value):
                    cost = cost.times(base, "")
                return cost
            return times_term(base, Term(exps=(_first_name(base),)), "") if base.terms else base
        if isinstance(func, ast.Attribute) and func.attr in _SIZE_PRESERVING_METHODS:
            return self._size(func.value, facts, seen)
        if isinstance(func, ast.Name):
            callee = self._resolve(func.id, facts)
            if callee is not None and args:
                return self._size(args[0], facts, seen)
        return var(f"len({_plain(self.ctx, node)})")

    def _range_size(self, args: list[ast.expr], facts: _FunctionFacts, seen: set[tuple[str, str]]) -> Cost:
        if not args:
            return CONST
        if len(args) == 1:
            return self._int_size(args[0], facts, seen)
        start, stop = args[0], args[1]
        # range(i, i + 3): a constant number of steps however large i is.
        if (
            isinstance(stop, ast.BinOp)
            and isinstance(stop.op, ast.Add)
            and isinstance(stop.right, ast.Constant)
            and ast.dump(stop.left) == ast.dump(start)
        ):
            return CONST
        size = self._int_size(stop, facts, seen)
        if len(args) == 3 and isinstance(args[2], ast.Name | ast.BinOp):
            # range(i * i, n, i) and friends: harmonic, still bounded by the stop.
            return size
        return size

    def _name_size(self, name: str, facts: _FunctionFacts, seen: set[tuple[str, str]]) -> Cost:
        key = ("size", name)
        if key in seen:
            return CONST
        seen = seen | {key}
        if name in facts.params and name not in facts.assigns:
            return var(f"len({name})")
        cost = CONST
        known = False
        if name in facts.loop_targets:
            cost = cost + var(f"len({name})")
            known = True
        for value in facts.assigns.get(name, ()):
            cost = cost + self._size(value, facts, seen)
            known = True
        for site in facts.growth.get(name, ()):
            cost = cost + self._growth(site, facts, seen)
            known = True
        if name in facts.params:
            cost = cost + var(f"len({name})")
            known = True
        if not known:
            return var(f"len({name})")
        return cost

    def _growth(self, site: ast.AST, facts: _FunctionFacts, seen: set[tuple[str, str]]) -> Cost:
        """How many elements the loops around ``site`` add (the product of their trip counts)."""
        per_call = CONST
        if isinstance(site, ast.Call) and isinstance(site.func, ast.Attribute):
            if site.func.attr in ("extend", "update") and site.args:
                per_call = self._size(site.args[0], facts, seen)
        elif isinstance(site, ast.AugAssign) and self._type(site.value) in ("list", "tuple", "set"):
            per_call = self._size(site.value, facts, seen)
        cost = per_call
        for loop in self.ctx.loops_around(site):
            if isinstance(loop, ast.For | ast.AsyncFor):
                cost = cost.times(self._size(loop.iter, facts, seen), "")
            elif isinstance(loop, ast.While):
                cost = cost.times(self._while_size(loop, facts, seen), "")
            elif isinstance(loop, _COMPS):
                for gen in loop.generators:
                    cost = cost.times(self._size(gen.iter, facts, seen), "")
        if cost.constant and not self.ctx.loops_around(site):
            return CONST
        return cost

    def _int_size(self, node: ast.expr, facts: _FunctionFacts, seen: set[tuple[str, str]]) -> Cost:
        """How large the integer ``node`` can be, as a cost in the function's sizes."""
        if isinstance(node, ast.Constant):
            return CONST
        if isinstance(node, ast.Name):
            key = ("int", node.id)
            if key in seen:
                return CONST
            seen = seen | {key}
            if node.id in facts.params and node.id not in facts.assigns:
                return var(node.id)
            cost = CONST
            known = False
            iterable = facts.loop_targets.get(node.id)
            if iterable is not None:
                cost = cost + self._size(iterable, facts, seen)
                known = True
            for value in facts.assigns.get(node.id, ()):
                cost = cost + self._int_size(value, facts, seen)
                known = True
            if node.id in facts.params:
                cost = cost + var(node.id)
                known = True
            return cost if known else var(node.id)
        if isinstance(node, ast.Call):
            qn = self.ctx.qualified_name(node.func)
            if qn == "builtins.len" and node.args:
                return self._size(node.args[0], facts, seen)
            if qn in ("builtins.min", "builtins.abs", "builtins.int", "builtins.round") and node.args:
                return self._int_size(node.args[0], facts, seen)
            if qn == "builtins.max":
                cost = CONST
                for a in node.args:
                    cost = cost + self._int_size(a, facts, seen)
                return cost
            return var(_plain(self.ctx, node))
        if isinstance(node, ast.BinOp):
            left = self._int_size(node.left, facts, seen)
            if isinstance(node.op, ast.Add | ast.Sub):
                return left + self._int_size(node.right, facts, seen)
            if isinstance(node.op, ast.Mult):
                return left.times(self._int_size(node.right, facts, seen), "")
            if isinstance(node.op, ast.Pow):
                return var(_plain(self.ctx, node))
            return left
        if isinstance(node, ast.UnaryOp):
            return self._int_size(node.operand, facts, seen)
        if isinstance(node, ast.Attribute):
            return var(_plain(self.ctx, node))
        return CONST  # an element's value (xs[i]) is not a size we can trace

    # -- loops --------------------------------------------------------------------------------
    def _trips_while(self, loop: ast.While, facts: _FunctionFacts) -> Cost:
        if _compresses_paths(loop):
            return CONST  # union-find's find with path compression/halving: amortized (nearly) constant
        cost = self._while_size(loop, facts, set())
        reason = f"line {loop.lineno}: `while {_short(self.ctx, loop.test)}`"
        if _halves(loop):
            return Cost.of(log_of(cost), f"{reason} halves its range each time")
        return relabel(cost, reason)

    def _while_size(self, loop: ast.While, facts: _FunctionFacts, seen: set[tuple[str, str]]) -> Cost:
        test = loop.test
        if isinstance(test, ast.Constant):
            return var(f"loop@{loop.lineno}") if test.value else CONST
        operands: list[ast.expr] = []
        stack: list[ast.expr] = [test]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.BoolOp):
                stack.extend(node.values)
            elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
                stack.append(node.operand)
            elif isinstance(node, ast.Compare):
                if all(isinstance(op, ast.In | ast.NotIn | ast.Is | ast.IsNot) for op in node.ops):
                    continue
                operands.append(node.left)
                operands.extend(node.comparators)
            else:
                operands.append(node)
        cost = CONST
        for operand in operands:
            if isinstance(operand, ast.Name):
                if self._type(operand) in (*_LIST_LIKE, *_HASHED, "collections.deque") or operand.id in facts.growth:
                    cost = cost + self._size(operand, facts, seen)
                else:
                    cost = cost + self._int_size(operand, facts, seen)
            elif isinstance(operand, ast.Call | ast.BinOp | ast.UnaryOp | ast.Constant):
                cost = cost + self._int_size(operand, facts, seen)
            elif isinstance(operand, ast.Subscript | ast.Attribute):
                continue  # xs[j] > key: compares elements, bounded by the other operands
        if cost.constant:
            return var(f"loop@{loop.lineno}")
        return cost

    # -- recursion ----------------------------------------------------------------------------
    def _recursion(self, fn: FunctionNode, facts: _FunctionFacts, body: Cost) -> Cost:
        """Solve the recurrence given by the calls ``fn`` makes to itself."""
        memo = self._memoized(fn, facts)
        in_loop = any(self.ctx.loops_around(call) for call in facts.self_calls)
        calls = calls_per_run(fn.body, facts.self_calls)
        params = facts.params[1:] if facts.params[:1] in (["self"], ["cls"]) else facts.params
        kinds = [self._shrink(call, params, facts, fn) for call in facts.self_calls]
        line = facts.self_calls[0].lineno
        if in_loop or any(k is not None and k[0] == "structural" for k in kinds):
            p = next((p for p in params), "input")
            nodes = Term(vars=(f"nodes({p})",))
            return times_term(body, nodes, f"line {line}: recursion over the parts of `{p}` visits each once")
        if not kinds or any(k is None for k in kinds):
            return body
        size_param = next((k[1] for k in kinds if k is not None), None)
        if size_param is None:
            return body
        size = Term(vars=(size_param,))
        is_halving = all(k is not None and k[0] == "halve" for k in kinds)
        if is_halving:
            if calls >= 2:
                best = body.dominant()
                if best is None or best[0].constant:
                    return Cost.of(size, f"line {line}: {calls} recursive calls on halves")
                return times_term(body, Term(logs=(size_param,)), f"line {line}: recursive calls on halves, each level {render(body, self._order(fn))[0]}")
            best = body.dominant()
            if best is None or best[0].constant:
                return Cost.of(Term(logs=(size_param,)), f"line {line}: one recursive call on a half")
            return body
        if calls >= 2 and not memo:
            return times_term(
                body, Term(exps=(size_param,)),
                f"line {line}: {calls} recursive calls on overlapping subproblems (no memoization)",
            )  # fmt: skip
        return times_term(body, size, f"line {line}: recursion {'(memoized) ' if memo else ''}one step smaller each time")

    def _memoized(self, fn: FunctionNode, facts: _FunctionFacts) -> bool:
        for deco in fn.decorator_list:
            target = deco.func if isinstance(deco, ast.Call) else deco
            qn = self.ctx.qualified_name(target)
            if qn in _MEMO_DECORATORS or (qn or "").endswith(".cache") or (qn or "").endswith("lru_cache"):
                return True
        # `if n in memo: return memo[n]` with `memo[n] = ...`
        for node in _body_nodes(fn):
            if isinstance(node, ast.Compare) and any(isinstance(op, ast.In) for op in node.ops):
                right = node.comparators[-1]
                if isinstance(right, ast.Name) and right.id in facts.growth:
                    return True
                if isinstance(right, ast.Attribute):
                    return True
        return False

    def _shrink(
        self, call: ast.Call, params: list[str], facts: _FunctionFacts, fn: FunctionNode
    ) -> tuple[str, str] | None:
        """How a recursive call's arguments relate to the parameters: ("decrement"|"halve", size var),
        ("structural", ""), or None when unknown."""
        args = list(call.args)
        for i, arg in enumerate(args):
            if i >= len(params) or isinstance(arg, ast.Starred):
                break
            p = params[i]
            kind = self._arg_shrink(arg, p, facts)
            if kind is not None:
                return kind
        return None

    def _arg_shrink(self, arg: ast.expr, p: str, facts: _FunctionFacts) -> tuple[str, str] | None:
        names = {n.id for n in walk(arg) if isinstance(n, ast.Name)}
        if isinstance(arg, ast.BinOp) and _mentions(arg.left, p):
            if isinstance(arg.op, ast.Sub) and isinstance(arg.right, ast.Constant):
                return ("decrement", p)
            if isinstance(arg.op, ast.FloorDiv | ast.RShift | ast.Div):
                return ("halve", p)
        if isinstance(arg, ast.Subscript) and isinstance(arg.slice, ast.Slice) and _mentions(arg.value, p):
            sl = arg.slice
            bounds = [b for b in (sl.lower, sl.upper) if b is not None]
            if any(_halving_expr(b, facts) for b in bounds):
                return ("halve", f"len({p})")
            return ("decrement", f"len({p})")
        if isinstance(arg, ast.Attribute) and _mentions(arg.value, p):
            return ("structural", "")
        if isinstance(arg, ast.Subscript) and _mentions(arg.value, p):
            return ("structural", "")
        if isinstance(arg, ast.Name) and arg.id in facts.loop_targets:
            it = facts.loop_targets[arg.id]
            if any(isinstance(n, ast.Name) and n.id == p for n in walk(it)):
                return ("structural", "")
        if isinstance(arg, ast.Name) and arg.id != p:
            for value in facts.assigns.get(arg.id, ()):
                found = self._arg_shrink(value, p, facts)
                if found is not None:
                    return found
            # Index bounds: bs(xs, lo, mid - 1) where mid = (lo + hi) // 2.
            if any(_halving_expr(v, facts) for v in facts.assigns.get(arg.id, ())):
                return ("halve", p)
        if isinstance(arg, ast.BinOp) and isinstance(arg.left, ast.Name) and names - {p}:
            halving = [v for v in facts.assigns.get(arg.left.id, ()) if _halving_expr(v, facts)]
            if halving:
                # bs(xs, mid + 1, hi) with mid = (lo + hi) // 2: the range is bounded by the last bound.
                limits = [n.id for n in walk(halving[0]) if isinstance(n, ast.Name) and n.id in facts.params]
                return ("halve", limits[-1] if limits else p)
        return None


def _position(node: ast.AST) -> tuple[int, int]:
    if isinstance(node, ast.comprehension):
        node = node.target
    return (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))


def _mentions(node: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in walk(node))


def _halving_expr(node: ast.expr, facts: _FunctionFacts, depth: int = 0) -> bool:
    if depth > 3:
        return False
    for n in walk(node):
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.FloorDiv | ast.RShift | ast.Div):
            return True
        if (
            isinstance(n, ast.Name)
            and n is not node
            and any(_halving_expr(v, facts, depth + 1) for v in facts.assigns.get(n.id, ()))
        ):
            return True
    if isinstance(node, ast.Name):
        return any(_halving_expr(v, facts, depth + 1) for v in facts.assigns.get(node.id, ()))
    return False


def _compresses_paths(loop: ast.While) -> bool:
    """``while parent[i] != i: parent[i] = parent[parent[i]]; i = parent[i]``: the find of a
    union-find with path halving (or compression). Over many finds each costs amortized O(1) for
    the sizes that matter (m finds on n items: O(m log_(1 + m/n) n)), so the loop adds no size."""
    test = loop.test
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.NotEq)):
        return False
    sides = [test.left, test.comparators[0]]
    link = next((s for s in sides if isinstance(s, ast.Subscript) and isinstance(s.value, ast.Name)), None)
    node = next((s for s in sides if isinstance(s, ast.Name)), None)
    if link is None or node is None or not (isinstance(link.slice, ast.Name) and link.slice.id == node.id):
        return False
    table = link.value.id  # type: ignore[attr-defined]

    def lookup(expr: ast.AST, inner: ast.AST) -> bool:  # table[<inner>]
        return (isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Name) and expr.value.id == table
                and ast.dump(expr.slice) == ast.dump(inner))  # fmt: skip

    index = ast.Name(id=node.id, ctx=ast.Load())
    for stmt in loop.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value = stmt.targets[0], stmt.value
            if isinstance(target, ast.Subscript) and lookup(value, ast.Subscript(value=ast.Name(id=table, ctx=ast.Load()),
                                                                               slice=index, ctx=ast.Load())):  # fmt: skip
                return True
    return False


def _halves(loop: ast.While) -> bool:
    """The body divides a bound of the test (``n //= 2``; ``lo = mid + 1`` with ``mid = (lo + hi) // 2``)."""
    test_names = {n.id for n in walk(loop.test) if isinstance(n, ast.Name)}
    values: dict[str, list[ast.expr]] = {}
    for stmt in loop.body:
        for node in _walk_stmt(stmt):
            if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                if node.target.id in test_names and isinstance(node.op, ast.FloorDiv | ast.RShift | ast.Div):
                    return True
            elif isinstance(node, ast.Assign):
                for t in node.targets:
                    if isinstance(t, ast.Name):
                        values.setdefault(t.id, []).append(node.value)

    def halving(expr: ast.expr, depth: int) -> bool:
        for n in walk(expr):
            if isinstance(n, ast.BinOp) and (
                isinstance(n.op, ast.RShift)
                or (isinstance(n.op, ast.FloorDiv | ast.Div) and isinstance(n.right, ast.Constant) and n.right.value == 2)
            ):
                return True
            if (
                depth < 3
                and isinstance(n, ast.Name)
                and n is not expr
                and n.id in values
                and any(halving(v, depth + 1) for v in values[n.id])
            ):
                return True
        return False

    return any(halving(v, 0) for name in test_names for v in values.get(name, ()))


def _walk_stmt(stmt: ast.AST) -> Iterator[ast.AST]:
    yield stmt
    yield from _body_nodes(stmt)


def calls_per_run(stmts: list[ast.stmt], calls: list[ast.Call]) -> int:
    """The most self-calls one run of the body can make (branches of an ``if`` are exclusive)."""
    wanted = {id(c) for c in calls}

    def count(node: ast.AST) -> int:
        return sum(1 for n in _walk_stmt(node) if id(n) in wanted)

    def block(body: list[ast.stmt]) -> int:
        total = 0
        for i, stmt in enumerate(body):
            if isinstance(stmt, ast.If):
                if stmt.body and isinstance(stmt.body[-1], ast.Return | ast.Raise | ast.Continue | ast.Break):
                    # The rest of the block only runs when this branch does not.
                    rest = [*stmt.orelse, *body[i + 1 :]]
                    return total + count(stmt.test) + max(block(stmt.body), block(rest))
                total += count(stmt.test) + max(block(stmt.body), block(stmt.orelse))
            elif isinstance(stmt, ast.Return | ast.Expr | ast.Assign | ast.AugAssign | ast.AnnAssign):
                total += count(stmt)
            elif isinstance(stmt, _NESTED_SCOPES):
                continue
            else:
                total += count(stmt)
        return total

    try:
        return block(stmts)
    except RecursionError:
        return len(calls)


def _small_literal(node: ast.expr) -> bool:
    return isinstance(node, ast.Tuple | ast.List | ast.Set | ast.Constant) and not any(
        isinstance(e, ast.Starred) for e in getattr(node, "elts", ())
    ) and (not isinstance(node, ast.Constant) or not isinstance(node.value, str) or len(node.value) <= 64)


def _is_zero(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value == 0 and type(node.value) is int


def _first_name(cost: Cost) -> str:
    best = cost.dominant()
    if best is None or best[0].constant:
        return "n"
    return (best[0].vars or best[0].logs or best[0].exps)[0]


ELEMENT = "\u2026"
"""The index of "any element" in a size variable: ``len(vectors[…])``."""


def _plain(ctx: TypedModuleView, node: ast.AST) -> str:
    try:
        text = " ".join(ctx.text(node).split())
    except (AttributeError, IndexError, ValueError):
        text = type(node).__name__
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def estimator_for(ctx: TypedModuleView) -> Estimator:
    # Kept on the context itself (a memo): a weak table keyed by the context never lets go of an
    # entry, since the estimator refers to its context (every analyzed tree stayed alive).
    return ctx.memo(_ESTIMATOR, lambda: Estimator(ctx))


_ESTIMATOR: MemoKey[Estimator] = MemoKey("complexity.estimator")


def estimate(fn: FunctionNode, ctx: TypedModuleView) -> tuple[str | None, str | None]:
    """``("O(n^2)", "line 12: ...")`` for one function; ``(None, None)`` if it cannot be estimated."""
    try:
        return estimator_for(ctx).estimate(fn)
    except (RecursionError, MemoryError):
        return None, None
    except Exception:  # an estimator bug never takes the file's findings down (tests call it bare)
        return None, None
