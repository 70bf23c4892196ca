"""A profile as something to look at: a flame tree, the hot functions and the hot lines.

Pure data (plain dicts and lists, JSON-ready) built from a :class:`~perfsquad.profiling.model.Profile`;
the editor's profile view draws it (an icicle graph and two tables, every entry a link to its
source). Shares are of :attr:`Profile.total_seconds`, the one total every other view uses.

The tree merges the sampled stacks (root first) by frame: a node is a function at the line its
caller was on when sampled, its value the wall seconds of the samples under it, ``idle`` the part
caught waiting. Nodes under ``min_share`` of the run are folded into their parent ("self" time)
and at most ``max_nodes`` are kept (widest first), so a long run stays small enough to draw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfsquad.profiling.analysis import classify, place, user_view
from perfsquad.profiling.model import FrameRef, Profile

MIN_SHARE = 0.002
MAX_NODES = 1500
TABLE_ROWS = 50


@dataclass
class _Node:
    frame: int
    value: float = 0.0
    idle: float = 0.0
    children: dict[tuple[str, str], _Node] = field(default_factory=dict)
    at_line: dict[int, float] = field(default_factory=dict)  # frame index -> seconds sampled there


def _merge(profile: Profile) -> _Node:
    """Stacks merged by function (name and file): the lines a sampler tells apart inside one
    function are one node, which links to the line that held most of its time."""
    root = _Node(-1)
    for stack, seconds, idle in profile.stacks:
        root.value += seconds
        root.idle += idle
        node = root
        for index in stack:
            ref = profile.frames[index]
            key = (ref.name, ref.file)
            child = node.children.get(key)
            if child is None:
                child = node.children[key] = _Node(index)
            child.value += seconds
            child.idle += idle
            child.at_line[index] = child.at_line.get(index, 0.0) + seconds
            node = child
    return root


def _frame_dict(ref: FrameRef) -> dict[str, Any]:
    return {"name": ref.name, "file": ref.file, "line": ref.line, "label": f"{ref.name} ({Path(ref.file).name})"}


def flame_tree(profile: Profile, min_share: float = MIN_SHARE, max_nodes: int = MAX_NODES) -> dict[str, Any] | None:
    """The merged stacks as nested dicts (``name``, ``file``, ``line``, ``label``, ``value``,
    ``idle``, ``share``, ``children``); None when the profile has no sampled stacks (cProfile)."""
    if not profile.stacks:
        return None
    merged = _merge(profile)
    total = merged.value
    if total <= 0:
        return None
    floor = total * min_share
    # Widest nodes first, across the whole tree, until the budget is spent: what is drawn is what
    # is wide enough to read, whatever its depth.
    kept: set[int] = {id(merged)}
    frontier = [merged]
    budget = max_nodes
    while frontier and budget > 0:
        frontier.sort(key=lambda n: n.value)
        node = frontier.pop()
        for child in node.children.values():
            if child.value >= floor and budget > 0:
                kept.add(id(child))
                frontier.append(child)
                budget -= 1

    def build(node: _Node) -> dict[str, Any]:
        if node.frame < 0:
            out: dict[str, Any] = {"name": "all", "file": "", "line": 0, "label": "all"}
        else:
            out = _frame_dict(profile.frames[max(node.at_line, key=lambda i: node.at_line[i])])
        children = [build(c) for c in sorted(node.children.values(), key=lambda c: -c.value) if id(c) in kept]
        out.update(
            value=round(node.value, 6),
            idle=round(node.idle, 6),
            share=round(node.value / total, 6),
            children=children,
        )
        return out

    return build(merged)


def _shown(root: Path | None) -> Callable[[str], str]:
    """File names as the user reads them: relative to the project root when inside it."""

    def show(file: str) -> str:
        if root is not None:
            try:
                return str(Path(file).resolve().relative_to(root.resolve()))
            except (ValueError, OSError):
                pass
        return file

    return show


def hot_functions(profile: Profile, root: Path | None = None, limit: int = TABLE_ROWS) -> list[dict[str, Any]]:
    """The project's functions by total time (the code the user can change first), then self time."""
    total = profile.total_seconds or 1.0
    view, show = user_view(profile, root), _shown(root)
    rows = sorted(view.functions, key=lambda f: (-f.total_seconds, -f.self_seconds))[:limit]
    return [
        {
            "name": f.name,
            "file": f.file,
            "line": f.line,
            "where": place(f.file, f.line, show),
            "total": round(f.total_seconds, 6),
            "self": round(f.self_seconds, 6),
            "idle": round(f.idle_seconds, 6),
            "share": round(f.total_seconds / total, 6),
            "self_share": round(f.self_seconds / total, 6),
            "calls": f.calls,
        }
        for f in rows
    ]


def hot_lines(profile: Profile, root: Path | None = None, limit: int = TABLE_ROWS) -> list[dict[str, Any]]:
    """The project's lines by time spent on them (their own time: what the gutter heat shows)."""
    total = profile.total_seconds or 1.0
    view, show = user_view(profile, root), _shown(root)
    rows = sorted(view.lines, key=lambda ln: -ln.self_seconds)[:limit]
    return [
        {
            "function": ln.function,
            "file": ln.file,
            "line": ln.line,
            "where": place(ln.file, ln.line, show),
            "self": round(ln.self_seconds, 6),
            "idle": round(ln.idle_seconds, 6),
            "share": round(ln.self_seconds / total, 6),
        }
        for ln in rows
        if ln.self_seconds > 0
    ]


def profile_view(profile: Profile, root: Path | None = None) -> dict[str, Any]:
    """Everything the editor's profile view shows, JSON-ready."""
    neck = classify(profile, root)
    tree = flame_tree(profile)
    return {
        "headline": neck.headline,
        "command": list(profile.command),
        "sampler": profile.sampler,
        "wall": profile.wall_seconds,
        "total": profile.total_seconds,
        "created": profile.created,
        "python": profile.python,
        "tree": tree,
        "tree_note": None
        if tree is not None
        else f"no sampled stacks in this profile ({profile.sampler}): profile with py-spy for a flame graph",
        "functions": hot_functions(profile, root),
        "lines": hot_lines(profile, root),
    }
