import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import {
  AUDIT_COMMANDS,
  advertisedCommands,
  benchmarkArguments,
  benchmarkCommandLine,
  benchmarkNameError,
  compareArguments,
  leakcheckArguments,
  missingCommandMessage,
  positionArguments,
  profileArguments,
  profileTarget,
  REPORT_VIEWS,
  resultSummary,
  alreadyShown,
  RUNS_WORKSPACE_CODE,
  SERVER_COMMANDS,
  untrustedRefusal,
} from "../src/commands";
import { pytestNodeAt } from "../src/pytest";
import { applyStatus, statusText } from "../src/status";

const TESTS = [
  "import pytest",
  "",
  "def helper():",
  "    return 1",
  "",
  "class TestMath:",
  "    @pytest.mark.slow",
  "    def test_add(self):",
  "        x = helper()",
  "",
  "        assert x == 1",
  "",
  "    def setup_method(self):",
  "        pass",
  "",
  "async def test_top(",
  "    a,",
  "):",
  "    def inner():",
  "        return 2",
  "    assert inner() == 2",
].join("\n");

test("pytest node id of the test around the cursor", () => {
  assert.equal(pytestNodeAt(TESTS, 8, "tests/test_m.py"), "tests/test_m.py::TestMath::test_add");
  assert.equal(pytestNodeAt(TESTS, 9, "tests/test_m.py"), "tests/test_m.py::TestMath::test_add"); // blank line inside
  assert.equal(pytestNodeAt(TESTS, 7, "tests/test_m.py"), "tests/test_m.py::TestMath::test_add"); // on the def
  assert.equal(pytestNodeAt(TESTS, 19, "t.py"), "t.py::test_top"); // inside a nested function of a test
  assert.equal(pytestNodeAt(TESTS, 20, "t.py"), "t.py::test_top"); // after a multi-line signature
});

test("no node id outside a test function", () => {
  assert.equal(pytestNodeAt(TESTS, 3, "t.py"), undefined); // helper()
  assert.equal(pytestNodeAt(TESTS, 13, "t.py"), undefined); // setup_method
  assert.equal(pytestNodeAt(TESTS, 0, "t.py"), undefined);
  assert.equal(pytestNodeAt(TESTS, 99, "t.py"), undefined);
});

test("status: the server's notification sets state and headline; null clears; junk is ignored", () => {
  let view = applyStatus({ clientState: "running" }, { state: "profiling", headline: "CPU-bound · 82% in 3 functions" });
  assert.equal(statusText(view).text, "$(pulse) perfsquad: profiling · CPU-bound · 82% in 3 functions");
  view = applyStatus(view, { state: null });
  assert.equal(statusText(view).text, "$(pulse) perfsquad · CPU-bound · 82% in 3 functions");
  assert.match(statusText(view).tooltip, /Last profile: CPU-bound/);
  assert.deepEqual(applyStatus(view, "nonsense"), view);
  assert.deepEqual(applyStatus(view, { state: 3 }), view);
  assert.equal(statusText({ clientState: "failed", headline: "old" }).text, "$(error) perfsquad: failed");
});

test("server commands: advertised list, and a clear message for a missing one", () => {
  const init = { capabilities: { executeCommandProvider: { commands: ["perfsquad.fixAll", "perfsquad.profile", 3] } } };
  assert.deepEqual(advertisedCommands(init), ["perfsquad.fixAll", "perfsquad.profile"]);
  assert.deepEqual(advertisedCommands(undefined), []);
  const msg = missingCommandMessage("perfsquad.leakcheck", advertisedCommands(init));
  assert.match(msg, /does not offer "perfsquad\.leakcheck"/);
  assert.match(msg, /It offers: perfsquad\.fixAll, perfsquad\.profile\./);
});

test("profile target and arguments", () => {
  assert.equal(profileTarget("", "/ws/app.py", "/ws"), "/ws/app.py");
  assert.equal(profileTarget("${file} --n 10", "/ws/app.py", "/ws"), "/ws/app.py --n 10");
  assert.equal(profileTarget("-m app.main", "/ws/app.py", "/ws"), "-m app.main");
  // One options object with `command` (perfsquad/server/ext_profile.py `_options`).
  assert.deepEqual(profileArguments("t.py::test_x", { sampler: "cprofile", cwd: "/ws" }), [
    { command: "t.py::test_x", sampler: "cprofile", cwd: "/ws" },
  ]);
  assert.deepEqual(profileArguments("/ws/app.py", { sampler: "auto" }), [{ command: "/ws/app.py", sampler: "auto" }]);
});

test("leakcheck and position-based command arguments", () => {
  // Exactly one of script/module (perfsquad/server/ext_memory.py `leak_options`).
  assert.deepEqual(leakcheckArguments("/ws/app.py", "", "/ws"), [{ script: "/ws/app.py", cwd: "/ws" }]);
  assert.deepEqual(leakcheckArguments("/ws/app.py", "-m app.main --n 3", undefined), [{ module: "app.main" }]);
  // {uri, position[, run]} (perfsquad/server/ext_audit.py `_target`).
  assert.deepEqual(positionArguments("file:///ws/a.py", { line: 3, character: 4 }, undefined), [
    { uri: "file:///ws/a.py", position: { line: 3, character: 4 } },
  ]);
  assert.deepEqual(positionArguments("file:///ws/a.py", { line: 0, character: 0 }, "-m app")[0], {
    uri: "file:///ws/a.py",
    position: { line: 0, character: 0 },
    run: "-m app",
  });
});

