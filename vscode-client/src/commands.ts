// The server-side commands the palette forwards, and the arguments each gets. Pure.

/** Palette command id -> the server command (workspace/executeCommand) it runs. */
export const SERVER_COMMANDS = {
  profile: "perfsquad.profile",
  clearProfile: "perfsquad.clearProfile",
  fixAll: "perfsquad.fixAll",
  auditPerformance: "perfsquad.auditPerformance",
  quickDiagnose: "perfsquad.quickDiagnose",
  leakcheck: "perfsquad.leakcheck",
  estimateRoi: "perfsquad.estimateRoi",
  cancelProfile: "perfsquad.cancelProfile",
  optimizationRoadmap: "perfsquad.optimizationRoadmap",
  benchmark: "perfsquad.benchmark",
  cancelBenchmark: "perfsquad.cancelBenchmark",
  compareBenchmarks: "perfsquad.compareBenchmarks",
  listBenchmarks: "perfsquad.listBenchmarks",
} as const;

/**
 * The server commands that run the workspace's code (its scripts, tests, or the profile-command of its
 * pyproject.toml). In an untrusted workspace (VS Code's Workspace Trust) the extension does not start
 * them; the server also asks once per workspace unless told the workspace is trusted (#19).
 */
export const RUNS_WORKSPACE_CODE: readonly string[] = [
  SERVER_COMMANDS.profile,
  SERVER_COMMANDS.auditPerformance,
  SERVER_COMMANDS.quickDiagnose,
  SERVER_COMMANDS.leakcheck,
  SERVER_COMMANDS.benchmark,
];

/** Why `command` is not started (a message), or undefined when it may run. */
export function untrustedRefusal(command: string, trusted: boolean, title: string): string | undefined {
  if (trusted || !RUNS_WORKSPACE_CODE.includes(command)) {
    return undefined;
  }
  return (
    `perfsquad: ${title} runs code from this workspace, which is not trusted: nothing was run. ` +
    "Trust the workspace (Workspaces: Manage Workspace Trust) to allow it."
  );
}

/** Audit commands: palette id, title, server command. They take a target (the active file or folder). */
export const AUDIT_COMMANDS: readonly { id: string; title: string; server: string }[] = [
  { id: "perfsquad.runAuditPerformance", title: "Audit Performance", server: SERVER_COMMANDS.auditPerformance },
  { id: "perfsquad.runQuickDiagnose", title: "Quick Diagnose", server: SERVER_COMMANDS.quickDiagnose },
  { id: "perfsquad.runLeakcheck", title: "Leak Check", server: SERVER_COMMANDS.leakcheck },
  { id: "perfsquad.runEstimateRoi", title: "Estimate ROI at Cursor", server: SERVER_COMMANDS.estimateRoi },
  { id: "perfsquad.runOptimizationRoadmap", title: "Optimization Roadmap", server: SERVER_COMMANDS.optimizationRoadmap },
];

/** The audit commands whose answer is a rendered page (the report, every item linked), shown in a webview. */
export const REPORT_VIEWS: readonly string[] = [SERVER_COMMANDS.auditPerformance, SERVER_COMMANDS.optimizationRoadmap];

/** The commands a server advertised in its initialize result (executeCommandProvider). */
export function advertisedCommands(initializeResult: unknown): string[] {
  const caps = (initializeResult as { capabilities?: { executeCommandProvider?: { commands?: unknown } } } | undefined)
    ?.capabilities;
  const commands = caps?.executeCommandProvider?.commands;
  return Array.isArray(commands) ? commands.filter((c): c is string => typeof c === "string") : [];
}

export function missingCommandMessage(command: string, advertised: string[]): string {
  const offered = advertised.filter((c) => c.startsWith("perfsquad."));
  const list = offered.length > 0 ? ` It offers: ${offered.join(", ")}.` : "";
  return (
    `perfsquad: the running server does not offer "${command}" (it may be older than this extension;` +
    ` update perfsquad or use importStrategy "useBundled").${list}`
  );
}

