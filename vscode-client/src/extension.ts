// The perfsquad extension: starts `perfsquad serve`, forwards settings and commands, shows status.
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  InlayHintRequest,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  State,
} from "vscode-languageclient/node";
import {
  AUDIT_COMMANDS,
  REPORT_VIEWS,
  SERVER_COMMANDS,
  advertisedCommands,
  alreadyShown,
  benchmarkArguments,
  benchmarkCommandLine,
  benchmarkNameError,
  compareArguments,
  leakcheckArguments,
  missingCommandMessage,
  positionArguments,
  profileArguments,
  profileTarget,
  resultSummary,
  untrustedRefusal,
} from "./commands";
import {
  BundleInfo,
  bundleMismatch,
  bundledLibs,
  chooseInterpreter,
  describeInterpreter,
  serverLaunch,
} from "./interpreter";
import { clearHeat, refreshProfileView, registerProfileView } from "./profileView";
import * as python from "./python";
import { showReport } from "./reportView";
import { pytestNodeAt } from "./pytest";
import { ExtensionSettings, SECTION, changeAction, readSettings, serverSettings } from "./settings";
import { STATUS_NOTIFICATION, StatusView, applyStatus, statusText } from "./status";

let client: LanguageClient | undefined;
let output: vscode.LogOutputChannel;
let statusItem: vscode.StatusBarItem;
let view: StatusView = { clientState: "stopped" };
let context: vscode.ExtensionContext;
let starting: Promise<void> = Promise.resolve();
const shownWarnings = new Set<string>();
let interpreterCommand: string[] = ["python3"];

function log(message: string): void {
  output.info(message);
}

function setView(next: StatusView): void {
  view = next;
  const { text, tooltip } = statusText(view);
  statusItem.text = text;
  statusItem.tooltip = tooltip;
  statusItem.show();
}

function settings(): ExtensionSettings {
  const s = readSettings(vscode.workspace.getConfiguration(SECTION));
  for (const warning of s.warnings) {
    if (!shownWarnings.has(warning)) {
      shownWarnings.add(warning);
      log(`settings: ${warning}`);
      void vscode.window.showWarningMessage(warning);
    }
  }
  return s;
}

function workspaceFolder(): vscode.WorkspaceFolder | undefined {
  const active = vscode.window.activeTextEditor?.document.uri;
  return (active && vscode.workspace.getWorkspaceFolder(active)) || vscode.workspace.workspaceFolders?.[0];
}

function pythonVersion(interpreter: string[], env: NodeJS.ProcessEnv): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(
      interpreter[0],
      [...interpreter.slice(1), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
      { timeout: 15000, env },
      (error, stdout) => resolve(error ? undefined : stdout.trim() || undefined),
    );
  });
}

function readBundleInfo(): BundleInfo | undefined {
  try {
    return JSON.parse(
      fs.readFileSync(path.join(bundledLibs(context.extensionPath), "perfsquad-bundle.json"), "utf8"),
    ) as BundleInfo;
  } catch {
    return undefined;
  }
}

