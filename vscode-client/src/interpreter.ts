// Which Python runs the server, and how it is launched. Pure: no `vscode` import.
import * as path from "path";
import type { ImportStrategy } from "./settings";

export type InterpreterSource = "setting" | "python-extension" | "default";

export interface InterpreterChoice {
  /** Executable followed by its own arguments (e.g. ["conda", "run", "-n", "x", "python"]). */
  command: string[];
  source: InterpreterSource;
}

export const DEFAULT_INTERPRETER = "python3";

export interface Variables {
  workspaceFolder?: string;
  home: string;
}

/** Expand `${workspaceFolder}`, `${userHome}` and a leading `~` in each part of an interpreter setting. */
export function expandVariables(command: string[], vars: Variables): string[] {
  return command.map((part) => {
    let out = part.replace(/\$\{userHome\}/g, vars.home);
    if (vars.workspaceFolder !== undefined) {
      out = out.replace(/\$\{workspaceFolder\}/g, vars.workspaceFolder);
    }
    if (out === "~" || out.startsWith("~/")) {
      out = path.join(vars.home, out.slice(1));
    }
    return out;
  });
}

/**
 * The interpreter, in order of preference: the `perfsquad.interpreter` setting, else the Python
 * extension's active environment (when that extension is installed and reports one), else `python3`.
 */
export function chooseInterpreter(
  setting: string[],
  pythonExtension: string[] | undefined,
  vars: Variables,
): InterpreterChoice {
  const fromSetting = expandVariables(setting, vars).filter((p) => p.length > 0);
  if (fromSetting.length > 0) {
    return { command: fromSetting, source: "setting" };
  }
  if (pythonExtension && pythonExtension.length > 0 && pythonExtension[0].length > 0) {
    return { command: pythonExtension, source: "python-extension" };
  }
  return { command: [DEFAULT_INTERPRETER], source: "default" };
}

export interface Launch {
  command: string;
  args: string[];
  env: Record<string, string | undefined>;
}

/** Where the bundled server and its libraries live inside the installed extension. */
export function bundledLibs(extensionPath: string): string {
  return path.join(extensionPath, "bundled", "libs");
}

/**
 * How to start `perfsquad serve` with an interpreter. `useBundled` puts the libraries bundled into
 * the extension first on PYTHONPATH; `fromEnvironment` uses whatever perfsquad the interpreter has.
 */
export function serverLaunch(
  interpreter: string[],
  strategy: ImportStrategy,
  extensionPath: string,
  baseEnv: Record<string, string | undefined>,
): Launch {
  const env: Record<string, string | undefined> = { ...baseEnv, PYTHONUNBUFFERED: "1" };
  if (strategy === "useBundled") {
    const libs = bundledLibs(extensionPath);
    env.PYTHONPATH = baseEnv.PYTHONPATH ? `${libs}${path.delimiter}${baseEnv.PYTHONPATH}` : libs;
    env.PYTHONNOUSERSITE = "1"; // a user-site perfsquad must not shadow the bundled one
    const bin = path.join(libs, "bin"); // py-spy's executable, bundled with its wheel
    env.PATH = baseEnv.PATH ? `${bin}${path.delimiter}${baseEnv.PATH}` : bin;
  }
  return {
    command: interpreter[0],
    args: [...interpreter.slice(1), "-m", "perfsquad", "serve"],
    env,
  };
}

/** A one-line description for the log and the status bar tooltip. */
export function describeInterpreter(choice: InterpreterChoice, strategy: ImportStrategy): string {
  const origin = {
    setting: "from the perfsquad.interpreter setting",
    "python-extension": "the Python extension's active environment",
    default: `the default (${DEFAULT_INTERPRETER}; set perfsquad.interpreter or install the Python extension to change it)`,
  }[choice.source];
  const where = strategy === "useBundled" ? "server bundled with the extension" : "perfsquad installed in that environment";
  return `${choice.command.join(" ")} — ${origin}; ${where}`;
}

/** What the build recorded about the bundled libraries (bundled/libs/perfsquad-bundle.json). */
export interface BundleInfo {
  python: string; // "3.11"
  platform?: string;
}

/** A warning when the interpreter cannot load the bundled libraries (compiled for another Python). */
export function bundleMismatch(bundle: BundleInfo | undefined, interpreterVersion: string | undefined): string | undefined {
  if (bundle === undefined) {
    return "perfsquad: this extension was built without its bundled server (bundled/libs is missing); set perfsquad.importStrategy to \"fromEnvironment\" and `pip install perfsquad` in your interpreter";
  }
  if (interpreterVersion !== undefined && interpreterVersion !== bundle.python) {
    return (
      `perfsquad: the bundled server was built for Python ${bundle.python} but the interpreter is Python ${interpreterVersion};` +
      ` its compiled parts (libcst) may not load. Choose a Python ${bundle.python} interpreter, or set` +
      ` perfsquad.importStrategy to "fromEnvironment" and \`pip install perfsquad\` in your environment.`
    );
  }
  return undefined;
}