/** What to profile for "Profile Current File": the profileCommand setting with ${file}, else the file. */
export function profileTarget(profileCommand: string, file: string, workspaceFolder: string | undefined): string {
  const template = profileCommand.trim();
  if (!template) {
    return file;
  }
  let out = template.replace(/\$\{file\}/g, file);
  if (workspaceFolder !== undefined) {
    out = out.replace(/\$\{workspaceFolder\}/g, workspaceFolder);
  }
  return out;
}

export interface ProfileOptions {
  sampler: string;
  cwd?: string;
}

/** The arguments of `perfsquad.profile`: one options object, `command` being the target (a command
 * line, a script, `-m module` or a pytest node id). */
export function profileArguments(target: string, options: ProfileOptions): unknown[] {
  const opts: Record<string, string> = { command: target, sampler: options.sampler };
  if (options.cwd !== undefined) {
    opts.cwd = options.cwd;
  }
  return [opts];
}

/** The arguments of `perfsquad.leakcheck` for a file: its script, or the `-m module` of profileCommand. */
export function leakcheckArguments(file: string, profileCommand: string, cwd: string | undefined): unknown[] {
  const module = /^-m\s+(\S+)/.exec(profileCommand.trim());
  const opts: Record<string, string> = module ? { module: module[1] } : { script: file };
  if (cwd !== undefined) {
    opts.cwd = cwd;
  }
  return [opts];
}

/** The arguments of `perfsquad.quickDiagnose` / `perfsquad.estimateRoi`: the document and position. */
export function positionArguments(
  uri: string,
  position: { line: number; character: number },
  run: string | undefined,
): unknown[] {
  const opts: Record<string, unknown> = { uri, position };
  if (run) {
    opts.run = run;
  }
  return [opts];
}

/** Whether the server already told the user (its result or error says `shown: true`): a second
 * notification would repeat it (Leak Check says its result, or its failure, itself). */
export function alreadyShown(value: unknown): boolean {
  if (value === null || typeof value !== "object") {
    return false;
  }
  const obj = value as Record<string, unknown>;
  const data = obj.data as Record<string, unknown> | undefined;
  return obj.shown === true || (typeof data === "object" && data !== null && data.shown === true);
}

/** A short message for a command's result (shown after a server command returns). */
export function resultSummary(title: string, result: unknown): string {
  if (result === null || result === undefined || result === true) {
    return `perfsquad: ${title} done.`;
  }
  if (result === false) {
    return `perfsquad: ${title}: nothing to do.`;
  }
  if (typeof result === "string") {
    return `perfsquad: ${title}: ${result.split("\n")[0]}`;
  }
  const obj = result as Record<string, unknown>;
  for (const key of ["headline", "summary", "message"]) {
    if (typeof obj[key] === "string") {
      return `perfsquad: ${title}: ${(obj[key] as string).split("\n")[0]}`;
    }
  }
  return `perfsquad: ${title} done (details in the perfsquad output).`;
}

/** The arguments of `perfsquad.benchmark`: a command line (the server splits it like a shell), the
 * record's name (kept as .perfsquad/bench/NAME.json in the workspace) and where to run it. */
export function benchmarkArguments(commandLine: string, name: string, cwd: string | undefined): unknown[] {
  const opts: Record<string, unknown> = { command: commandLine.trim(), name: name.trim() };
  if (cwd !== undefined) {
    opts.cwd = cwd;
  }
  return [opts];
}

/** A record name the server accepts (letters, digits, `.`, `_`, `-`), or an error message. */
export function benchmarkNameError(name: string): string | undefined {
  const trimmed = name.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(trimmed)) {
    return "letters, digits, '.', '_' and '-' only, starting with a letter or digit";
  }
  return undefined;
}

/** The arguments of `perfsquad.compareBenchmarks`. */
export function compareArguments(before: string, after: string): unknown[] {
  return [{ before, after }];
}

/** The default command line to benchmark: the profile command setting, else the file itself. */
export function benchmarkCommandLine(profileCommand: string, python: string, file: string, workspaceFolder: string | undefined): string {
  const target = profileTarget(profileCommand, file, workspaceFolder);
  return /\.py$/.test(target) || target.startsWith("-m ") ? `${python} ${target}` : target;
}
