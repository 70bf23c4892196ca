"""I/O rules (IO): N+1 queries and calls, blocking I/O in async code."""

from __future__ import annotations

from perfsquad.analyzers.base import Rule
from perfsquad.analyzers.io.await_in_loop import AwaitInLoop
from perfsquad.analyzers.io.blocking_call_in_async import BlockingCallInAsync
from perfsquad.analyzers.io.connection_in_loop import ConnectionInLoop
from perfsquad.analyzers.io.file_open_in_loop import FileOpenInLoop
from perfsquad.analyzers.io.insert_in_loop import InsertInLoop
from perfsquad.analyzers.io.query_in_loop import QueryInLoop

RULES: tuple[type[Rule], ...] = (
    QueryInLoop,
    AwaitInLoop,
    ConnectionInLoop,
    BlockingCallInAsync,
    FileOpenInLoop,
    InsertInLoop,
)
