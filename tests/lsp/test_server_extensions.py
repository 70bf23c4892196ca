"""End to end: the server's extension points, through a probe extension package (tests/lsp/lsp_probe).

The probe server registers ``lsp_probe.ext_*`` with the same discovery that registers
``perfsquad/server/ext_*.py``; each test drives one hook through real LSP messages.
"""

from __future__ import annotations

import pytest
from lsp_harness import PROBE_SERVER, SAMPLE, ProbeClient, by_code, lsp_fixture
from lsprotocol import types

pytestmark = [
    pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning"),
    pytest.mark.asyncio(loop_scope="module"),
]
client = lsp_fixture(PROBE_SERVER, shared=True)


def _text(hover: types.Hover | None) -> str:
    assert hover is not None
    assert isinstance(hover.contents, types.MarkupContent)
    return hover.contents.value


async def _open(client: ProbeClient, name: str, text: str = SAMPLE) -> str:
    uri = (client.root / name).as_uri()
    client.open(uri, text)
    await client.diagnostics_for(uri, version=1)
    return uri


async def _hover(client: ProbeClient, uri: str, line: int, character: int) -> types.Hover | None:
    position = types.Position(line=line, character=character)
    params = types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position)
    return await client.text_document_hover_async(params)


async def test_discovery_registers_ext_modules_only(client: ProbeClient) -> None:
    registered = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="probe.extensions", arguments=[])
    )
    assert "lsp_probe.ext_probe" in registered
    assert not any(name.endswith(("helper", "ext_broken")) for name in registered)
    failure = await client.wait_for("log", lambda p: "lsp_probe.ext_broken" in p.message)
    assert failure.type == types.MessageType.Error and "broken on purpose" in failure.message


async def test_hover_providers_add_text_and_a_crashing_one_is_isolated(client: ProbeClient) -> None:
    uri = await _open(client, "hover.py", SAMPLE + "\nX = 1  # CRASH_PROVIDER\n")
    text = _text(await _hover(client, uri, 0, 5))  # `total`: our function hover + the probe's
    assert "Cyclomatic complexity" in text
    assert "probe hover at 1:5" in text
    assert "helper was registered" not in text

    mark = client.mark()
    crashed_line = _text(await _hover(client, uri, 13, 0))
    assert "probe hover at 14:0" in crashed_line  # the other provider still answered
    log = await client.wait_for("log", lambda p: "crashed on purpose" in p.message, since=mark)
    assert log.type == types.MessageType.Error
    again = _text(await _hover(client, uri, 13, 1))
    assert "probe hover at 14:1" in again
    assert len([p for p in client.seen("log", mark) if "crashed on purpose" in p.message]) == 1  # logged once


async def test_lens_and_inlay_providers(client: ProbeClient) -> None:
    quadratic = "\n\ndef pairs(xs):\n    n = 0\n    for a in xs:\n        for b in xs:\n            n += a == b\n    return n\n"
    uri = await _open(client, "lens.py", SAMPLE + quadratic)
    lenses = await client.text_document_code_lens_async(
        types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    titles = [lens.command.title for lens in lenses or [] if lens.command]
    assert "probe lens total" in titles and "probe lens names" in titles
    ours = [t for t in titles if t.startswith("estimated")]  # ours are still there, on the O(n^2) function only
    assert ours == ["estimated O(n^2) · cyclomatic 3 · loop depth 2"], titles

    visible = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=12, character=0))
    hints = await client.text_document_inlay_hint_async(
        types.InlayHintParams(text_document=types.TextDocumentIdentifier(uri=uri), range=visible)
    )
    assert hints is not None
    by_label = {h.label: h.position for h in hints}
    assert by_label == {
        " probe:total": types.Position(line=0, character=9),
        " probe:names": types.Position(line=7, character=9),
    }
    only_first = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=3, character=0))
    hints = await client.text_document_inlay_hint_async(
        types.InlayHintParams(text_document=types.TextDocumentIdentifier(uri=uri), range=only_first)
    )
    assert [h.label for h in hints or []] == [" probe:total"]


async def test_finding_weighers_adjust_what_is_published_and_hovered(client: ProbeClient) -> None:
    uri = (client.root / "weighed.py").as_uri()
    client.open(uri, SAMPLE)
    diagnostics = await client.diagnostics_for(uri, version=1)
    assert by_code(diagnostics, "IDM001").severity == types.DiagnosticSeverity.Error
    assert by_code(diagnostics, "IDM010").severity == types.DiagnosticSeverity.Warning
    idm001 = by_code(diagnostics, "IDM001").range.start
    assert "probe weigher escalated this" in _text(await _hover(client, uri, idm001.line, idm001.character))


async def test_extra_diagnostics_and_refresh_overlays(client: ProbeClient) -> None:
    uri = await _open(client, "overlay.py")
    mark = client.mark()
    applied = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="probe.overlay", arguments=[uri, "hot line"])
    )
    assert applied is True
    diagnostics = await client.diagnostics_for(uri, since=mark)
    hot = by_code(diagnostics, "HOT001")
    assert hot.message == "hot line" and hot.source == "perfsquad"
    assert hot.severity == types.DiagnosticSeverity.Information
    assert hot.range == types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=3))
    assert any(d.source == "probe" and d.message == "raw hot line" for d in diagnostics)
    assert {"IDM001", "IDM010"} <= {d.code for d in diagnostics}  # ours are kept

    # Refresh requests follow the client's capabilities: VS Code 1.65 refreshes code lenses,
    # Neovim 0.11 inlay hints (and not code lenses).
    if client.profile == "neovim":
        await client.wait_for("inlay-refresh", since=mark)
        assert not client.seen("lens-refresh", mark)
    else:
        await client.wait_for("lens-refresh", since=mark)
        assert not client.seen("inlay-refresh", mark)

    # Extras survive edits (merged into every publish) until the extension removes them.
    client.replace_all(uri, 2, SAMPLE + "\n")
    assert "HOT001" in {d.code for d in await client.diagnostics_for(uri, version=2)}
    mark = client.mark()
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="probe.clearOverlay", arguments=[uri])
    )
    assert "HOT001" not in {d.code for d in await client.diagnostics_for(uri, since=mark)}
