"""End to end: position encodings (utf-16, utf-8, utf-32) with emoji and non-ASCII identifiers.

Expected columns are computed here from the text (the test's own code-unit count), never taken
from the server's conversion code.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lsp_harness import (
    ProbeClient,
    apply_text_edits,
    by_code,
    initialize,
    lsp_fixture,
    unit_length,
    workspace_edits,
)
from lsprotocol import types

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning")
client = lsp_fixture()

# `d` and `dd` (the rename below) are annotated dicts: IDM006 reports `.keys()` by default only on
# a receiver known to be a dict.
TEXT = """\
def größe(werte):
    ergebnisse = []
    for wert in werte:
        ergebnisse.append(wert)
    return ergebnisse


def emoji(d: dict, dd: dict):
    if "😀🐍" in d.keys(): return "ja"
    for ключ in d.keys(): print(ключ)
    return "😀"
"""
LINES = TEXT.splitlines()


def units(line: int, column: int, encoding: str) -> int:
    """Code units of ``LINES[line][:column]`` (column in code points)."""
    return sum(unit_length(ch, encoding) for ch in LINES[line][:column])


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8", "utf-32"])
async def test_ranges_in_each_encoding(client: ProbeClient, tmp_path: Path, encoding: str) -> None:
    result = await initialize(client, tmp_path, encodings=[encoding])
    assert result.capabilities.position_encoding == encoding
    uri = (tmp_path / "unicode.py").as_uri()
    client.open(uri, TEXT)
    diagnostics = await client.diagnostics_for(uri, version=1)

    emoji_line = next(d for d in diagnostics if d.code == "IDM006" and d.range.start.line == 8)
    start, end = LINES[8].index("d.keys()"), LINES[8].index("d.keys()") + len("d.keys()")
    assert emoji_line.range == types.Range(
        start=types.Position(line=8, character=units(8, start, encoding)),
        end=types.Position(line=8, character=units(8, end, encoding)),
    )
    cyrillic = next(d for d in diagnostics if d.code == "IDM006" and d.range.start.line == 9)
    assert cyrillic.range.start.character == units(9, LINES[9].index("d.keys()"), encoding)
    if encoding == "utf-8":
        assert emoji_line.range.start.character == 21 and cyrillic.range.start.character == 20
    elif encoding == "utf-16":
        assert emoji_line.range.start.character == 17 and cyrillic.range.start.character == 16

    # Hover in the middle of a non-ASCII function name (`größe`: after `grö`), in client units.
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=0, character=units(0, 7, encoding)),
        )
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "größe" in hover.contents.value
    assert hover.range == types.Range(
        start=types.Position(line=0, character=4), end=types.Position(line=0, character=units(0, 9, encoding))
    )

    # An incremental edit placed in client units, after the emoji: one more emoji in the string.
    after_emoji = LINES[8].index('🐍"') + 1
    at = types.Position(line=8, character=units(8, after_emoji, encoding))
    client.change(uri, 2, types.TextDocumentContentChangePartial(range=types.Range(start=at, end=at), text="🎉"))
    edited = await client.diagnostics_for(uri, version=2)
    moved = next(d for d in edited if d.code == "IDM006" and d.range.start.line == 8)
    assert moved.range.start.character == emoji_line.range.start.character + unit_length("🎉", encoding)

    # The quick fix's edits (built when asked for) are in client units too: `d.keys()` becomes `d`.
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=moved.range,
            context=types.CodeActionContext(diagnostics=[moved]),
        )
    )
    fix = next(a for a in actions or [] if isinstance(a, types.CodeAction) and a.title.startswith("Fix IDM006"))
    edits = workspace_edits((await client.code_action_resolve_async(fix)).edit, uri)
    edited_text = TEXT.replace('"😀🐍"', '"😀🐍🎉"')
    fixed = apply_text_edits(edited_text, edits, encoding)
    assert fixed == edited_text.replace('"😀🐍🎉" in d.keys()', '"😀🐍🎉" in d')


async def test_server_prefers_utf32_then_utf8_then_utf16(client: ProbeClient, tmp_path: Path) -> None:
    offered = {"neovim": ["utf-16", "utf-8", "utf-32"], "visual-studio-code": ["utf-16", "utf-8"]}[client.profile]
    result = await initialize(client, tmp_path, encodings=offered)
    assert result.capabilities.position_encoding == ("utf-32" if "utf-32" in offered else "utf-8")


async def test_default_profile_encoding(client: ProbeClient, tmp_path: Path) -> None:
    # Neovim 0.11 offers utf-8, utf-16, utf-32 (we take utf-32); VS Code 1.65 offers none: utf-16.
    result = await initialize(client, tmp_path)
    assert result.capabilities.position_encoding == {"neovim": "utf-32", "visual-studio-code": "utf-16"}[client.profile]


async def test_edits_after_a_form_feed_land_on_the_right_line(client: ProbeClient, tmp_path: Path) -> None:
    """LSP lines end at \\r\\n, \\r or \\n only: a form feed (common between functions) is not one."""
    await initialize(client, tmp_path)
    text = TEXT.replace("\n\n\ndef emoji", "\n\n\x0c\ndef emoji")
    lines = text.split("\n")
    uri = (tmp_path / "formfeed.py").as_uri()
    client.open(uri, text)
    before = by_code(await client.diagnostics_for(uri, version=1), "IDM001")
    assert before.range.start.line == 2

    # Rename `d` to `dd` in `for ключ in d.keys()` (line 10 in LSP terms; 11 to str.splitlines).
    assert lines[9].startswith("    for ключ in d.keys()")
    column = lines[9].index("d.keys()")
    at = types.Range(start=types.Position(line=9, character=column), end=types.Position(line=9, character=column + 1))
    client.change(uri, 2, types.TextDocumentContentChangePartial(range=at, text="dd"))
    after = await client.diagnostics_for(uri, version=2)
    keys = [d for d in after if d.code == "IDM006"]
    assert [d.range.start.line for d in keys] == [8, 9]
    assert keys[1].range.start.character == column
    assert keys[1].range.end.character - column == len("dd.keys()")  # the edit landed in this call
    assert len(after) == 3  # nothing else was created by a misplaced edit
