import assert from "node:assert/strict";
import { test } from "node:test";
import { heatFor, heatIcon, heatLevel } from "../src/heat";

test("heat levels grow with the share and skip what is too small to show", () => {
  assert.equal(heatLevel(0.001), -1);
  assert.equal(heatLevel(0.01), 0);
  assert.equal(heatLevel(0.07), 1);
  assert.equal(heatLevel(0.2), 2);
  assert.equal(heatLevel(0.55), 3);
});

test("heat for one file: its lines only (a shortened sampler path counts), 0-based, with hover text", () => {
  const lines = [
    { file: "/w/pkg/app.py", line: 6, share: 0.4, self: 0.8, idle: 0.2 },
    { file: "pkg/app.py", line: 12, share: 0.02 },
    { file: "/w/pkg/other.py", line: 3, share: 0.9 },
    { file: "/w/pkg/app.py", line: 20, share: 0.0001 },
  ];
  const heat = heatFor("/w/pkg/app.py", lines);
  assert.deepEqual([...heat.keys()].sort(), [0, 3]);
  assert.deepEqual(heat.get(3)?.map((e) => e.line), [5]);
  assert.match(heat.get(3)![0].text, /40\.0% of the run on this line \(25% of it waiting\)/);
  assert.deepEqual(heat.get(0)?.map((e) => e.line), [11]);
  assert.equal(heatFor("/w/pkg/nothing.py", lines).size, 0);
});

test("icons differ per theme and level and are SVG data URIs", () => {
  const light = heatIcon(3, "light");
  const dark = heatIcon(3, "dark");
  assert.notEqual(light, dark);
  assert.notEqual(heatIcon(0, "light"), light);
  const svg = Buffer.from(light.split(",")[1], "base64").toString();
  assert.match(svg, /^<svg .*<rect .*fill="#7f0000"/);
});
