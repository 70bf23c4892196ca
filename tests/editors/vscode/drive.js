// Drive a real VS Code (code-server in Debian Chromium, via playwright-core) through perfsquad's
// editor features, and write what it observed to a JSON file for tests/editors/test_vscode.py to check.
//
// Environment (set by tests/editors/test_vscode.py):
//   PLAYWRIGHT_CORE  path of the playwright-core package     URL       code-server URL with ?folder=
//   FILE             file name to open (in the workspace)    FILE_PATH its path on disk
//   ARTIFACTS        folder for screenshots                  RESULT    where to write the JSON result
//   EXT_MARK         a string found in the environment of our `perfsquad serve` processes only
//   CHROMIUM         browser executable (default /usr/bin/chromium)
//   SCENARIO         "roadmap": only profile PROFILE_FILE and check the Optimization Roadmap view;
//                    "truth": profile the demo (run.py), then a script that fails, and read the
//                    Problems of memoria/similarity.py before, between and after
"use strict";
const fs = require("fs");
const path = require("path");
const { driver, waitFor, runPaletteCommand, quickOpen, openFile, mod } = require("./common");

const { step, shot, main } = driver("drive", "failure", { width: 1400, height: 860 });
const artifacts = process.env.ARTIFACTS;
const filePath = process.env.FILE_PATH;

/** Our server processes: `python -m perfsquad serve` whose environment carries EXT_MARK. */
function serverPids() {
  const pids = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (!(cmd.includes("perfsquad") && cmd.includes("serve"))) continue;
      const env = fs.readFileSync(`/proc/${entry}/environ`, "utf8");
      if (env.includes(process.env.EXT_MARK)) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids.sort((a, b) => a - b);
}

/** The centre of the squiggle on the editor line that contains `lineText`. */
async function squiggleCentre(page, lineText) {
  // Polls: the editor re-renders its decorations after layout changes (panel shown or hidden).
  const find = async () => {
    const line = await page.locator(".monaco-editor .view-line", { hasText: lineText }).first().boundingBox();
    if (!line) return null;
    const squiggles = page.locator(".monaco-editor [class*='squiggly-']");
    for (let i = 0; i < (await squiggles.count()); i++) {
      const box = await squiggles.nth(i).boundingBox();
      if (box && box.y + box.height / 2 >= line.y && box.y + box.height / 2 <= line.y + line.height) {
        return { x: box.x + box.width / 2, y: line.y + line.height / 2 };
      }
    }
    return null;
  };
  return waitFor(find, `a squiggle on the line containing ${JSON.stringify(lineText)}`, 15000);
}

/** Hover with the mouse over the squiggle on that line; returns the hover's text ("" if none showed). */
async function hoverSquiggle(page, lineText, mustContain) {
  const { x, y } = await squiggleCentre(page, lineText);
  for (let attempt = 0; attempt < 4; attempt++) {
    await page.mouse.move(x - 60, y + 80);
    await page.mouse.move(x, y, { steps: 8 });
    try {
      const hover = page.locator(".monaco-hover", { hasText: mustContain }).first();
      await hover.waitFor({ state: "visible", timeout: 6000 });
      return (await hover.innerText()).trim();
    } catch {
      // move away and hover again
    }
  }
  return "";
}

/** "perfsquad: Profile Current File"; returns the profile's headline once the status bar shows it. */
async function profileCurrentFile(page) {
  await runPaletteCommand(page, "perfsquad: Profile Current File");
  return waitFor(
    async () => {
      const text = await statusText(page);
      return /bound/i.test(text) ? text : null;
    },
    "the profile headline in the status bar",
    120000,
  );
}

/** The first frame (webviews are iframes) holding `selector`, once one does. */
async function frameWith(page, selector, what) {
  return waitFor(
    async () => {
      for (const frame of page.frames()) {
        try {
          if ((await frame.locator(selector).count()) > 0) return frame;
        } catch {
          // a frame that went away while we looked
        }
      }
      return null;
    },
    what,
    120000,
  );
}

