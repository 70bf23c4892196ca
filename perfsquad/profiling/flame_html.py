"""The profile view as one self-contained HTML page: an icicle graph, hot functions, hot lines.

The same page is the VS Code profile view (a webview: a click posts ``{"open": file, "line": n}``
to the extension, which opens the source) and, for other editors, a file the server opens with
``window/showDocument`` (a click there shows the place in the status line of the page). No
network, no external script: the data is embedded as JSON and drawn by a small script.
Colours come from the editor's theme variables when there are some (webview), else from a
light/dark ``prefers-color-scheme`` pair; the text on the graph is always dark on a light
fill, so it reads on both themes.
"""

from __future__ import annotations

import html
import json
import secrets
from typing import Any

_STYLE = """
:root { color-scheme: light dark; --fg: var(--vscode-editor-foreground, #1f1f1f);
  --bg: var(--vscode-editor-background, #ffffff); --muted: var(--vscode-descriptionForeground, #616161);
  --border: var(--vscode-panel-border, #d0d0d0); --hl: var(--vscode-editor-findMatchHighlightBackground, #ffd33d88); }
@media (prefers-color-scheme: dark) { :root { --fg: var(--vscode-editor-foreground, #e0e0e0);
  --bg: var(--vscode-editor-background, #1e1e1e); --muted: var(--vscode-descriptionForeground, #a0a0a0);
  --border: var(--vscode-panel-border, #444444); } }
body { font: 13px var(--vscode-font-family, system-ui, sans-serif); color: var(--fg); background: var(--bg); margin: 12px; }
h1 { font-size: 15px; margin: 0 0 4px; } h2 { font-size: 14px; margin: 18px 0 6px; }
.meta { color: var(--muted); margin-bottom: 10px; }
#search { width: 320px; padding: 3px 6px; margin: 6px 0; color: var(--fg); background: var(--bg);
  border: 1px solid var(--border); }
#matched { color: var(--muted); margin-left: 8px; }
#flame { position: relative; width: 100%; overflow: hidden; border: 1px solid var(--border); }
.node { position: absolute; height: 18px; box-sizing: border-box; border: 1px solid var(--bg);
  overflow: hidden; white-space: nowrap; text-overflow: ellipsis; font-size: 11px; line-height: 16px;
  padding: 0 3px; color: #111111; cursor: pointer; }
.node.match { outline: 2px solid #d400ff; outline-offset: -2px; }
.node.dim { opacity: 0.35; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 2px 8px;
  border-bottom: 1px solid var(--border); } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
a.src { color: var(--vscode-textLink-foreground, #0066bf); cursor: pointer; text-decoration: none; }
a.src:hover { text-decoration: underline; }
.bar { display: inline-block; height: 8px; background: #e8590c; vertical-align: middle; margin-right: 6px; }
#where { color: var(--muted); min-height: 1.2em; }
"""

