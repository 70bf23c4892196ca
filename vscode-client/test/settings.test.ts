import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigLike, changeAction, readSettings, serverSettings } from "../src/settings";

/** A stand-in for vscode.WorkspaceConfiguration: `user` holds what the user set, `defaults` the rest. */
function config(user: Record<string, unknown>, defaults: Record<string, unknown> = {}): ConfigLike {
  return {
    get<T>(key: string): T | undefined {
      return (key in user ? user[key] : defaults[key]) as T | undefined;
    },
    inspect<T>(key: string) {
      return { defaultValue: defaults[key] as T, globalValue: user[key] as T | undefined };
    },
  };
}

const PACKAGE_DEFAULTS = {
  enable: true,
  interpreter: [],
  importStrategy: "useBundled",
  profiler: "auto",
  profileCommand: "",
  showInlayHints: true,
  profileFocus: false,
};

test("defaults: enabled, bundled server, auto profiler, hints shown, nothing sent to the server", () => {
  const s = readSettings(config({}, PACKAGE_DEFAULTS));
  assert.equal(s.enable, true);
  assert.equal(s.importStrategy, "useBundled");
  assert.equal(s.profiler, "auto");
  assert.equal(s.showInlayHints, true);
  assert.deepEqual(s.interpreter, []);
  assert.deepEqual(serverSettings(s), {});
  assert.deepEqual(s.warnings, []);
});

test("rule settings the user set are sent with [tool.perfsquad] keys, normalized", () => {
  const s = readSettings(
    config({ select: ["idm", " ALG001 "], ignore: ["IDM004"], severity: { idm: "Info", ALG002: "error" } }, PACKAGE_DEFAULTS),
  );
  assert.deepEqual(serverSettings(s), {
    select: ["IDM", "ALG001"],
    ignore: ["IDM004"],
    severity: { IDM: "info", ALG002: "error" },
  });
});

test("confidence and tests are sent when set, validated, and a change notifies the server", () => {
  const s = readSettings(config({ confidence: "low", tests: "off" }, PACKAGE_DEFAULTS));
  assert.deepEqual(serverSettings(s), { confidence: "low", tests: "off" });
  const bad = readSettings(config({ confidence: "sometimes" }, PACKAGE_DEFAULTS));
  assert.deepEqual(serverSettings(bad), { confidence: "medium" });
  assert.equal(bad.warnings.length, 1);
  assert.equal(changeAction((section) => section === "perfsquad.confidence"), "notify");
  assert.equal(changeAction((section) => section === "perfsquad.tests"), "notify");
});

test("an explicitly empty ignore list is sent (it overrides the project's), an unset one is not", () => {
  assert.deepEqual(serverSettings(readSettings(config({ ignore: [] }, PACKAGE_DEFAULTS))), { ignore: [] });
  assert.deepEqual(serverSettings(readSettings(config({}, { ...PACKAGE_DEFAULTS, ignore: [] }))), {});
});

test("profileFocus reaches the server only when turned on", () => {
  assert.deepEqual(serverSettings(readSettings(config({ profileFocus: true }, PACKAGE_DEFAULTS))), { profileFocus: true });
  assert.deepEqual(serverSettings(readSettings(config({ profileFocus: false }, PACKAGE_DEFAULTS))), {});
});

test("leakcheck.timeoutSeconds reaches the server when changed, validated, and a change notifies it", () => {
  const set = readSettings(config({ "leakcheck.timeoutSeconds": 30 }, PACKAGE_DEFAULTS));
  assert.deepEqual(serverSettings(set), { leakcheck: { timeoutSeconds: 30 } });
  assert.deepEqual(serverSettings(readSettings(config({}, PACKAGE_DEFAULTS))), {});
  const bad = readSettings(config({ "leakcheck.timeoutSeconds": -5 }, PACKAGE_DEFAULTS));
  assert.equal(bad.leakcheckTimeoutSeconds, 120);
  assert.match(bad.warnings[0], /leakcheck\.timeoutSeconds/);
  assert.equal(changeAction((section) => section === "perfsquad.leakcheck.timeoutSeconds"), "notify");
});

test("client-only settings never reach the server (it warns about unknown keys)", () => {
  const s = readSettings(
    config(
      { interpreter: ["/opt/py/bin/python"], profiler: "py-spy", profileCommand: "-m app", showInlayHints: false, enable: true },
      PACKAGE_DEFAULTS,
    ),
  );
  assert.deepEqual(serverSettings(s), {});
  assert.equal(s.profiler, "py-spy");
  assert.equal(s.profileCommand, "-m app");
  assert.equal(s.showInlayHints, false);
  assert.deepEqual(s.interpreter, ["/opt/py/bin/python"]);
});

test("bad values become warnings and defaults, never exceptions", () => {
  const s = readSettings(
    config({ profiler: "perf", importStrategy: "magic", enable: "yes", select: 42, severity: { IDM: "loud" } }, PACKAGE_DEFAULTS),
  );
  assert.equal(s.profiler, "auto");
  assert.equal(s.importStrategy, "useBundled");
  assert.equal(s.enable, true);
  assert.deepEqual(serverSettings(s), { severity: {} });
  assert.equal(s.warnings.length, 5);
  assert.match(s.warnings.join("\n"), /perfsquad\.profiler must be one of auto\|py-spy\|cprofile/);
  assert.match(s.warnings.join("\n"), /IDM must be one of error\|warning\|info\|hint/);
});

test("a comma-separated select string is accepted", () => {
  assert.deepEqual(serverSettings(readSettings(config({ select: "IDM, alg" }))), { select: ["IDM", "ALG"] });
});

test("interpreter given as a string becomes a one-element command", () => {
  assert.deepEqual(readSettings(config({ interpreter: "/usr/bin/python3.12" })).interpreter, ["/usr/bin/python3.12"]);
});

test("which change needs what: restart, notify the server, refresh hints", () => {
  const only = (key: string) => (section: string) => section === key || key.startsWith(`${section}.`);
  assert.equal(changeAction(only("perfsquad.interpreter")), "restart");
  assert.equal(changeAction(only("perfsquad.importStrategy")), "restart");
  assert.equal(changeAction(only("perfsquad.enable")), "restart");
  assert.equal(changeAction(only("perfsquad.select")), "notify");
  assert.equal(changeAction(only("perfsquad.severity")), "notify");
  assert.equal(changeAction(only("perfsquad.showInlayHints")), "refreshHints");
  assert.equal(changeAction(only("perfsquad.profiler")), "none");
  assert.equal(changeAction(only("python.defaultInterpreterPath")), "none");
});
