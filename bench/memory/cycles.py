"""Reference cycles through parent/child links: every tree built here is freed only by the collector.

`perfsquad leakcheck --callable bench/memory/cycles.py:one_request` counts, per iteration, the
objects the cycle collector freed and the lines that allocated them (Node at line `self.children = []`
and the Node instances themselves); the fix is a `weakref` back link (`build_weak`).
Usage: python bench/memory/cycles.py [TREES]  (default 2,000 trees of 1 + 20 nodes).
"""

from __future__ import annotations

import gc
import sys
import weakref


class Node:
    def __init__(self, parent: Node | None = None) -> None:
        self.parent = parent
        self.children: list[Node] = []
        if parent is not None:
            parent.children.append(self)


class WeakNode:
    def __init__(self, parent: WeakNode | None = None) -> None:
        self.parent = weakref.ref(parent) if parent is not None else None
        self.children: list[WeakNode] = []
        if parent is not None:
            parent.children.append(self)


def build(width: int = 20) -> Node:
    root = Node()
    for _ in range(width):
        Node(root)
    return root


def build_weak(width: int = 20) -> WeakNode:
    root = WeakNode()
    for _ in range(width):
        WeakNode(root)
    return root


def one_request(trees: str = "50") -> int:
    """One unit of work: builds and drops `trees` trees (21 nodes, 42 objects each in cycles)."""
    return sum(len(build().children) for _ in range(int(trees)))


if __name__ == "__main__":
    print(one_request(sys.argv[1] if len(sys.argv) > 1 else "2000"))
    gc.collect()  # the trees still waiting for a collection: every one is counted, run after run
