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
const { driver, waitFor, runPaletteCommand, openFile, mod } = require("./common");

const { step, shot, main } = driver("drive-leakcheck", "leak-failure");

async function toasts(page) {
  return (await page.locator(".notifications-toasts .notification-toast").allInnerTexts()).map((t) => t.replace(/\s+/g, " ").trim());
}

main(async (page) => {
  await page.locator(".monaco-workbench").click({ position: { x: 700, y: 400 } });
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
});
