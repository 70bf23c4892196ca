// The status bar's text, and the `perfsquad/status` notification the server may send. Pure.

/** Method of the custom notification (server -> client). See README.md, "Status notification". */
export const STATUS_NOTIFICATION = "perfsquad/status";

/** Its params: both fields optional; an absent field keeps its previous value, null clears it. */
export interface StatusParams {
  /** What the server is doing, e.g. "ready", "analyzing", "profiling". */
  state?: string | null;
  /** The last profile's headline, e.g. "CPU-bound · 82% in 3 functions". */
  headline?: string | null;
}

export type ClientState = "starting" | "running" | "stopped" | "failed" | "disabled";

export interface StatusView {
  clientState: ClientState;
  serverState?: string;
  headline?: string;
  interpreter?: string;
}

const ICONS: Record<ClientState, string> = {
  starting: "$(loading~spin)",
  running: "$(pulse)",
  stopped: "$(debug-stop)",
  failed: "$(error)",
  disabled: "$(circle-slash)",
};

/** Merge a notification into the view; malformed params change nothing. */
export function applyStatus(view: StatusView, params: unknown): StatusView {
  if (typeof params !== "object" || params === null) {
    return view;
  }
  const p = params as Record<string, unknown>;
  const next = { ...view };
  for (const key of ["state", "headline"] as const) {
    const target = key === "state" ? "serverState" : "headline";
    if (p[key] === null) {
      next[target] = undefined;
    } else if (typeof p[key] === "string") {
      next[target] = (p[key] as string).trim() || undefined;
    }
  }
  return next;
}

export function statusText(view: StatusView): { text: string; tooltip: string } {
  const state = view.clientState === "running" && view.serverState ? view.serverState : view.clientState;
  let text = `${ICONS[view.clientState]} perfsquad`;
  if (state !== "running") {
    text += `: ${state}`;
  }
  if (view.headline && view.clientState === "running") {
    text += ` · ${view.headline}`;
  }
  const tooltip = [
    `perfsquad language server: ${state}`,
    view.headline ? `Last profile: ${view.headline}` : "No profile yet (run \"perfsquad: Profile Current File\")",
    view.interpreter ? `Interpreter: ${view.interpreter}` : "",
    "Click to show the perfsquad output",
  ]
    .filter((line) => line.length > 0)
    .join("\n");
  return { text, tooltip };
}