async function start(): Promise<void> {
  const s = settings();
  if (!s.enable) {
    log("perfsquad.enable is false: the server is not started");
    setView({ clientState: "disabled" });
    return;
  }
  const folder = workspaceFolder();
  const choice = chooseInterpreter(s.interpreter, s.interpreter.length ? undefined : await python.activeInterpreter(folder?.uri), {
    workspaceFolder: folder?.uri.fsPath,
    home: os.homedir(),
  });
  interpreterCommand = choice.command.length ? choice.command : ["python3"];
  const described = describeInterpreter(choice, s.importStrategy);
  setView({ ...view, clientState: "starting", interpreter: described, serverState: undefined });
  log(`starting perfsquad serve with ${described}`);
  const launch = serverLaunch(choice.command, s.importStrategy, context.extensionPath, process.env);
  const version = await pythonVersion(choice.command, launch.env as NodeJS.ProcessEnv);
  if (version === undefined) {
    const message = `perfsquad: cannot run the interpreter "${choice.command.join(" ")}" (${choice.source}). Set perfsquad.interpreter to a Python 3.10+ executable.`;
    log(message);
    setView({ ...view, clientState: "failed" });
    void showError(message);
    return;
  }
  log(`interpreter is Python ${version}`);
  if (s.importStrategy === "useBundled") {
    const warning = bundleMismatch(readBundleInfo(), version);
    if (warning) {
      log(warning);
      void vscode.window.showWarningMessage(warning);
    }
  }

  const serverOptions: ServerOptions = {
    command: launch.command,
    args: launch.args,
    // No `transport`: with TransportKind.stdio the client would append "--stdio" to the arguments.
    options: { env: launch.env as NodeJS.ProcessEnv, cwd: folder?.uri.fsPath },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "python" },
      { scheme: "untitled", language: "python" },
      // Jupyter notebooks' Python cells: hovers and code actions are asked per cell; the cells' text
      // goes to the server through notebook document sync (the server's notebookDocumentSync), not
      // as separate text documents.
      { notebook: "jupyter-notebook", language: "python" },
    ],
    outputChannel: output,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    // workspaceTrusted: VS Code's Workspace Trust is the user's consent to run this folder's code, so
    // the server does not ask again (perfsquad/server/consent.py); untrusted, the server asks itself.
    initializationOptions: { ...serverSettings(s), workspaceTrusted: vscode.workspace.isTrusted },
    middleware: {
      provideInlayHints: (document, range, token, next) =>
        readSettings(vscode.workspace.getConfiguration(SECTION)).showInlayHints ? next(document, range, token) : [],
      workspace: {
        // The server asks for the "perfsquad" section: answer with the server's keys only.
        configuration: async (params, token, next) => {
          const answers = await next(params, token);
          if (!Array.isArray(answers)) {
            return answers;
          }
          return params.items.map((item, i) =>
            item.section === SECTION ? serverSettings(readSettings(vscode.workspace.getConfiguration(SECTION))) : answers[i],
          );
        },
      },
    },
  };
  const next = new LanguageClient("perfsquad", "perfsquad", serverOptions, clientOptions);
  client = next;
  next.onDidChangeState((e) => {
    if (client !== next) {
      return;
    }
    if (e.newState === State.Running) {
      setView({ ...view, clientState: "running" });
    } else if (e.newState === State.Starting) {
      setView({ ...view, clientState: "starting" });
    } else if (e.newState === State.Stopped) {
      setView({ ...view, clientState: view.clientState === "starting" ? "failed" : "stopped", serverState: undefined });
    }
  });
  next.onNotification(STATUS_NOTIFICATION, (params: unknown) => {
    if (client === next) {
      setView(applyStatus(view, params));
    }
  });
  try {
    await next.start();
    log(`server started; it offers: ${advertisedCommands(next.initializeResult).join(", ") || "no commands"}`);
    setView({ ...view, clientState: "running" });
  } catch (error) {
    const message = `perfsquad: the server did not start: ${error instanceof Error ? error.message : String(error)}`;
    log(message);
    setView({ ...view, clientState: "failed" });
    void showError(message);
  }
}

async function showError(message: string): Promise<void> {
  const choice = await vscode.window.showErrorMessage(message, "Show Output");
  if (choice === "Show Output") {
    output.show(true);
  }
}