/**
 * The roadmap scenario (SCENARIO=roadmap): profile a script, open "perfsquad: Optimization Roadmap" from
 * the palette, read the rendered view's rows (each place a link to its file and line), click the first
 * row's place and read where the editor's cursor went.
 */
async function roadmapScenario(page) {
  await openFile(page, process.env.PROFILE_FILE, "def busy");
  const headline = await profileCurrentFile(page);
  step("profiled", { status: headline });
  await runPaletteCommand(page, "perfsquad: Optimization Roadmap");
  const view = await frameWith(page, "#roadmap tr.roadmap-row a.src", "the roadmap view's linked rows");
  const rows = await view.locator("#roadmap tr.roadmap-row").evaluateAll((trs) =>
    trs.map((tr) => {
      const a = tr.querySelector("a.src");
      return {
        code: tr.dataset.code,
        rank: tr.dataset.rank,
        text: tr.innerText,
        href: a ? a.getAttribute("href") : null,
        file: a ? a.dataset.file : null,
        line: a ? Number(a.dataset.line) : null,
      };
    }),
  );
  const heading = (await view.locator("h1").first().innerText()).trim();
  const basis = (await view.locator("h2 + p").first().innerText()).trim();
  const colors = await view.locator("body").evaluate((body) => {
    const style = getComputedStyle(body);
    return { color: style.color, background: style.backgroundColor, classes: body.className };
  });
  const viewShot = await shot(page, "11-roadmap-view");
  const target = rows.find((r) => r.file && r.file.endsWith(process.env.PROFILE_FILE)) || rows[0];
  await view.locator(`#roadmap tr.roadmap-row[data-rank="${target.rank}"] a.src`).first().click();
  const opened = await waitFor(
    async () => {
      const tab = (await page.locator(".tab.active").first().innerText()).trim();
      const cursor = page.locator(".statusbar-item", { hasText: /Ln \d+, Col \d+/ }).first();
      const where = (await cursor.count()) ? (await cursor.innerText()).trim() : "";
      return tab.includes(path.basename(target.file)) && where ? { tab, where } : null;
    },
    "the source opened from the roadmap view",
    30000,
  );
  step("roadmap view shown", {
    heading,
    basis,
    rows,
    colors,
    clicked: target,
    openedTab: opened.tab,
    cursor: opened.where,
    screenshot: viewShot,
  });

  // The same view on a dark theme: the page takes the theme's colours.
  const settingsFile = process.env.WORKSPACE_SETTINGS;
  const settings = JSON.parse(fs.readFileSync(settingsFile, "utf8"));
  fs.writeFileSync(settingsFile, JSON.stringify({ ...settings, "workbench.colorTheme": "Default Dark Modern" }, null, 2));
  const dark = await waitFor(
    async () => {
      const found = await view.locator("body").evaluate((body) => {
        const style = getComputedStyle(body);
        const link = body.querySelector("a.src");
        return { color: style.color, background: style.backgroundColor, classes: body.className,
                 link: link ? getComputedStyle(link).color : "" };
      });
      return found.classes.includes("vscode-dark") ? found : null;
    },
    "the roadmap view on the dark theme",
    30000,
  );
  step("roadmap view on a dark theme", { colors: dark, screenshot: await shot(page, "12-roadmap-view-dark") });

  // "perfsquad: Audit Performance" uses the loaded profile too (nothing runs) and opens its report the same way.
  await runPaletteCommand(page, "perfsquad: Audit Performance");
  const audit = await frameWith(page, "h1:has-text('perfsquad audit') ~ table#roadmap tr.roadmap-row a.src", "the audit view's linked rows");
  const notes = await audit.locator("p.note").allInnerTexts();
  const auditRows = await audit.locator("#roadmap tr.roadmap-row").evaluateAll((trs) =>
    trs.map((tr) => ({ code: tr.dataset.code, line: Number(tr.querySelector("a.src").dataset.line),
                       file: tr.querySelector("a.src").dataset.file })),
  );
  step("audit view shown", { notes, rows: auditRows, screenshot: await shot(page, "13-audit-view") });
}

