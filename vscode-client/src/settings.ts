// Reading the extension's settings and turning them into what the server understands.
// Pure: no `vscode` import, so test/ can exercise it under plain Node.

export type ImportStrategy = "useBundled" | "fromEnvironment";
export type Profiler = "auto" | "py-spy" | "cprofile";
export type Severity = "error" | "warning" | "info" | "hint";

export const SECTION = "perfsquad";
const PROFILERS: readonly Profiler[] = ["auto", "py-spy", "cprofile"];
const STRATEGIES: readonly ImportStrategy[] = ["useBundled", "fromEnvironment"];
const SEVERITIES: readonly Severity[] = ["error", "warning", "info", "hint"];
export type Confidence = "high" | "medium" | "low";
export type TestFiles = "hint" | "normal" | "off";
const CONFIDENCES: readonly Confidence[] = ["high", "medium", "low"];
const TEST_FILES: readonly TestFiles[] = ["hint", "normal", "off"];

/** The part of `vscode.WorkspaceConfiguration` we use (so tests can pass a plain object). */
export interface ConfigLike {
  get<T>(key: string): T | undefined;
  inspect<T>(key: string):
    | {
        globalValue?: T;
        workspaceValue?: T;
        workspaceFolderValue?: T;
        globalLanguageValue?: T;
        workspaceLanguageValue?: T;
        workspaceFolderLanguageValue?: T;
      }
    | undefined;
}

export interface ExtensionSettings {
  enable: boolean;
  /** The interpreter command (executable and arguments); empty means "not set". */
  interpreter: string[];
  importStrategy: ImportStrategy;
  /** Rule settings the user set explicitly (undefined: not set, so the project's pyproject decides). */
  select?: string[];
  ignore?: string[];
  severity?: Record<string, Severity>;
  confidence?: Confidence;
  tests?: TestFiles;
  profiler: Profiler;
  profileCommand: string;
  showInlayHints: boolean;
  /** With a profile loaded, dim the findings in code the run never reached (the server's `profileFocus`). */
  profileFocus: boolean;
  /** Seconds before Leak Check stops its workload (the server's `leakcheck.timeoutSeconds`). */
  leakcheckTimeoutSeconds: number;
  /** Human-readable problems with the settings (each shown once in the log). */
  warnings: string[];
}

function explicitlySet(config: ConfigLike, key: string): boolean {
  const info = config.inspect<unknown>(key);
  if (!info) {
    return false;
  }
  return [
    info.globalValue,
    info.workspaceValue,
    info.workspaceFolderValue,
    info.globalLanguageValue,
    info.workspaceLanguageValue,
    info.workspaceFolderLanguageValue,
  ].some((v) => v !== undefined);
}

function codes(value: unknown, key: string, warnings: string[]): string[] | undefined {
  if (typeof value === "string") {
    value = value.split(/[,\s]+/);
  }
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    warnings.push(`perfsquad.${key} must be a list of rule codes or prefixes (e.g. ["IDM", "ALG001"]); ignored`);
    return undefined;
  }
  return value.map((v: string) => v.trim().toUpperCase()).filter((v: string) => v.length > 0);
}

function severities(value: unknown, warnings: string[]): Record<string, Severity> | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    warnings.push('perfsquad.severity must be an object of CODE: level (e.g. {"IDM": "info"}); ignored');
    return undefined;
  }
  const out: Record<string, Severity> = {};
  for (const [code, level] of Object.entries(value as Record<string, unknown>)) {
    const lowered = typeof level === "string" ? level.toLowerCase() : level;
    if (typeof lowered === "string" && (SEVERITIES as readonly string[]).includes(lowered)) {
      out[code.trim().toUpperCase()] = lowered as Severity;
    } else {
      warnings.push(`perfsquad.severity: ${code} must be one of ${SEVERITIES.join("|")}, not ${JSON.stringify(level)}`);
    }
  }
  return out;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T, key: string, warnings: string[]): T {
  if (value === undefined) {
    return fallback;
  }
  if (typeof value === "string" && (allowed as readonly string[]).includes(value)) {
    return value as T;
  }
  warnings.push(`perfsquad.${key} must be one of ${allowed.join("|")}, not ${JSON.stringify(value)}; using ${fallback}`);
  return fallback;
}

function bool(value: unknown, fallback: boolean, key: string, warnings: string[]): boolean {
  if (value === undefined) {
    return fallback;
  }
  if (typeof value === "boolean") {
    return value;
  }
  warnings.push(`perfsquad.${key} must be true or false, not ${JSON.stringify(value)}; using ${fallback}`);
  return fallback;
}

/** The server's default for `leakcheck.timeoutSeconds` (perfsquad/server/settings.py). */
export const LEAKCHECK_TIMEOUT_S = 120;

