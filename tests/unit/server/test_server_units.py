"""Unit tests of the server's pieces: the document store's scheduling (debounce, stale results,
incremental reuse, bounded memory), position conversions and settings parsing."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import pytest
from lsp_harness import SAMPLE, WAIT
from lsprotocol import types

from perfsquad.api import DocumentAnalyzer
from perfsquad.model import Position, Span
from perfsquad.server import documents as documents_module
from perfsquad.server.conversions import Encoding, LineIndex, apply_change, from_units, negotiate, to_units
from perfsquad.server.diagnostics import report_diagnostics
from perfsquad.server.documents import Analysis, Documents
from perfsquad.server.settings import parse_options


class FakeHost:
    """Stands in for the server: holds document texts, records publishes and warnings."""

    def __init__(self) -> None:
        self.texts: dict[str, tuple[str, int]] = {}
        self.published: list[tuple[str, int | None, list[types.Diagnostic]]] = []
        self.warnings: list[tuple[str, ...]] = []
        self.logs: list[str] = []
        self._event = asyncio.Event()

    def snapshot(self, uri: str) -> tuple[str, int | None] | None:
        return self.texts.get(uri)

    def present(self, uri: str, analysis: Analysis) -> Analysis:
        diagnostics = report_diagnostics(analysis.report, analysis.index, analysis.version)
        return dataclasses.replace(analysis, diagnostics=tuple(diagnostics))

    def publish(self, uri: str, version: int | None, diagnostics: list[types.Diagnostic]) -> None:
        self.published.append((uri, version, diagnostics))
        self._event.set()

    def log(self, kind: types.MessageType, message: str) -> None:
        self.logs.append(message)

    def config_warnings(self, warnings: tuple[str, ...]) -> None:
        self.warnings.append(warnings)

    def config_changed(self) -> None:
        pass

    async def published_version(self, uri: str, version: int | None) -> None:
        while not any(u == uri and v == version for u, v, _ in self.published):
            self._event.clear()
            await asyncio.wait_for(self._event.wait(), WAIT)


@pytest.fixture
def executor() -> Any:
    with ThreadPoolExecutor(max_workers=3) as pool:
        yield pool


def _store(host: FakeHost, executor: ThreadPoolExecutor, debounce_ms: int = 0) -> Documents:
    docs = Documents(host, executor, lambda: Encoding.UTF16)
    docs.options = parse_options({"debounceMs": debounce_ms})
    return docs


def _gated(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, list[str]]:
    """Analyses of texts with "# GATE" block until the event is set; analyzed paths are listed."""
    gate = threading.Event()
    update = DocumentAnalyzer.update
    analyzed: list[str] = []

    def gated(self: DocumentAnalyzer, text: str, **kwargs: Any) -> Any:
        analyzed.append(self.path)
        if "# GATE" in text:
            assert gate.wait(WAIT)
        return update(self, text, **kwargs)

    monkeypatch.setattr(DocumentAnalyzer, "update", gated)
    return gate, analyzed


async def _open_stuck(host: FakeHost, docs: Documents, uri: str, path: str) -> Any:
    """Open a document whose first analysis blocks (see ``_gated``); returns its state."""
    host.texts[uri] = (SAMPLE + "# GATE\n", 1)
    docs.open(uri, path)
    state = docs.get(uri)
    assert state is not None
    while not state.analyzing:
        await asyncio.sleep(0)
    return state


async def test_debounce_holds_analysis_until_it_expires_or_a_save(executor: ThreadPoolExecutor) -> None:
    host = FakeHost()
    docs = _store(host, executor, debounce_ms=60_000)
    host.texts["u"] = (SAMPLE, 1)
    docs.open("u", "/tmp/u.py")  # opening analyzes at once
    await host.published_version("u", 1)

    host.texts["u"] = (SAMPLE + "\n", 2)
    docs.schedule("u")  # a change: waits for the (one minute) debounce
    state = docs.get("u")
    assert state is not None and state.task is not None
    await asyncio.sleep(0)  # let the task start its debounce wait (a yield, not a timed wait)
    assert not state.task.done() and not state.analyzing
    assert [v for _, v, _ in host.published] == [1]

    docs.schedule("u", delay_ms=0)  # a save analyzes now; the pending debounce is superseded
    await host.published_version("u", 2)
    assert [v for _, v, _ in host.published] == [1, 2]


async def test_results_of_superseded_versions_are_dropped(
    executor: ThreadPoolExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate, _ = _gated(monkeypatch)
    host = FakeHost()
    docs = _store(host, executor)
    await _open_stuck(host, docs, "u", "/tmp/u.py")  # version 1 is now inside the (blocked) analyzer
    host.texts["u"] = (SAMPLE, 2)
    docs.schedule("u")
    gate.set()
    await host.published_version("u", 2)
    assert [v for _, v, _ in host.published] == [2]  # version 1's result was never published


async def _opened(host: FakeHost, docs: Documents, uri: str = "u") -> Any:
    """Open ``uri`` with SAMPLE and wait for its first diagnostics; its state."""
    host.texts[uri] = (SAMPLE, 1)
    docs.open(uri, f"/tmp/{uri}.py")
    await host.published_version(uri, 1)
    state = docs.get(uri)
    assert state is not None
    return state


async def test_edit_inside_a_function_is_analyzed_incrementally(executor: ThreadPoolExecutor) -> None:
    host = FakeHost()
    docs = _store(host, executor)
    state = await _opened(host, docs)
    assert not state.analyzer.last_was_incremental

    host.texts["u"] = (SAMPLE.replace("return counts", "return dict(counts)"), 2)
    docs.schedule("u")
    await host.published_version("u", 2)
    assert state.analyzer.last_was_incremental
    assert {d.code for d in host.published[-1][2]} == {"IDM001", "IDM010"}


async def test_close_while_analyzing_publishes_only_the_clearing(
    executor: ThreadPoolExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()
    update = DocumentAnalyzer.update

    def gated(self: DocumentAnalyzer, text: str, **kwargs: Any) -> Any:
        assert gate.wait(WAIT)
        return update(self, text, **kwargs)

    monkeypatch.setattr(DocumentAnalyzer, "update", gated)
    host = FakeHost()
    docs = _store(host, executor)
    host.texts["u"] = (SAMPLE, 1)
    docs.open("u", "/tmp/u.py")
    state = docs.get("u")
    assert state is not None and state.task is not None
    while not state.analyzing:
        await asyncio.sleep(0)
    docs.close("u")
    gate.set()
    await asyncio.wait_for(state.task, WAIT)
    assert host.published == [("u", None, [])]


async def test_only_recently_analyzed_documents_keep_their_parse(
    executor: ThreadPoolExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(documents_module, "WARM_DOCUMENTS", 3)
    host = FakeHost()
    docs = _store(host, executor)
    for n in range(6):
        host.texts[f"u{n}"] = (SAMPLE, 1)
        docs.open(f"u{n}", f"/tmp/u{n}.py")
        await host.published_version(f"u{n}", 1)
    warm = [n for n in range(6) if (s := docs.get(f"u{n}")) is not None and s.analyzer.report is not None]
    assert warm == [3, 4, 5]
    cold = docs.get("u0")
    assert cold is not None and cold.analysis is not None  # its results are still there for hover etc.
    host.texts["u0"] = (SAMPLE + "\n", 2)
    docs.schedule("u0")
    await host.published_version("u0", 2)
    assert {d.code for d in host.published[-1][2]} == {"IDM001", "IDM010"}


# --- conversions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [(Encoding.UTF16, [0, 1, 3, 4]), (Encoding.UTF8, [0, 1, 5, 7]), (Encoding.UTF32, [0, 1, 2, 3])],
)
def test_columns_round_trip(encoding: Encoding, expected: list[int]) -> None:
    line = "a😀é!"
    assert [to_units(line, c, encoding) for c in range(4)] == expected
    assert [from_units(line, u, encoding) for u in expected] == [0, 1, 2, 3]
    assert from_units(line, 999, encoding) == len(line)  # beyond the end: the end


def test_a_column_inside_a_character_maps_to_its_start() -> None:
    assert from_units("😀x", 1, Encoding.UTF16) == 0  # between the two UTF-16 units of the emoji
    assert from_units("😀x", 2, Encoding.UTF8) == 0


def test_apply_change_uses_lsp_line_breaks_only() -> None:
    text = "a = 1\r\nb\x0c = 2\u2028\rc = 3\n"
    change = types.TextDocumentContentChangePartial(
        range=types.Range(start=types.Position(2, 0), end=types.Position(2, 1)), text="C"
    )
    assert apply_change(text, change, Encoding.UTF16) == "a = 1\r\nb\x0c = 2\u2028\rC = 3\n"
    whole = types.TextDocumentContentChangeWholeDocument(text="x")
    assert apply_change(text, whole, Encoding.UTF16) == "x"
    beyond = types.TextDocumentContentChangePartial(
        range=types.Range(start=types.Position(9, 0), end=types.Position(9, 0)), text="tail\n"
    )
    assert apply_change(text, beyond, Encoding.UTF16) == text + "tail\n"


def test_line_index_ranges() -> None:
    index = LineIndex.of("x = '😀'\nyy\n", Encoding.UTF16)
    assert index.range(Span(Position(1, 5), Position(1, 7))) == types.Range(
        start=types.Position(0, 5), end=types.Position(0, 8)
    )
    assert index.to_span(types.Range(start=types.Position(0, 8), end=types.Position(1, 2))) == Span(
        Position(1, 7), Position(2, 2)
    )
    assert index.end() == types.Position(2, 0)


def test_negotiation_preference() -> None:
    assert negotiate(["utf-16", "utf-8", "utf-32"]) is Encoding.UTF32
    assert negotiate(["utf-16", "utf-8"]) is Encoding.UTF8
    assert negotiate(None) is Encoding.UTF16
    assert negotiate(["latin-1"]) is Encoding.UTF16


def test_settings_parsing() -> None:
    options = parse_options({"perfsquad": {"debounceMs": 40, "extendSelect": ["ALG"], "per_file_ignores": {}}})
    assert options.debounce_ms == 40 and not options.warnings
    assert set(options.rules) == {"extend-select", "per-file-ignores"}
    assert parse_options(None).debounce_ms == 150
    bad = parse_options({"debounceMs": -5})
    assert bad.debounce_ms == 150 and "debounceMs" in bad.warnings[0]
    assert parse_options(["not", "a", "dict"]).warnings


def test_tcp_address_parsing() -> None:
    from perfsquad.server import parse_tcp

    assert parse_tcp("127.0.0.1:2087") == ("127.0.0.1", 2087)
    assert parse_tcp("[::1]:9000") == ("::1", 9000)
    assert parse_tcp(":0") == ("127.0.0.1", 0)
    for bad in ("localhost", "host:port", "h:70000"):
        with pytest.raises(ValueError):
            parse_tcp(bad)
    with socket.socket() as s:  # the server binds what we parse
        s.bind(parse_tcp("127.0.0.1:0"))


# --- under load (issue #19) ------------------------------------------------------------------


async def test_edits_coalesce_and_never_starve_another_document(
    executor: ThreadPoolExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """50 changes to a document whose analysis is stuck: one analysis runs, ONE more follows (of
    the newest text); meanwhile another document is analyzed and published (issue #19: every
    change queued an analysis, the pool's workers all waited on the stuck document)."""
    gate, analyzed = _gated(monkeypatch)
    host = FakeHost()
    docs = _store(host, executor)
    state = await _open_stuck(host, docs, "big", "/tmp/big.py")
    for version in range(2, 52):
        host.texts["big"] = (SAMPLE + f"# GATE\nX = {version}\n", version)
        docs.schedule("big")
        await asyncio.sleep(0)
    host.texts["small"] = (SAMPLE, 1)
    docs.open("small", "/tmp/small.py")
    await host.published_version("small", 1)  # while "big" is still stuck
    assert not gate.is_set() and state.analyzing
    gate.set()
    await host.published_version("big", 51)
    assert [v for u, v, _ in host.published if u == "big"] == [51]
    assert analyzed.count("/tmp/big.py") == 2  # the stuck text, then the newest: nothing between


async def test_a_change_after_a_pause_is_analyzed_without_the_debounce(executor: ThreadPoolExecutor) -> None:
    """Adaptive debounce: the last analysis was fast and the document was quiet for longer than
    the debounce: the change is analyzed at once. A change right after another waits."""
    host = FakeHost()
    docs = _store(host, executor, debounce_ms=60_000)
    host.texts["u"] = (SAMPLE, 1)
    docs.open("u", "/tmp/u.py")
    await host.published_version("u", 1)
    state = docs.get("u")
    assert state is not None and state.last_seconds < 60
    state.changed_at -= 120  # (the last change was two minutes ago)
    host.texts["u"] = (SAMPLE + "\n", 2)
    docs.schedule("u")
    await host.published_version("u", 2)  # no minute-long wait
    host.texts["u"] = (SAMPLE + "\n\n", 3)
    docs.schedule("u")  # right after the previous change: debounced
    await asyncio.sleep(0)
    assert state.task is not None and not state.task.done() and not state.analyzing


async def test_closing_a_document_releases_its_memory(executor: ThreadPoolExecutor, tmp_path: Any) -> None:
    """After a close nothing keeps the document's text or trees: not its analyzer, not the shared
    line tables, not the workspace index's editor copy (issue #19: a 3.9 MB file kept 851 MB)."""
    from perfsquad import source as source_module
    from perfsquad.semantics.index import ProjectIndex

    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    text = SAMPLE * 1000  # large enough for a shared line table
    path = tmp_path / "big.py"
    path.write_text(SAMPLE, encoding="utf-8")
    host = FakeHost()
    docs = _store(host, executor)
    host.texts["big"] = (text, 1)
    docs.open("big", str(path))
    await host.published_version("big", 1)
    state = docs.get("big")
    assert state is not None and state.analyzer._inc is not None
    index = state.analyzer._inc.project
    assert isinstance(index, ProjectIndex)
    assert [t for _, t in index._pending.values()] == [text]  # the editor's text, summarized when asked
    docs.close("big")
    assert state.analyzer._inc is None and state.analysis is None
    assert not any(table.text is text for table in source_module._RECENT.values())
    assert [t for _, t in index._pending.values()] == [""]  # the saved version, read when asked
    index._flush(next(iter(index._pending)))
    module = next(iter(index._modules.values()))
    assert set(module.functions) == {"big.total", "big.names"}  # the saved file's (one SAMPLE)
    index.compact()  # copies: equal data, new objects
    copy = index._modules[module.module]
    assert copy is not module and copy.to_data() == module.to_data()


async def test_a_document_being_edited_is_prepared_for_its_next_edit_when_idle(executor: ThreadPoolExecutor) -> None:
    """A document only opened is not prepared; after its first change is published, a worker
    prepares its analyzer (see ``DocumentAnalyzer.prepare``); a change before that skips it."""
    host = FakeHost()
    docs = _store(host, executor)
    state = await _opened(host, docs)
    await asyncio.sleep(0.05)
    assert not state.analyzer.prepared  # opened, never edited
    host.texts["u"] = (SAMPLE + "\n", 2)
    docs.schedule("u", delay_ms=0)
    await host.published_version("u", 2)
    for _ in range(200):
        if state.analyzer.prepared:
            break
        await asyncio.sleep(0.01)
    inc = state.analyzer._inc
    assert state.analyzer.prepared and inc is not None and inc._calls is not None and inc.incremental_error is None
    analyzer = DocumentAnalyzer("/tmp/v.py")
    analyzer.update(SAMPLE, want_fixes=False, metrics=False)
    late = SimpleNamespace(thread_lock=threading.Lock(), generation=2, analyzer=analyzer)
    documents_module.prepare_analyzer(late, analyzer, 1)  # type: ignore[arg-type]  # generation 1 is stale
    assert analyzer._inc is not None and analyzer._inc._idents is None
    documents_module.prepare_analyzer(late, analyzer, 2)  # type: ignore[arg-type]
    assert analyzer._inc._idents is not None
