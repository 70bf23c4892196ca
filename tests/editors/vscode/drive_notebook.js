// Drive a real VS Code (code-server in Debian Chromium, via playwright-core) through perfsquad on a
// Jupyter notebook: open it in the notebook editor (VS Code's built-in `vscode.ipynb` serializer; no
// Jupyter extension, no kernel), wait for the squiggle in the cosine cell, apply the quick fix from
// that cell, save, and write what it observed to a JSON file for tests/editors/test_vscode_notebook.py.
//
// Environment (set by the test):
//   PLAYWRIGHT_CORE  path of the playwright-core package     URL       code-server URL with ?folder=
//   FILE             notebook file name (in the workspace)   FILE_PATH its path on disk
//   ARTIFACTS        folder for screenshots                  RESULT    where to write the JSON result
//   FIX              the label the quick fix starts with     LINE      text of the finding's cell line
//   FIXED            text the fixed line contains             CHROMIUM  browser (default /usr/bin/chromium)
"use strict";
const fs = require("fs");
const { driver, waitFor, quickOpen, mod } = require("./common");

const { step, shot, main } = driver("drive-notebook", "nb-failure");
const filePath = process.env.FILE_PATH;

// The notebook's cell editors (each cell is its own Monaco editor inside the notebook editor).
const CELL_EDITOR = ".notebook-editor .cell-editor-container .monaco-editor";

/** The centre of a squiggle on the cell-editor line containing `lineText`, or null. */
async function squiggleOnLine(page, lineText) {
  const line = await page.locator(`${CELL_EDITOR} .view-line`, { hasText: lineText }).first().boundingBox();
  if (!line) return null;
  const squiggles = page.locator(`${CELL_EDITOR} [class*='squiggly-']`);
  for (let i = 0; i < (await squiggles.count()); i++) {
    const box = await squiggles.nth(i).boundingBox();
    if (box && box.y + box.height / 2 >= line.y && box.y + box.height / 2 <= line.y + line.height) {
      return { x: box.x + box.width / 2, y: line.y + line.height / 2 };
    }
  }
  return null;
}

main(async (page) => {
  const lineText = process.env.LINE;
  const fixLabel = process.env.FIX;
  // Open the notebook with Quick Open: VS Code's own ipynb serializer opens it in the notebook editor.
  await page.locator(".monaco-workbench").click({ position: { x: 700, y: 400 } });
  await quickOpen(page, process.env.FILE);
  await page.locator(`${CELL_EDITOR} .view-line`, { hasText: lineText }).first().waitFor({ state: "visible", timeout: 60000 });
  const cells = await page.locator(".notebook-editor .cell-editor-container").count();
  step("notebook opened", { cells, screenshot: await shot(page, "nb-01-opened") });

  // 1. The squiggle in the cosine cell, on the finding's line.
  const at = await waitFor(() => squiggleOnLine(page, lineText), `a squiggle on the cell line ${JSON.stringify(lineText)}`, 120000);
  const squiggles = await page.locator(`${CELL_EDITOR} [class*='squiggly-']`).count();
  step("squiggle in cell", { squiggles, screenshot: await shot(page, "nb-02-squiggle") });

  // The Problems panel names the finding (its resource: the cell).
  await page.keyboard.press(`${mod}+Shift+M`);
  const problemRow = page.locator(".markers-panel .monaco-list-row", { hasText: "VEC001" }).first();
  await problemRow.waitFor({ state: "visible", timeout: 30000 });
  const problems = await page.locator(".markers-panel .monaco-list-row").allInnerTexts();
  step("problems listed", { problems, screenshot: await shot(page, "nb-03-problems") });
  await page.keyboard.press(`${mod}+J`); // hide the panel again

  // 2. The quick fix: cursor on the finding in the cell, Ctrl+. , pick the fix by its label, Enter.
  const fixAt = await waitFor(() => squiggleOnLine(page, lineText), "the squiggle after closing the panel", 15000);
  await page.mouse.click(fixAt.x, fixAt.y);
  await page.keyboard.press(`${mod}+.`);
  const actionList = page.locator(".action-widget .monaco-list-row");
  await actionList.first().waitFor({ state: "visible", timeout: 20000 });
  const actions = (await actionList.allInnerTexts()).map((t) => t.trim());
  step("quick fixes offered", { actions, screenshot: await shot(page, "nb-04-quickfix-menu") });
  if (!actions.some((t) => t.includes(fixLabel))) throw new Error(`no "${fixLabel}" quick fix among ${JSON.stringify(actions)}`);
  // The list ignores mouse clicks: move the focus to the row with the keyboard, then Enter.
  for (let i = 0; i < actions.length + 2; i++) {
    const focused = page.locator(".action-widget .monaco-list-row.focused");
    const text = (await focused.count()) ? (await focused.first().innerText()).trim() : "";
    if (text.includes(fixLabel)) break;
    await page.keyboard.press("ArrowDown");
  }
  await page.keyboard.press("Enter");
  await waitFor(
    async () => (await page.locator(`${CELL_EDITOR} .view-line`, { hasText: process.env.FIXED }).count()) > 0,
    "the quick fix to change the cell",
    20000,
  );
  step("quick fix applied", { screenshot: await shot(page, "nb-05-fixed") });

  // 3. Save the notebook (the serializer writes the .ipynb) and read it back from disk.
  await page.keyboard.press(`${mod}+S`);
  await waitFor(() => fs.readFileSync(filePath, "utf8").includes(process.env.FIXED), "the saved notebook on disk", 20000);
  step("notebook saved", { disk: fs.readFileSync(filePath, "utf8") });

  // The fixed cell no longer has that finding's squiggle.
  await waitFor(async () => !(await squiggleOnLine(page, process.env.FIXED)), "the squiggle to go", 30000);
  step("squiggle gone", { screenshot: await shot(page, "nb-06-saved") });
});