/** The Problems panel's entries of the file named `file`: text and severity icon of each. */
async function problemsOf(page, file) {
  return page.locator(".markers-panel .monaco-list-row").evaluateAll((rows, wanted) => {
    const found = [];
    let current = "";
    for (const row of rows) {
      const icon = row.querySelector(".marker-icon");
      if (!icon) {
        current = row.innerText; // a file's row: its entries follow
        continue;
      }
      if (current.includes(wanted)) {
        const classes = icon.className.split(/\s+/);
        const severity =
          ["error", "warning", "info"].find((s) => classes.includes(s) || classes.includes(`codicon-${s}`)) || icon.className;
        found.push({ text: row.innerText.replace(/\s+/g, " ").trim(), severity });
      }
    }
    return found;
  }, file);
}

/**
 * The truth scenario (SCENARIO=truth), in a workspace holding the demo: the Problems of
 * memoria/similarity.py before any profile; "Profile Current File" on run.py (the hot all-pairs loop
 * is in similarity.py); the same Problems after it (every finding still listed, severities as the
 * measured savings say); then "Profile Current File" on broken.py, a script that cannot start: the
 * error it shows, and the Problems once more (nothing changed).
 */
/** Bring the open editor tab of `name` to the front (quick open may offer another recent file first). */
async function showTab(page, name, lineText) {
  await page.locator(".tabs-container .tab", { hasText: name }).first().click();
  await page.locator(".monaco-editor .view-line", { hasText: lineText }).first().waitFor({ state: "visible", timeout: 60000 });
}

async function truthScenario(page) {
  await page.setViewportSize({ width: 1400, height: 1300 }); // room for every entry in the panel
  await openFile(page, "similarity.py", "Pure-Python vector maths");
  await page.keyboard.press(`${mod}+Shift+M`);
  const before = await waitFor(
    async () => {
      const rows = await problemsOf(page, "similarity.py");
      return rows.some((r) => r.text.includes("VEC006")) && rows.some((r) => r.text.includes("VEC001")) ? rows : null;
    },
    "the static findings of similarity.py in Problems",
    120000,
  );
  step("problems before the profile", { rows: before, screenshot: await shot(page, "13-truth-before") });

  await openFile(page, "run.py", "Workload entry point");
  const headline = await profileCurrentFile(page);
  await showTab(page, "similarity.py", "Pure-Python vector maths");
  const after = await waitFor(
    async () => {
      const rows = await problemsOf(page, "similarity.py");
      return rows.some((r) => /HOT00\d/.test(r.text)) && rows.length >= before.length ? rows : null;
    },
    "the weighed findings of similarity.py after the profile",
    120000,
  );
  await page.waitForTimeout(1000); // (a late re-publication would show in the next read)
  const settled = await problemsOf(page, "similarity.py");
  step("problems after the profile", { status: headline, rows: settled, first: after, screenshot: await shot(page, "14-truth-profiled") });

  await openFile(page, "broken.py", "no_such_module_for_perfsquad");
  await runPaletteCommand(page, "perfsquad: Profile Current File");
  const toast = await waitFor(
    async () => {
      const toasts = await page.locator(".notifications-toasts .notification-toast").allInnerTexts();
      return toasts.find((t) => /no_such_module_for_perfsquad|failed/i.test(t)) || null;
    },
    "the failed profile's error",
    120000,
  );
  const errorIcon = await page
    .locator(".notifications-toasts .notification-toast", { hasText: /no_such_module_for_perfsquad|failed/i })
    .first()
    .locator(".codicon-error")
    .count();
  const status = await statusText(page);
  await showTab(page, "similarity.py", "Pure-Python vector maths");
  await page.waitForTimeout(2000); // anything the failure re-published would have arrived
  const unchanged = await problemsOf(page, "similarity.py");
  step("problems after a failed profile", {
    toast,
    errorIcon,
    status,
    rows: unchanged,
    screenshot: await shot(page, "15-truth-failed"),
  });
}

