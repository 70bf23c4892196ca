import assert from "node:assert/strict";
import * as path from "node:path";
import { test } from "node:test";
import { bundleMismatch, chooseInterpreter, serverLaunch } from "../src/interpreter";

const vars = { workspaceFolder: "/ws/proj", home: "/home/ana" };

test("the perfsquad.interpreter setting wins over the Python extension", () => {
  const choice = chooseInterpreter(["${workspaceFolder}/.venv/bin/python"], ["/envs/x/bin/python"], vars);
  assert.deepEqual(choice, { command: ["/ws/proj/.venv/bin/python"], source: "setting" });
});

test("without the setting, the Python extension's active environment is used", () => {
  assert.deepEqual(chooseInterpreter([], ["/envs/x/bin/python"], vars), {
    command: ["/envs/x/bin/python"],
    source: "python-extension",
  });
});

test("without either, python3", () => {
  assert.deepEqual(chooseInterpreter([], undefined, vars), { command: ["python3"], source: "default" });
  assert.deepEqual(chooseInterpreter([""], [""], vars), { command: ["python3"], source: "default" });
});

test("~ and ${userHome} expand; a command with arguments is kept whole", () => {
  assert.deepEqual(chooseInterpreter(["~/py/bin/python", "-X", "utf8"], undefined, vars).command, [
    "/home/ana/py/bin/python",
    "-X",
    "utf8",
  ]);
  assert.deepEqual(chooseInterpreter(["${userHome}/p"], undefined, vars).command, ["/home/ana/p"]);
});

test("useBundled runs -m perfsquad serve with the bundled libs first on PYTHONPATH and bin on PATH", () => {
  const launch = serverLaunch(["/usr/bin/python3", "-X", "utf8"], "useBundled", "/ext", {
    PYTHONPATH: "/mine",
    PATH: "/usr/bin",
    HOME: "/home/ana",
  });
  assert.equal(launch.command, "/usr/bin/python3");
  assert.deepEqual(launch.args, ["-X", "utf8", "-m", "perfsquad", "serve"]);
  assert.equal(launch.env.PYTHONPATH, [path.join("/ext", "bundled", "libs"), "/mine"].join(path.delimiter));
  assert.equal(launch.env.PATH, [path.join("/ext", "bundled", "libs", "bin"), "/usr/bin"].join(path.delimiter));
  assert.equal(launch.env.PYTHONNOUSERSITE, "1");
  assert.equal(launch.env.HOME, "/home/ana");
});

test("fromEnvironment leaves PYTHONPATH alone", () => {
  const launch = serverLaunch(["python3"], "fromEnvironment", "/ext", { PATH: "/usr/bin" });
  assert.deepEqual(launch.args, ["-m", "perfsquad", "serve"]);
  assert.equal(launch.env.PYTHONPATH, undefined);
  assert.equal(launch.env.PATH, "/usr/bin");
});

test("a bundle built for another Python version is reported, a matching one is not", () => {
  assert.equal(bundleMismatch({ python: "3.11" }, "3.11"), undefined);
  assert.match(bundleMismatch({ python: "3.11" }, "3.12") ?? "", /built for Python 3\.11 but the interpreter is Python 3\.12/);
  assert.match(bundleMismatch(undefined, "3.11") ?? "", /fromEnvironment/);
});
