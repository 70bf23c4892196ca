// Webview panels for the pages the server draws (the profile view, the audit, the roadmap): scripts on,
// and a click on a place in the page (a message {open: file, line}) opens the source at that line.
import * as vscode from "vscode";

export async function openSource(file: string, line: number): Promise<void> {
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
  const at = new vscode.Position(Math.max(0, line - 1), 0);
  await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, selection: new vscode.Range(at, at) });
}

/** A panel beside the editor for a server page whose clicks on places open the source. */
export function pagePanel(viewType: string, title: string): vscode.WebviewPanel {
  const panel = vscode.window.createWebviewPanel(viewType, title, vscode.ViewColumn.Beside, {
    enableScripts: true,
    retainContextWhenHidden: true,
  });
  panel.webview.onDidReceiveMessage((msg: { open?: unknown; line?: unknown }) => {
    if (typeof msg.open === "string" && typeof msg.line === "number") {
      void openSource(msg.open, msg.line);
    }
  });
  return panel;
}
