from __future__ import annotations

import ast

from perfsquad.analyzers.io._common import loop_names, repeat_scale
from perfsquad.context import Context
from perfsquad.rule import Invalid, Rule, fit
from perfsquad.semantics.io_catalog import FILE, op_names
from perfsquad.syntax import names_in


class FileOpenInLoop(Rule):
    """
    ## What it does
    Flags `open(...)` (or `Path.open`, `Path.read_text`, `Path.write_text`...) inside a loop when
    the file does not change from one iteration to the next: nothing in the call depends on the
    loop variable or on names assigned in the loop body.

    Not flagged: a loop over different files (`for path in paths: open(path)`).

    One open/close pair costs microseconds, so the finding matters only over many iterations:
    its confidence is one level below the loop's evidence of scale. It is reported by default
    when the loop runs over a parameter or a query result, and only with `--confidence low` over
    a literal, `range(<const>)`, a list the function fills itself or configuration, or at import.

    ## Why is this bad?
    Each `open` is a system call (path lookup, permission check, a new file descriptor) plus a
    Python file object with its buffer; a file opened for appending is flushed and closed on
    every iteration, so buffering never helps. Opening it once and writing every line through
    the same handle batches the writes.

    ## Example
    ```python
    for event in events:
        with open("audit.log", "a") as log:
            log.write(f"{event}\\n")
    ```

    ## Use instead
    ```python
    with open("audit.log", "a") as log:
        for event in events:
            log.write(f"{event}\\n")
    ```

    ## Fix safety
    No automatic fix: hoisting changes when data reaches the disk (buffered until the end instead
    of flushed every iteration: another reader, or a crash midway, sees less), and how long the
    file stays open and locked.

    ## Speedup
    Not calibrated by `bench/calibrate.py` (no automatic fix); saves one open/close system call
    pair and one flush per iteration.

    ## References
    - [open()](https://docs.python.org/3/library/functions.html#open)
    - [io: buffered streams](https://docs.python.org/3/library/io.html#buffered-streams)
    """

    code = "IO005"
    reads_project = True  # its findings follow calls into other modules (the workspace index)
    name = "file-open-in-loop"
    message = "The same file is opened on every iteration; open it once"
    node_types = (ast.Call,)
    call_names = op_names(lambda op: op.kind == FILE)
    effort_minutes = 5
    valid = (
        "def f(paths):\n    for p in paths:\n        with open(p) as fh:\n            print(fh.read())\n",
        "def f(events):\n    with open('log.txt', 'a') as fh:\n        for e in events:\n            fh.write(e)\n",
        "def f(names):\n    for n in names:\n        path = n + '.txt'\n        with open(path) as fh:\n            print(fh.read())\n",
        "def f(d, keys):\n    for k in keys:\n        d.get(k)\n",
        # a loop over two literal items: one open saved, twice
        "def f():\n    for e in ('start', 'stop'):\n        with open('log.txt', 'a') as fh:\n            fh.write(e)\n",
    )
    invalid = (
        Invalid("def f(events):\n    for e in events:\n        with open('log.txt', 'a') as fh:\n            fh.write(e)\n"),
        Invalid("def f(path, n):\n    return [open(path).read() for _ in range(n)]\n"),
        Invalid("from pathlib import Path\ndef f(items):\n    p = Path('cfg.json')\n    for i in items:\n        print(p.read_text(), i)\n"),
    )

    def check(self, call: ast.Call, ctx: Context) -> None:
        loops = ctx.io.loops(call)
        if not loops:
            return
        found = ctx.io.op_of(call)
        if found is None or found.op.kind != FILE:
            return
        # `open(...)`, `Path.open/read_text/...`; not `fh.read()` on a handle that is already open.
        if found.qualified not in ("builtins.open", "io.open") and not found.qualified.startswith("pathlib.Path."):
            return
        varying: set[str] = set()
        for loop in loops:
            varying |= loop_names(loop)
        if names_in(call) & varying:
            return
        # One open/close pair costs microseconds: it adds up only over many iterations, so the
        # finding is one level less sure than the loop's evidence of growth.
        scale = repeat_scale(ctx, call)
        ctx.report(
            self,
            call,
            message=fit("`{call}` opens the same file on every iteration; open it once", call=ctx.text(call.func)),
            confidence=scale.confidence.lowered(),
            evidence=f"{scale.evidence}; each iteration saves only one open/close system call pair",
        )