function seconds(value: unknown, fallback: number, key: string, warnings: string[]): number {
  if (value === undefined) {
    return fallback;
  }
  if (typeof value === "number" && Number.isFinite(value) && value > 0 && value <= 86400) {
    return value;
  }
  warnings.push(`perfsquad.${key} must be a number of seconds (1 to 86400), not ${JSON.stringify(value)}; using ${fallback}`);
  return fallback;
}

function interpreterCommand(value: unknown, warnings: string[]): string[] {
  if (value === undefined || value === null || value === "") {
    return [];
  }
  if (typeof value === "string") {
    return [value];
  }
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) {
    return value.filter((v) => v.length > 0);
  }
  warnings.push("perfsquad.interpreter must be a path or a list [path, ...args]; ignored");
  return [];
}

/** Read and validate the `perfsquad.*` settings; a bad value becomes a warning and the default. */
export function readSettings(config: ConfigLike): ExtensionSettings {
  const warnings: string[] = [];
  const settings: ExtensionSettings = {
    enable: bool(config.get("enable"), true, "enable", warnings),
    interpreter: interpreterCommand(config.get("interpreter"), warnings),
    importStrategy: oneOf(config.get("importStrategy"), STRATEGIES, "useBundled", "importStrategy", warnings),
    profiler: oneOf(config.get("profiler"), PROFILERS, "auto", "profiler", warnings),
    profileCommand: typeof config.get("profileCommand") === "string" ? (config.get<string>("profileCommand") ?? "") : "",
    showInlayHints: bool(config.get("showInlayHints"), true, "showInlayHints", warnings),
    profileFocus: bool(config.get("profileFocus"), false, "profileFocus", warnings),
    leakcheckTimeoutSeconds: seconds(config.get("leakcheck.timeoutSeconds"), LEAKCHECK_TIMEOUT_S, "leakcheck.timeoutSeconds", warnings),
    warnings,
  };
  if (explicitlySet(config, "select")) {
    settings.select = codes(config.get("select"), "select", warnings);
  }
  if (explicitlySet(config, "ignore")) {
    settings.ignore = codes(config.get("ignore"), "ignore", warnings);
  }
  if (explicitlySet(config, "severity")) {
    settings.severity = severities(config.get("severity"), warnings);
  }
  if (explicitlySet(config, "confidence")) {
    settings.confidence = oneOf(config.get("confidence"), CONFIDENCES, "medium", "confidence", warnings);
  }
  if (explicitlySet(config, "tests")) {
    settings.tests = oneOf(config.get("tests"), TEST_FILES, "hint", "tests", warnings);
  }
  return settings;
}

/**
 * The settings the server receives (initializationOptions and workspace/didChangeConfiguration).
 * Keys are those of `[tool.perfsquad]` (perfsquad/server/settings.py + perfsquad/config.py):
 * only rule settings the user set explicitly are sent, so a project's pyproject.toml still
 * decides everything the user did not override. Client-only settings (interpreter, profiler, ...)
 * are never sent: the server warns about keys it does not know.
 */
export function serverSettings(settings: ExtensionSettings): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (settings.select !== undefined) {
    out.select = settings.select;
  }
  if (settings.ignore !== undefined) {
    out.ignore = settings.ignore;
  }
  if (settings.severity !== undefined) {
    out.severity = settings.severity;
  }
  if (settings.confidence !== undefined) {
    out.confidence = settings.confidence;
  }
  if (settings.tests !== undefined) {
    out.tests = settings.tests;
  }
  if (settings.profileFocus) {
    out.profileFocus = true;
  }
  if (settings.leakcheckTimeoutSeconds !== LEAKCHECK_TIMEOUT_S) {
    out.leakcheck = { timeoutSeconds: settings.leakcheckTimeoutSeconds };
  }
  return out;
}

/** What a configuration change requires: restarting the server, telling it, redrawing hints, nothing. */
export type ChangeAction = "restart" | "notify" | "refreshHints" | "none";

const RESTART_KEYS = ["enable", "interpreter", "importStrategy"];
const SERVER_KEYS = ["select", "ignore", "severity", "confidence", "tests", "profileFocus", "leakcheck.timeoutSeconds"];

export function changeAction(affects: (section: string) => boolean): ChangeAction {
  if (RESTART_KEYS.some((k) => affects(`${SECTION}.${k}`))) {
    return "restart";
  }
  if (SERVER_KEYS.some((k) => affects(`${SECTION}.${k}`))) {
    return "notify";
  }
  if (affects(`${SECTION}.showInlayHints`)) {
    return "refreshHints";
  }
  return "none";
}
