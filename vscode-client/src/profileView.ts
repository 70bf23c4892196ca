// "perfsquad: Show Profile View": the loaded profile as an icicle graph and hot tables in a webview
// (drawn by the server's page, perfsquad.profileView), and line heat in the gutter of open editors.
import * as vscode from "vscode";
import { HotLine, LEVELS, heatFor, heatIcon } from "./heat";
import { pagePanel } from "./pages";

export const PROFILE_VIEW_COMMAND = "perfsquad.profileView";

/** What the server answers (the parts used here). */
interface ViewAnswer {
  available: boolean;
  message?: string;
  headline?: string;
  html?: string;
  data?: { lines?: HotLine[] };
}

type RunCommand = (command: string, args: unknown[], title: string) => Promise<unknown>;

let panel: vscode.WebviewPanel | undefined;
let hotLines: HotLine[] = [];
const decorations = LEVELS.map((_, level) =>
  vscode.window.createTextEditorDecorationType({
    light: { gutterIconPath: vscode.Uri.parse(heatIcon(level, "light")), gutterIconSize: "contain" },
    dark: { gutterIconPath: vscode.Uri.parse(heatIcon(level, "dark")), gutterIconSize: "contain" },
    overviewRulerLane: vscode.OverviewRulerLane.Left,
    overviewRulerColor: new vscode.ThemeColor("editorOverviewRuler.warningForeground"),
  }),
);

/** Gutter heat on every visible editor, from the last fetched profile view. */
export function paintHeat(editors: readonly vscode.TextEditor[] = vscode.window.visibleTextEditors): void {
  for (const editor of editors) {
    const heat = heatFor(editor.document.uri.fsPath, hotLines);
    decorations.forEach((type, level) => {
      const entries = heat.get(level) ?? [];
      editor.setDecorations(
        type,
        entries
          .filter((e) => e.line < editor.document.lineCount)
          .map((e) => ({ range: editor.document.lineAt(e.line).range, hoverMessage: e.text })),
      );
    });
  }
}

export function clearHeat(): void {
  hotLines = [];
  paintHeat();
}

/** Fetch the loaded profile's view; with `show`, draw it in the panel (created or revealed). */
export async function refreshProfileView(run: RunCommand, show: boolean): Promise<void> {
  if (show && !panel) {
    panel = pagePanel("perfsquad.profileView", "perfsquad: Profile");
    panel.onDidDispose(() => (panel = undefined));
  }
  const answer = (await run(
    PROFILE_VIEW_COMMAND,
    [{ cspSource: panel?.webview.cspSource ?? "", show: false }],
    "Profile View",
  )) as ViewAnswer | undefined;
  if (!answer) return; // an error, already reported
  if (!answer.available) {
    hotLines = [];
    paintHeat();
    if (show) {
      panel?.dispose();
      void vscode.window.showInformationMessage(`perfsquad: ${answer.message ?? "no profile loaded"}`);
    }
    return;
  }
  hotLines = answer.data?.lines ?? [];
  paintHeat();
  if (panel && answer.html) {
    panel.webview.html = answer.html;
    if (show) panel.reveal(undefined, true);
  }
}

export function registerProfileView(ctx: vscode.ExtensionContext, run: RunCommand): void {
  ctx.subscriptions.push(
    ...decorations,
    vscode.commands.registerCommand("perfsquad.showProfileView", () => refreshProfileView(run, true)),
    vscode.window.onDidChangeVisibleTextEditors((editors) => paintHeat(editors)),
  );
}
