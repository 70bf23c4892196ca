// Drive a real VS Code (code-server in Debian Chromium, via playwright-core) through "perfsquad: Leak
// Check" on the demo's run.py (issue #20: it timed out at 120 s, could not be cancelled, and showed two
// toasts and a traceback): open run.py, run the palette command, wait for the result's notification,
// count the notifications, then open memoria/cache.py and read the HOT004 problem; write what it saw
// to a JSON file for tests/editors/test_vscode_leakcheck.py.
//
// Environment (set by the test):
//   PLAYWRIGHT_CORE  path of the playwright-core package     URL       code-server URL with ?folder=
//   ARTIFACTS        folder for screenshots                  RESULT    where to write the JSON result
//   CHROMIUM         browser (default /usr/bin/chromium)
"use strict";
const fs = require("fs");
const path = require("path");
const { chromium } = require(process.env.PLAYWRIGHT_CORE);

const result = { steps: [], errors: [] };
const artifacts = process.env.ARTIFACTS;
const mod = process.platform === "darwin" ? "Meta" : "Control";

function save() {
  fs.writeFileSync(process.env.RESULT, JSON.stringify(result, null, 2));
}

function step(name, data) {
  result.steps.push({ name, at: new Date().toISOString(), ...data });
  save();
  process.stderr.write(`drive-leakcheck: ${name}\n`);
}

async function waitFor(fn, what, timeoutMs = 60000, intervalMs = 250) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

async function shot(page, name) {
  const file = path.join(artifacts, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}


async function openFile(page, name, lineText) {
  await page.keyboard.press(`${mod}+P`);
  const quick = page.locator(".quick-input-widget input");
  await quick.waitFor({ state: "visible" });
  await quick.fill(name);
  await page.locator(".quick-input-list .monaco-list-row", { hasText: name.split("/").pop() }).first().waitFor();
  await page.keyboard.press("Enter");
  await page.locator(".monaco-editor .view-line", { hasText: lineText }).first().waitFor({ state: "visible", timeout: 60000 });
}

async function runPaletteCommand(page, title) {
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible", timeout: 15000 });
  await input.fill(`>${title}`);
  const row = page.locator(".quick-input-list .monaco-list-row", { hasText: title }).first();
  await row.waitFor({ state: "visible", timeout: 15000 });
  const first = (await page.locator(".quick-input-list .monaco-list-row").first().innerText()).trim();
  if (!first.includes(title)) throw new Error(`palette: first row is "${first}", not "${title}"`);
  await page.keyboard.press("Enter");
}

async function toasts(page) {
  return (await page.locator(".notifications-toasts .notification-toast").allInnerTexts()).map((t) => t.replace(/\s+/g, " ").trim());
}

async function main() {
  fs.mkdirSync(artifacts, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(30000);
  try {
    await page.goto(process.env.URL);
    await page.locator(".monaco-workbench").waitFor({ state: "visible", timeout: 90000 });
    await page.locator(".monaco-workbench").click({ position: { x: 700, y: 400 } });
    step("workbench loaded");

    await openFile(page, "run.py", "import argparse");
    // The server is up once the status bar item says perfsquad.
    await waitFor(async () => (await page.locator(".statusbar-item", { hasText: "perfsquad" }).count()) > 0, "the perfsquad status item", 90000);
    step("run.py opened", { screenshot: await shot(page, "leak-01-opened") });

    const started = Date.now();
    await runPaletteCommand(page, "perfsquad: Leak Check");
    const during = await waitFor(async () => {
      const now = await toasts(page);
      return now.some((t) => /leak check/i.test(t)) ? now : null;
    }, "the leak check's progress notification", 30000);
    step("leak check running", { toasts: during, screenshot: await shot(page, "leak-02-running") });
    const resultToast = await waitFor(async () => {
      const now = await toasts(page);
      return now.find((t) => t.includes("leak check of run.py")) || null;
    }, "the leak check's result notification", 240000, 500);
    const seconds = (Date.now() - started) / 1000;
    await new Promise((r) => setTimeout(r, 4000)); // (a second toast, if any, has time to appear)
    const after = await toasts(page);
    step("leak check result shown", { toast: resultToast, toasts: after, seconds, screenshot: await shot(page, "leak-03-result") });

    // The holder's definition carries a HOT004 problem once memoria/cache.py is open.
    await openFile(page, "memoria/cache.py", "_EMBED_CACHE");
    await page.keyboard.press(`${mod}+Shift+M`);
    const row = page.locator(".markers-panel .monaco-list-row", { hasText: "HOT004" }).first();
    await row.waitFor({ state: "visible", timeout: 60000 });
    const problems = await page.locator(".markers-panel .monaco-list-row").allInnerTexts();
    step("leak problem listed", { problems, screenshot: await shot(page, "leak-04-problem") });
  } catch (error) {
    result.errors.push(String(error && error.stack ? error.stack : error));
    try {
      await shot(page, "leak-failure");
    } catch {
      // the page is gone
    }
  } finally {
    save();
    await browser.close();
  }
}

main().then(
  () => process.exit(result.errors.length ? 1 : 0),
  (error) => {
    result.errors.push(String(error));
    save();
    process.exit(1);
  },
);
