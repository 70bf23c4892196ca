// Line heat for the gutter: which lines of a file were hot in the loaded profile, and how hot. Pure.

/** A hot line as the server's perfsquad.profileView answers it (data.lines). */
export interface HotLine {
  file: string;
  line: number;
  share: number;
  idle?: number;
  self?: number;
}

/** Heat levels, coolest first: a line at or above LEVELS[i] of the run gets level i. */
export const LEVELS = [0.01, 0.05, 0.15, 0.3] as const;

/** The level (0-3) of a share, or -1 when it is too small to show. */
export function heatLevel(share: number): number {
  let level = -1;
  LEVELS.forEach((floor, i) => {
    if (share >= floor) level = i;
  });
  return level;
}

function normalise(p: string): string {
  return p.replace(/\\/g, "/").replace(/\/+$/, "");
}

/** The lines of `fsPath` (0-based line numbers) grouped by heat level, with the hover text of each. */
export function heatFor(fsPath: string, lines: readonly HotLine[]): Map<number, { line: number; text: string }[]> {
  const target = normalise(fsPath);
  const byLevel = new Map<number, { line: number; text: string }[]>();
  for (const hot of lines) {
    const file = normalise(hot.file);
    // Samplers may shorten file names (relative to a sys.path entry): a suffix match counts.
    if (!(file === target || target.endsWith("/" + file.replace(/^\.\//, "")))) continue;
    const level = heatLevel(hot.share);
    if (level < 0 || hot.line < 1) continue;
    const waiting = hot.self && hot.idle ? ` (${Math.round((100 * hot.idle) / hot.self)}% of it waiting)` : "";
    const entry = { line: hot.line - 1, text: `perfsquad: ${(100 * hot.share).toFixed(1)}% of the run on this line${waiting}` };
    byLevel.set(level, [...(byLevel.get(level) ?? []), entry]);
  }
  return byLevel;
}

/** A gutter icon for a level: a bar whose width grows with the heat, drawn for a light or a dark theme. */
export function heatIcon(level: number, theme: "light" | "dark"): string {
  // Dark reds on light themes, bright oranges on dark ones: both keep a 3:1 contrast with the background.
  const colours = theme === "light" ? ["#f4a582", "#e4572e", "#c0392b", "#7f0000"] : ["#7a3b12", "#c25e00", "#ff8c00", "#ffd166"];
  const width = 3 + 2 * level;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><rect x="${16 - width}" y="1" width="${width}" height="14" fill="${colours[level]}"/></svg>`;
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString("base64")}`;
}