async function statusText(page) {
  const item = page.locator(".statusbar-item", { hasText: "perfsquad" }).first();
  return (await item.count()) ? (await item.innerText()).trim() : "";
}

main(async (page) => {
  // Open the seeded file with Quick Open.
  await page.locator(".monaco-workbench").click({ position: { x: 700, y: 400 } });
  if (process.env.SCENARIO === "roadmap") {
    await roadmapScenario(page);
    return;
  }
  if (process.env.SCENARIO === "truth") {
    await truthScenario(page);
    return;
  }
  await quickOpen(page, process.env.FILE);
  await page.locator(".monaco-editor .view-lines").first().waitFor({ state: "visible" });
  step("file opened");

  // 1. The squiggle (the diagnostic in the editor) and the Problems entry.
  const squiggle = page.locator(".monaco-editor .squiggly-warning, .monaco-editor .squiggly-error, .monaco-editor .squiggly-info").first();
  await squiggle.waitFor({ state: "attached", timeout: 120000 });
  const squiggles = await page.locator(".monaco-editor [class*='squiggly-']").count();
  step("squiggle shown", { squiggles, screenshot: await shot(page, "01-squiggle") });
  await page.keyboard.press(`${mod}+Shift+M`);
  const problemRow = page.locator(".markers-panel .monaco-list-row", { hasText: "IDM006" }).first();
  await problemRow.waitFor({ state: "visible", timeout: 30000 });
  const problems = await page.locator(".markers-panel .monaco-list-row").allInnerTexts();
  step("problems listed", { problems, screenshot: await shot(page, "02-problems") });

  // 2. Hover on the IDM006 finding shows the rule and the measured speedup.
  // Wait for the server's hover ("Speedup"), not the diagnostic's line VS Code shows first with the
  // code already in it: the widget's text is read once both are in.
  const hoverText = await hoverSquiggle(page, "users.keys()", "Speedup");
  step("hover shown", { hover: hoverText, screenshot: await shot(page, "03-hover") });
  fs.copyFileSync(path.join(artifacts, "03-hover.png"), path.join(artifacts, "readme-screenshot.png"));

  // 3. The quick fix: cursor on the finding, Ctrl+. , pick the fix by its label, Enter, save.
  const fixAt = await squiggleCentre(page, "users.keys()");
  await page.mouse.click(fixAt.x, fixAt.y);
  await page.keyboard.press("Escape");
  await page.keyboard.press(`${mod}+.`);
  const actionList = page.locator(".action-widget .monaco-list-row");
  await actionList.first().waitFor({ state: "visible", timeout: 20000 });
  const actions = (await actionList.allInnerTexts()).map((t) => t.trim());
  const wanted = actions.findIndex((t) => t.includes("Fix IDM006"));
  step("quick fixes offered", { actions, screenshot: await shot(page, "04-quickfix-menu") });
  if (wanted < 0) throw new Error(`no "Fix IDM006" quick fix among ${JSON.stringify(actions)}`);
  // The list ignores mouse clicks: move the focus to the row with the keyboard, then Enter.
  for (let i = 0; i < actions.length + 2; i++) {
    const focused = page.locator(".action-widget .monaco-list-row.focused");
    const text = (await focused.count()) ? (await focused.first().innerText()).trim() : "";
    if (text.includes("Fix IDM006")) break;
    await page.keyboard.press("ArrowDown");
  }
  await page.keyboard.press("Enter");
  await waitFor(
    async () => !(await page.locator(".monaco-editor .view-line", { hasText: "users.keys()" }).count()),
    "the quick fix to change the editor text",
    20000,
  );
  await page.keyboard.press(`${mod}+S`);
  await waitFor(() => !fs.readFileSync(filePath, "utf8").includes("users.keys()"), "the fixed file on disk", 20000);
  step("quick fix applied and saved", { disk: fs.readFileSync(filePath, "utf8"), screenshot: await shot(page, "05-fixed") });

  // 4. Palette commands: Fix All (the remaining safe fix), then Restart Server.
  await runPaletteCommand(page, "perfsquad: Fix All Safe Findings in File");
  await waitFor(
    async () => !(await page.locator(".monaco-editor .view-line", { hasText: "map(lambda" }).count()),
    "Fix All to change the editor text",
    30000,
  );
  await page.keyboard.press(`${mod}+S`);
  await waitFor(() => !fs.readFileSync(filePath, "utf8").includes("map(lambda"), "the Fix All result on disk", 20000);
  step("fix all applied and saved", { disk: fs.readFileSync(filePath, "utf8") });

  const before = serverPids();
  const statusBefore = await statusText(page);
  await runPaletteCommand(page, "perfsquad: Restart Server");
  const after = await waitFor(
    () => {
      const now = serverPids();
      return now.length > 0 && !now.some((p) => before.includes(p)) ? now : null;
    },
    "a new perfsquad server process",
    60000,
  );
  const statusAfter = await waitFor(
    async () => {
      const text = await statusText(page);
      return text && !/starting|failed|stopped/.test(text) ? text : null;
    },
    "the status bar to show the server running again",
    60000,
  );
  // The restarted server works: break the file again and wait for a fresh squiggle.
  const squigglesBeforeEdit = await page.locator(".monaco-editor [class*='squiggly-']").count();
  await page.keyboard.press(`${mod}+End`);
  await page.keyboard.press("Enter");
  // Inside a function: a membership test at module level runs once, at import, and is reported
  // at low confidence only (hidden at the default settings).
  await page.keyboard.press("Home");
  await page.keyboard.type('def has_k(config: dict[str, int]) -> bool: return "k" in config.keys()', { delay: 5 });
  await waitFor(
    async () => (await page.locator(".monaco-editor [class*='squiggly-']").count()) > 0,
    "a diagnostic from the restarted server",
    60000,
  );
  step("restart ran", {
    squigglesBeforeEdit,
    pidsBefore: before,
    pidsAfter: after,
    statusBefore,
    statusAfter,
    screenshot: await shot(page, "06-after-restart"),
  });

  // The restarted server answers hovers too.
  await page.keyboard.press(`${mod}+J`); // hide the panel: more room for the hover
  await hoverSquiggle(page, "config.keys()", "Speedup");
  step("hover after restart", { screenshot: await shot(page, "07-hover-after-restart") });

  // 5. Settings reach the server: a severity override (workspace/didChangeConfiguration, no restart)
  //    turns the warning into an error; then an interpreter change restarts the server.
  const settingsFile = process.env.WORKSPACE_SETTINGS;
  const workspaceSettings = JSON.parse(fs.readFileSync(settingsFile, "utf8"));
  const pidsBeforeSeverity = serverPids();
  const errorsBefore = await page.locator(".monaco-editor .squiggly-error").count();
  fs.writeFileSync(settingsFile, JSON.stringify({ ...workspaceSettings, "perfsquad.severity": { IDM006: "error" } }, null, 2));
  await waitFor(
    async () => (await page.locator(".monaco-editor .squiggly-error").count()) > 0,
    "the severity setting to turn the IDM006 squiggle into an error",
    60000,
  );
  step("severity setting applied", {
    errorsBefore,
    pidsBeforeSeverity,
    pidsAfterSeverity: serverPids(),
    screenshot: await shot(page, "08-severity-error"),
  });
  fs.writeFileSync(
    settingsFile,
    JSON.stringify({ ...workspaceSettings, "perfsquad.interpreter": [process.env.PY3_PATH] }, null, 2),
  );
  const afterInterpreter = await waitFor(
    () => {
      const now = serverPids();
      return now.length > 0 && !now.some((p) => pidsBeforeSeverity.includes(p)) ? now : null;
    },
    "a new server after the interpreter setting changed",
    60000,
  );
  await waitFor(
    async () =>
      (await page.locator(".monaco-editor .squiggly-warning").count()) > 0 &&
      (await page.locator(".monaco-editor .squiggly-error").count()) === 0,
    "the restarted server's diagnostics (warning again: the severity override was removed)",
    60000,
  );
  step("interpreter setting restarted the server", { pidsAfterInterpreter: afterInterpreter });

  // 6. "perfsquad: Profile Current File" on a CPU-bound script: the status bar shows the profile's
  //    headline (perfsquad/status notification or the command's result) and HOT findings appear.
  await quickOpen(page, process.env.PROFILE_FILE);
  await page.locator(".monaco-editor .view-line", { hasText: "def busy" }).first().waitFor({ state: "visible" });
  await runPaletteCommand(page, "perfsquad: Profile Current File");
  const headline = await waitFor(
    async () => {
      const text = await statusText(page);
      return /bound/i.test(text) ? text : null;
    },
    "the profile headline in the status bar",
    120000,
  );
  await page.keyboard.press(`${mod}+Shift+M`);
  const hot = page.locator(".markers-panel .monaco-list-row", { hasText: "HOT00" }).first();
  await hot.waitFor({ state: "visible", timeout: 60000 });
  const hotProblems = await page.locator(".markers-panel .monaco-list-row").allInnerTexts();
  step("profile shown", { status: headline, problems: hotProblems, screenshot: await shot(page, "09-profile") });

  // 7. "perfsquad: Show Profile View": the flame graph and the hot tables in a webview (the server's
  //    page), a click on a hot function opens its source; the profiled file shows heat in the gutter.
  await page.keyboard.press(`${mod}+Shift+M`); // hide the Problems panel again
  const heatIcons = await waitFor(
    async () => {
      // Gutter icons are margin elements whose background is our SVG (the class names are generated).
      const n = await page.evaluate(() =>
        [...document.querySelectorAll(".monaco-editor .margin div")].filter((el) =>
          getComputedStyle(el).backgroundImage.includes("image/svg+xml"),
        ).length,
      );
      return n > 0 ? n : null;
    },
    "line heat in the gutter of the profiled file",
    60000,
  );
  await runPaletteCommand(page, "perfsquad: Show Profile View");
  const viewFrame = await waitFor(
    async () => {
      for (const frame of page.frames()) {
        try {
          if ((await frame.locator("#flame .node").count()) > 0) return frame;
        } catch {
          // a frame that went away while we looked
        }
      }
      return null;
    },
    "the profile view's flame graph",
    60000,
  );
  const flameLabels = await viewFrame.locator("#flame .node").allInnerTexts();
  const functionRows = await viewFrame.locator("#functions tbody tr").allInnerTexts();
  await viewFrame.locator("#search").fill("busy");
  const matched = await viewFrame.locator("#matched").innerText();
  const viewShot = await shot(page, "10-profile-view");
  await viewFrame.locator("#functions tbody tr", { hasText: "busy" }).first().locator("a.src").click();
  const opened = await waitFor(
    async () => {
      const tab = (await page.locator(".tab.active").first().innerText()).trim();
      const cursorLine = await page.locator(".monaco-editor .current-line").count();
      return tab.includes(process.env.PROFILE_FILE) && cursorLine > 0 ? tab : null;
    },
    "the hot function's source opened from the profile view",
    30000,
  );
  step("profile view shown", {
    heatIcons,
    flameLabels,
    functionRows,
    matched,
    openedTab: opened,
    screenshot: viewShot,
  });
});