_SCRIPT = r"""
(function () {
  const data = JSON.parse(document.getElementById("profile-data").textContent);
  const vscode = typeof acquireVsCodeApi === "function" ? acquireVsCodeApi() : null;
  const where = document.getElementById("where");
  function open(file, line) {
    if (vscode) vscode.postMessage({ open: file, line: line });
    where.textContent = file + ":" + line;
  }
  function pct(x) { return (100 * x).toFixed(1) + "%"; }
  function hue(name) { let h = 0; for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0; return h; }
  function fill(node) {
    // Warm for running code, blue for time caught waiting: light fills, dark text, on every theme.
    const waiting = node.value > 0 && node.idle / node.value >= 0.5;
    const h = hue(node.label);
    return waiting ? "hsl(" + (200 + (h % 30)) + ",70%,78%)" : "hsl(" + (10 + (h % 45)) + ",85%," + (68 + (h % 12)) + "%)";
  }
  const flame = document.getElementById("flame");
  const nodes = [];
  if (data.tree) {
    let depth = 0;
    (function place(node, x, level, parent) {
      depth = Math.max(depth, level);
      const el = document.createElement("div");
      el.className = "node";
      el.style.left = pct(x); el.style.width = pct(node.share); el.style.top = (level * 18) + "px";
      el.style.background = fill(node);
      el.textContent = node.label;
      el.title = node.label + " — " + pct(node.share) + " of the run" +
        (node.idle > 0 ? ", " + pct(node.idle / Math.max(node.value, 1e-9)) + " of it waiting" : "") +
        (node.file ? "\n" + node.file + ":" + node.line : "");
      el.dataset.name = (node.name + " " + node.file).toLowerCase();
      if (node.file) el.addEventListener("click", () => open(node.file, node.line));
      flame.appendChild(el);
      const item = { el: el, node: node, parent: parent, hit: false };
      nodes.push(item);  // parents before children: the search walks up through items already marked
      let cx = x;
      for (const child of node.children) { place(child, cx, level + 1, item); cx += child.share; }
    })(data.tree, 0, 0, null);
    flame.style.height = ((depth + 1) * 18) + "px";
  } else {
    flame.textContent = data.tree_note || "no flame graph";
    flame.style.padding = "8px";
  }
  const search = document.getElementById("search"), matched = document.getElementById("matched");
  search.addEventListener("input", () => {
    const q = search.value.trim().toLowerCase();
    let share = 0;
    for (const item of nodes) {
      item.hit = q !== "" && item.el.dataset.name.includes(q);
      item.el.classList.toggle("match", item.hit);
      item.el.classList.toggle("dim", q !== "" && !item.hit);
      // A match under a matching caller is already inside that caller's width.
      let up = item.parent, covered = false;
      while (up) { if (up.hit) { covered = true; break; } up = up.parent; }
      if (item.hit && !covered) share += item.node.share;
    }
    matched.textContent = q ? "matched: " + pct(share) + " of the run" : "";
  });
  function table(id, rows, cells) {
    const body = document.querySelector("#" + id + " tbody");
    for (const row of rows) {
      const tr = document.createElement("tr");
      tr.innerHTML = cells(row);
      tr.querySelector("a.src").addEventListener("click", () => open(row.file, row.line));
      body.appendChild(tr);
    }
  }
  function esc(s) { const d = document.createElement("div"); d.textContent = s; return d.innerHTML; }
  function bar(share) { return '<span class="bar" style="width:' + Math.max(1, Math.round(share * 120)) + 'px"></span>'; }
  table("functions", data.functions, (r) =>
    '<td><a class="src">' + esc(r.name) + '</a></td><td>' + esc(r.where) + '</td><td class="num">' + bar(r.share) + pct(r.share) +
    '</td><td class="num">' + pct(r.self_share) + '</td><td class="num">' + pct(r.total > 0 ? r.idle / r.total : 0) +
    '</td><td class="num">' + (r.calls == null ? "" : r.calls) + "</td>");
  table("lines", data.lines, (r) =>
    '<td><a class="src">' + esc(r.where) + '</a></td><td>' + esc(r.function) + '</td><td class="num">' + bar(r.share) + pct(r.share) +
    '</td><td class="num">' + pct(r.self > 0 ? r.idle / r.self : 0) + "</td>");
})();
"""


def render(view: dict[str, Any], nonce: str | None = None, csp_source: str | None = None) -> str:
    """The page for :func:`perfsquad.profiling.flame.profile_view`'s data. ``csp_source`` is the
    webview's ``cspSource`` (VS Code) for the Content-Security-Policy; scripts run by nonce only."""
    nonce = nonce or secrets.token_hex(16)
    styles = f"'nonce-{nonce}'" + (f" {csp_source}" if csp_source else "")
    csp = f"default-src 'none'; style-src {styles}; script-src 'nonce-{nonce}'; img-src data:;"
    payload = json.dumps(view).replace("<", "\\u003c")  # no tag can end or open inside the data
    wall = float(view.get("wall") or 0.0)
    command = " ".join(str(c) for c in view.get("command") or ())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{html.escape(csp, quote=False).replace(chr(34), "&quot;")}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>perfsquad profile</title><style nonce="{nonce}">{_STYLE}</style></head>
<body>
<h1>Profile: {html.escape(str(view.get("headline") or "no headline"))}</h1>
<div class="meta">{html.escape(command)} · wall {wall:.2f} s · {html.escape(str(view.get("sampler", "")))} ·
Python {html.escape(str(view.get("python", "")))} · {html.escape(str(view.get("created", ""))[:19])}</div>
<h2>Flame graph (icicle: callers above callees; width = share of the run; blue = waiting)</h2>
<input id="search" type="search" placeholder="Search functions or files" aria-label="Search the flame graph">
<span id="matched"></span>
<div id="flame" role="img" aria-label="flame graph"></div>
<div id="where"></div>
<h2>Hot functions (this project's code)</h2>
<table id="functions"><thead><tr><th>function</th><th>where</th><th class="num">total</th><th class="num">self</th>
<th class="num">waiting</th><th class="num">calls</th></tr></thead><tbody></tbody></table>
<h2>Hot lines</h2>
<table id="lines"><thead><tr><th>line</th><th>function</th><th class="num">share</th><th class="num">waiting</th>
</tr></thead><tbody></tbody></table>
<script id="profile-data" type="application/json">{payload}</script>
<script nonce="{nonce}">{_SCRIPT}</script>
</body></html>
"""
