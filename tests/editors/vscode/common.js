// What the VS Code drivers (drive.js, drive_notebook.js, drive_leakcheck.js) share: the result file,
// steps, screenshots, bounded waits, the palette, and the browser's start and end.
//
// Environment: PLAYWRIGHT_CORE (the playwright-core package), ARTIFACTS (screenshots), RESULT (the
// JSON result), URL (code-server with ?folder=), CHROMIUM (default /usr/bin/chromium).
"use strict";
const fs = require("fs");
const path = require("path");

const mod = process.platform === "darwin" ? "Meta" : "Control";

/** A driver named `name`: `run(body)` opens the workbench, calls `body(page)`, records any error
 * (with a screenshot `failurePrefix`-failure.png) and exits 0 only when nothing failed. */
function driver(name, failureShot = "failure", viewport = { width: 1400, height: 900 }) {
  const result = { steps: [], errors: [] };
  const artifacts = process.env.ARTIFACTS;

  function save() {
    fs.writeFileSync(process.env.RESULT, JSON.stringify(result, null, 2));
  }

  function step(stepName, data) {
    result.steps.push({ name: stepName, at: new Date().toISOString(), ...data });
    save();
    process.stderr.write(`${name}: ${stepName}\n`);
  }

  async function shot(page, shotName) {
    const file = path.join(artifacts, `${shotName}.png`);
    await page.screenshot({ path: file });
    return file;
  }

  async function run(body) {
    const { chromium } = require(process.env.PLAYWRIGHT_CORE);
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
    const page = await browser.newPage({ viewport });
    page.setDefaultTimeout(30000);
    try {
      await page.goto(process.env.URL);
      await page.locator(".monaco-workbench").waitFor({ state: "visible", timeout: 90000 });
      step("workbench loaded");
      await body(page);
    } catch (error) {
      result.errors.push(String(error && error.stack ? error.stack : error));
      try {
        await shot(page, failureShot);
      } catch {
        // the page is gone
      }
    } finally {
      save();
      await browser.close();
    }
  }

  function main(body) {
    run(body).then(
      () => process.exit(result.errors.length ? 1 : 0),
      (error) => {
        result.errors.push(String(error));
        save();
        process.exit(1);
      },
    );
  }

  return { result, save, step, shot, main };
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

async function runPaletteCommand(page, title) {
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible", timeout: 15000 });
  await input.fill(`>${title}`);
  const row = page.locator(".quick-input-list .monaco-list-row", { hasText: title }).first();
  await row.waitFor({ state: "visible", timeout: 15000 });
  // Rows ignore synthetic clicks now and then: make sure the first row is the one, then press Enter.
  const first = (await page.locator(".quick-input-list .monaco-list-row").first().innerText()).trim();
  if (!first.includes(title)) throw new Error(`palette: first row is "${first}", not "${title}"`);
  await page.keyboard.press("Enter");
}

/** Quick Open (Ctrl+P) a workspace file by name, without waiting for its editor. */
async function quickOpen(page, name) {
  await page.keyboard.press(`${mod}+P`);
  const quick = page.locator(".quick-input-widget input");
  await quick.waitFor({ state: "visible" });
  await quick.fill(name);
  await page.locator(".quick-input-list .monaco-list-row", { hasText: name.split("/").pop() }).first().waitFor();
  await page.keyboard.press("Enter");
}

/** Quick Open a workspace file and wait until the editor shows `lineText`. */
async function openFile(page, name, lineText) {
  await quickOpen(page, name);
  await page.locator(".monaco-editor .view-line", { hasText: lineText }).first().waitFor({ state: "visible", timeout: 60000 });
}

module.exports = { driver, waitFor, runPaletteCommand, quickOpen, openFile, mod };