async function stop(): Promise<void> {
  const old = client;
  client = undefined;
  if (old) {
    try {
      await old.stop(5000);
    } catch (error) {
      log(`stopping the server: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

function restart(reason: string): Promise<void> {
  starting = starting.then(async () => {
    log(`restarting the server (${reason})`);
    await stop();
    await start();
  });
  return starting;
}

/** Run a server command, or explain clearly that this server does not offer it. */
async function runServerCommand(command: string, args: unknown[], title: string): Promise<unknown> {
  await starting;
  if (!client || !client.isRunning()) {
    void showError(`perfsquad: the server is not running (${view.clientState}); cannot run ${title}.`);
    return undefined;
  }
  const refusal = untrustedRefusal(command, vscode.workspace.isTrusted, title);
  if (refusal) {
    log(refusal);
    void vscode.window.showWarningMessage(refusal);
    return undefined;
  }
  const offered = advertisedCommands(client.initializeResult);
  if (!offered.includes(command)) {
    const message = missingCommandMessage(command, offered);
    log(message);
    void vscode.window.showWarningMessage(message);
    return undefined;
  }
  log(`running ${command} ${JSON.stringify(args)}`);
  try {
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: `perfsquad: ${title}` },
      () => client!.sendRequest(ExecuteCommandRequest.type, { command, arguments: args }),
    );
    log(`${command} returned ${JSON.stringify(result)?.slice(0, 4000)}`);
    return result ?? null;
  } catch (error) {
    const message = `perfsquad: ${title} failed: ${error instanceof Error ? error.message : String(error)}`;
    log(message);
    if (!alreadyShown(error)) {
      void showError(message);
    }
    return undefined;
  }
}

function showResult(title: string, result: unknown): void {
  if (result === undefined) {
    return; // an error or a missing command, already reported
  }
  if (result && typeof result === "object") {
    const obj = result as Record<string, unknown>;
    if (typeof obj.headline === "string") {
      setView({ ...view, headline: obj.headline });
    }
    if (typeof obj.text === "string") {
      log(`${title}:\n${obj.text}`);
    }
    if (typeof obj.page === "string") {
      // (drawn by showReport, links and all)
      void vscode.window.showInformationMessage(resultSummary(title, result));
      return;
    }
    const files = Object.values(obj).filter((v): v is string => typeof v === "string" && fs.existsSync(v));
    const html = files.find((f) => f.endsWith(".html"));
    const markdown = files.find((f) => f.endsWith(".md"));
    if (html) {
      const panel = vscode.window.createWebviewPanel("perfsquad.report", `perfsquad: ${title}`, vscode.ViewColumn.Beside, {});
      panel.webview.html = fs.readFileSync(html, "utf8");
    } else if (markdown) {
      void vscode.workspace
        .openTextDocument(markdown)
        .then((doc) => vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true }));
    }
  }
  if (alreadyShown(result)) {
    return; // the server said it (window/showMessage): once is enough
  }
  void vscode.window.showInformationMessage(resultSummary(title, result));
}

function activePython(): vscode.TextEditor | undefined {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.languageId !== "python") {
    void vscode.window.showWarningMessage("perfsquad: open a Python file first.");
    return undefined;
  }
  return editor;
}

async function fixAll(): Promise<void> {
  const editor = activePython();
  if (!editor) {
    return;
  }
  await starting;
  const offered = client ? advertisedCommands(client.initializeResult) : [];
  if (offered.includes(SERVER_COMMANDS.fixAll)) {
    const applied = await runServerCommand(SERVER_COMMANDS.fixAll, [editor.document.uri.toString()], "Fix All");
    if (applied === false) {
      void vscode.window.showInformationMessage("perfsquad: no safe fixes in this file.");
    }
    return;
  }
  // An older server: the same fixes through the code action kind.
  await vscode.commands.executeCommand("editor.action.sourceAction", { kind: "source.fixAll.perfsquad", apply: "first" });
}

async function profileFile(): Promise<void> {
  const editor = activePython();
  if (!editor) {
    return;
  }
  if (editor.document.isDirty) {
    await editor.document.save();
  }
  const s = settings();
  const folder = vscode.workspace.getWorkspaceFolder(editor.document.uri);
  const target = profileTarget(s.profileCommand, editor.document.uri.fsPath, folder?.uri.fsPath);
  const args = profileArguments(target, { sampler: s.profiler, cwd: folder?.uri.fsPath });
  const result = await runServerCommand(SERVER_COMMANDS.profile, args, `Profile ${path.basename(editor.document.uri.fsPath)}`);
  showResult("Profile", result);
  if (result) {
    await refreshProfileView(runServerCommand, false); // gutter heat (and an open profile view) follow the new profile
  }
}

async function profileTest(): Promise<void> {
  const editor = activePython();
  if (!editor) {
    return;
  }
  const folder = vscode.workspace.getWorkspaceFolder(editor.document.uri);
  const rel = folder
    ? path.relative(folder.uri.fsPath, editor.document.uri.fsPath).split(path.sep).join("/")
    : editor.document.uri.fsPath;
  const node = pytestNodeAt(editor.document.getText(), editor.selection.active.line, rel);
  if (!node) {
    void vscode.window.showWarningMessage("perfsquad: the cursor is not inside a test function (def test_...).");
    return;
  }
  if (editor.document.isDirty) {
    await editor.document.save();
  }
  const s = settings();
  const args = profileArguments(node, { sampler: s.profiler, cwd: folder?.uri.fsPath });
  const result = await runServerCommand(SERVER_COMMANDS.profile, args, `Profile ${node}`);
  showResult("Profile", result);
  if (result) {
    await refreshProfileView(runServerCommand, false);
  }
}

async function clearProfile(): Promise<void> {
  const result = await runServerCommand(SERVER_COMMANDS.clearProfile, [], "Clear Profile");
  if (result !== undefined) {
    setView({ ...view, headline: undefined });
    clearHeat();
    void vscode.window.showInformationMessage("perfsquad: profile results cleared.");
  }
}

function auditArguments(server: string): unknown[] | undefined {
  const editor = vscode.window.activeTextEditor;
  const s = settings();
  if (server === SERVER_COMMANDS.auditPerformance || server === SERVER_COMMANDS.optimizationRoadmap) {
    const folder = workspaceFolder();
    const uri = folder?.uri.toString() ?? editor?.document.uri.toString();
    if (!uri) {
      void vscode.window.showWarningMessage("perfsquad: open a folder or a Python file to audit.");
      return undefined;
    }
    const run = s.profileCommand ? profileTarget(s.profileCommand, editor?.document.uri.fsPath ?? "", folder?.uri.fsPath) : undefined;
    return [run && server === SERVER_COMMANDS.auditPerformance ? { uri, run } : { uri }];
  }
  const py = activePython();
  if (!py) {
    return undefined;
  }
  const folder = vscode.workspace.getWorkspaceFolder(py.document.uri);
  if (server === SERVER_COMMANDS.leakcheck) {
    return leakcheckArguments(py.document.uri.fsPath, s.profileCommand, folder?.uri.fsPath);
  }
  const position = { line: py.selection.active.line, character: py.selection.active.character };
  const run = s.profileCommand ? profileTarget(s.profileCommand, py.document.uri.fsPath, folder?.uri.fsPath) : undefined;
  return positionArguments(py.document.uri.toString(), position, server === SERVER_COMMANDS.quickDiagnose ? run : undefined);
}

async function recordBenchmark(): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  const folder = workspaceFolder();
  const file = editor?.document.languageId === "python" ? editor.document.uri.fsPath : "";
  const suggested = file ? benchmarkCommandLine(settings().profileCommand, interpreterCommand[0], file, folder?.uri.fsPath) : "";
  const commandLine = await vscode.window.showInputBox({
    title: "perfsquad: Record Benchmark (1/2)",
    prompt: "The command to time (each run in a subprocess, in the workspace folder)",
    value: suggested,
    validateInput: (v) => (v.trim() ? undefined : "give a command"),
  });
  if (!commandLine) {
    return;
  }
  const name = await vscode.window.showInputBox({
    title: "perfsquad: Record Benchmark (2/2)",
    prompt: "Record name, kept as .perfsquad/bench/NAME.json (e.g. before, after)",
    value: "before",
    validateInput: benchmarkNameError,
  });
  if (!name) {
    return;
  }
  const args = benchmarkArguments(commandLine, name, folder?.uri.fsPath);
  showResult("Benchmark", await runServerCommand(SERVER_COMMANDS.benchmark, args, `Benchmark ${name.trim()}`));
}

async function compareBenchmarks(): Promise<void> {
  // (with an argument: the server's message for plain clients would repeat the quick pick)
  const records = await runServerCommand(SERVER_COMMANDS.listBenchmarks, [{}], "List Benchmarks");
  if (records === undefined) {
    return;
  }
  const names = Array.isArray(records) ? records.filter((r): r is string => typeof r === "string") : [];
  if (names.length < 2) {
    void vscode.window.showWarningMessage("perfsquad: record two benchmarks first (perfsquad: Record Benchmark...).");
    return;
  }
  const before = await vscode.window.showQuickPick(names, { title: "perfsquad: Compare Benchmarks", placeHolder: "before" });
  if (!before) {
    return;
  }
  const after = await vscode.window.showQuickPick(names.filter((n) => n !== before), {
    title: "perfsquad: Compare Benchmarks",
    placeHolder: `after (compared with ${before})`,
  });
  if (!after) {
    return;
  }
  showResult("Compare Benchmarks", await runServerCommand(SERVER_COMMANDS.compareBenchmarks, compareArguments(before, after), "Compare Benchmarks"));
}

async function runAnyServerCommand(): Promise<void> {
  await starting;
  const offered = client ? advertisedCommands(client.initializeResult) : [];
  const pick = await vscode.window.showQuickPick(offered, { placeHolder: "perfsquad: a command the server offers" });
  if (pick) {
    // No arguments: each server command then works on its defaults (the workspace, the last profile).
    showResult(pick, await runServerCommand(pick, [], pick));
  }
}

export async function activate(ctx: vscode.ExtensionContext): Promise<void> {
  context = ctx;
  output = vscode.window.createOutputChannel("perfsquad", { log: true });
  statusItem = vscode.window.createStatusBarItem("perfsquad.status", vscode.StatusBarAlignment.Left, 0);
  statusItem.name = "perfsquad";
  statusItem.command = "perfsquad.showOutput";
  ctx.subscriptions.push(output, statusItem);

  const register = (id: string, fn: () => unknown) => ctx.subscriptions.push(vscode.commands.registerCommand(id, fn));
  register("perfsquad.restart", () => restart("command"));
  register("perfsquad.showOutput", () => output.show(true));
  register("perfsquad.fixAllInFile", fixAll);
  register("perfsquad.profileFile", profileFile);
  register("perfsquad.profileTestAtCursor", profileTest);
  register("perfsquad.clearProfileResults", clearProfile);
  register("perfsquad.cancelRunningProfile", async () =>
    showResult("Cancel Profile", await runServerCommand(SERVER_COMMANDS.cancelProfile, [], "Cancel Profile")),
  );
  register("perfsquad.runServerCommand", runAnyServerCommand);
  registerProfileView(ctx, runServerCommand);
  register("perfsquad.runBenchmark", recordBenchmark);
  register("perfsquad.runCompareBenchmarks", compareBenchmarks);
  for (const audit of AUDIT_COMMANDS) {
    register(audit.id, async () => {
      const args = auditArguments(audit.server);
      if (!args) {
        return;
      }
      // The audit and the roadmap answer a rendered page: drawn in a webview whose places open the source.
      const answer = REPORT_VIEWS.includes(audit.server)
        ? await showReport(runServerCommand, audit.server, args, audit.title)
        : await runServerCommand(audit.server, args, audit.title);
      showResult(audit.title, answer);
    });
  }

  ctx.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      const action = changeAction((section) => e.affectsConfiguration(section));
      if (action === "restart") {
        void restart("settings changed");
      } else if (action === "notify" && client?.isRunning()) {
        const payload = { settings: { [SECTION]: serverSettings(settings()) } };
        log(`settings changed: ${JSON.stringify(payload.settings[SECTION])}`);
        void client.sendNotification(DidChangeConfigurationNotification.type, payload);
      } else if (action === "refreshHints") {
        // Re-ask for inlay hints: the middleware now filters (or not) what the server sends.
        void restartHints();
      }
    }),
  );
  ctx.subscriptions.push(
    // Trust granted during the session: the server learns it at its next initialize.
    vscode.workspace.onDidGrantWorkspaceTrust(() => void restart("the workspace is now trusted")),
  );
  ctx.subscriptions.push(
    await python.onInterpreterChange(() => {
      if (readSettings(vscode.workspace.getConfiguration(SECTION)).interpreter.length === 0) {
        void restart("the Python extension's interpreter changed");
      }
    }),
  );
  starting = start();
  await starting;
}

async function restartHints(): Promise<void> {
  // Ask VS Code to re-query inlay hints (the middleware now filters, or not, what the server sends).
  const feature = client?.getFeature(InlayHintRequest.method);
  const seen = new Set<unknown>();
  for (const editor of vscode.window.visibleTextEditors) {
    const shape = feature?.getProvider(editor.document);
    if (shape && !seen.has(shape)) {
      seen.add(shape);
      shape.onDidChangeInlayHints.fire();
    }
  }
}

export async function deactivate(): Promise<void> {
  await stop();
}
