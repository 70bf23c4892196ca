"""The server's roadmap command never writes through a symlink a cloned repository ships as
``.perfsquad/roadmap.md`` (issue #19): it answers, says why no Markdown copy was kept, and the
link's target is untouched."""

from __future__ import annotations

from pathlib import Path

from faults import LOOP
from lsp_harness import ProbeClient, initialize, lsp_fixture
from lsprotocol import types

client = lsp_fixture()


async def test_the_roadmap_command_refuses_a_symlinked_roadmap_md(client: ProbeClient, tmp_path: Path) -> None:
    victim = tmp_path / "victim.md"
    victim.write_text("precious\n")
    repo = tmp_path / "repo"
    (repo / ".perfsquad").mkdir(parents=True)
    (repo / "mod.py").write_text(LOOP)
    (repo / ".perfsquad" / "roadmap.md").symlink_to(victim)
    await initialize(client, repo)
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="perfsquad.optimizationRoadmap", arguments=[])
    )
    assert victim.read_text() == "precious\n", "the server wrote through roadmap.md"
    assert (repo / ".perfsquad" / "roadmap.md").is_symlink()
    assert isinstance(result, dict) and result["items"] and result["markdown"] is None
    assert "roadmap.md not written: refusing to write" in result["summary"] and "symlink" in result["summary"]
