// "Audit Performance" and "Optimization Roadmap": the server's rendered report (the audit's page, every
// item linked to its file and line) in a webview, one panel per command, refreshed on each run.
import * as vscode from "vscode";
import { pagePanel } from "./pages";

type RunCommand = (command: string, args: unknown[], title: string) => Promise<unknown>;

const panels = new Map<string, vscode.WebviewPanel>();

/**
 * Run `server` with the webview's policy source (the server answers the page instead of opening it) and
 * draw the page. Returns the server's answer (undefined on an error, already reported).
 */
export async function showReport(run: RunCommand, server: string, args: unknown[], title: string): Promise<unknown> {
  let panel = panels.get(server);
  if (!panel) {
    const created = pagePanel(`${server}.view`, `perfsquad: ${title}`);
    created.onDidDispose(() => panels.delete(server));
    created.webview.html = `<!DOCTYPE html><html><body><p>perfsquad: ${title}: running…</p></body></html>`;
    panels.set(server, created);
    panel = created;
  }
  const options = args.length > 0 && typeof args[0] === "object" && args[0] !== null ? (args[0] as object) : {};
  const answer = await run(server, [{ ...options, cspSource: panel.webview.cspSource, show: false }], title);
  const page = (answer as { page?: unknown } | undefined)?.page;
  if (typeof page === "string" && panels.get(server) === panel) {
    panel.webview.html = page;
    panel.reveal(undefined, true);
  } else {
    panel.dispose();
  }
  return answer;
}