test("a result or an error the server already showed is not shown again (Leak Check: one message)", () => {
  assert.equal(alreadyShown({ verdict: "grows", summary: "perfsquad: leak check of run.py: LEAKS", shown: true }), true);
  assert.equal(alreadyShown({ code: -32803, message: "perfsquad: leak check failed: timed out", data: { shown: true } }), true);
  assert.equal(alreadyShown({ headline: "I/O-bound" }), false);
  assert.equal(alreadyShown({ message: "boom", data: { traceback: [] } }), false);
  assert.equal(alreadyShown(null), false);
  assert.equal(alreadyShown("text"), false);
});

test("Estimate ROI's summary is what the notification says (not 'details in the output')", () => {
  const result = { summary: "ROI at text.py: IDM001 line 27: 0.2 s", estimates: [] };
  assert.equal(resultSummary("Estimate ROI at Cursor", result), "perfsquad: Estimate ROI at Cursor: ROI at text.py: IDM001 line 27: 0.2 s");
});

test("result summaries", () => {
  assert.equal(resultSummary("Fix All", false), "perfsquad: Fix All: nothing to do.");
  assert.equal(resultSummary("Profile", { headline: "I/O-bound · 70% waiting" }), "perfsquad: Profile: I/O-bound · 70% waiting");
  assert.equal(resultSummary("Audit", "report written\nmore"), "perfsquad: Audit: report written");
});

test("no palette command id collides with a server command (languageclient registers those itself)", () => {
  // out-test/test/ -> the package root
  const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8"));
  const contributed: string[] = manifest.contributes.commands.map((c: { command: string }) => c.command);
  const server = new Set<string>([
    ...Object.values(SERVER_COMMANDS),
    // what the server advertised in the real-VS-Code test (perfsquad/server/ext_*.py)
    "perfsquad.showFunctionMetrics", "perfsquad.cancelAudit", "perfsquad.cancelLeakcheck",
    "perfsquad.clearLeakcheck", "perfsquad.loadProfile",
  ]);
  assert.deepEqual(contributed.filter((c) => server.has(c)), []);
  assert.ok(contributed.length >= 12);
});

test("an untrusted workspace starts no command that runs its code (#19)", () => {
  for (const command of [SERVER_COMMANDS.profile, SERVER_COMMANDS.auditPerformance, SERVER_COMMANDS.quickDiagnose,
    SERVER_COMMANDS.leakcheck, SERVER_COMMANDS.benchmark]) {
    assert.ok(RUNS_WORKSPACE_CODE.includes(command));
    assert.match(untrustedRefusal(command, false, "Profile") ?? "", /not trusted: nothing was run/);
    assert.equal(untrustedRefusal(command, true, "Profile"), undefined);
  }
  for (const command of [SERVER_COMMANDS.optimizationRoadmap, SERVER_COMMANDS.estimateRoi, SERVER_COMMANDS.fixAll]) {
    assert.equal(untrustedRefusal(command, false, "x"), undefined); // (analysis only: runs nothing)
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8"));
  const untrusted = manifest.capabilities.untrustedWorkspaces;
  assert.equal(untrusted.supported, "limited");
  assert.match(untrusted.description, /never runs it/);
  assert.deepEqual(untrusted.restrictedConfigurations.sort(), [
    "perfsquad.importStrategy", "perfsquad.interpreter", "perfsquad.profileCommand",
  ]);
});

test("benchmark and compare arguments", () => {
  assert.deepEqual(benchmarkArguments("  python app.py --n 5 ", " before ", "/ws"), [
    { command: "python app.py --n 5", name: "before", cwd: "/ws" },
  ]);
  assert.deepEqual(benchmarkArguments("make bench", "after", undefined), [{ command: "make bench", name: "after" }]);
  assert.equal(benchmarkNameError("before"), undefined);
  assert.equal(benchmarkNameError("v1.2_after-fix"), undefined);
  assert.ok(benchmarkNameError("../escape"));
  assert.ok(benchmarkNameError(""));
  assert.ok(benchmarkNameError("with space"));
  assert.deepEqual(compareArguments("before", "after"), [{ before: "before", after: "after" }]);
  assert.equal(benchmarkCommandLine("", "/venv/bin/python", "/ws/app.py", "/ws"), "/venv/bin/python /ws/app.py");
  assert.equal(benchmarkCommandLine("-m app.main", "python3", "/ws/app.py", "/ws"), "python3 -m app.main");
  assert.equal(benchmarkCommandLine("pytest -q ${workspaceFolder}/tests", "python3", "/ws/a.py", "/ws"), "pytest -q /ws/tests");
});

test("the audit and the roadmap open as report views, from their palette entries (#20)", () => {
  assert.deepEqual([...REPORT_VIEWS].sort(), [SERVER_COMMANDS.auditPerformance, SERVER_COMMANDS.optimizationRoadmap].sort());
  const palette = new Map(AUDIT_COMMANDS.map((c) => [c.server, c.id]));
  assert.equal(palette.get(SERVER_COMMANDS.optimizationRoadmap), "perfsquad.runOptimizationRoadmap");
  assert.equal(palette.get(SERVER_COMMANDS.auditPerformance), "perfsquad.runAuditPerformance");
});
