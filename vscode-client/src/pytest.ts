// Finding the pytest node id of the test around the cursor, from the text alone. Pure.

const DEF = /^(\s*)(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(/;
const CLASS = /^(\s*)class\s+([A-Za-z_]\w*)\s*[(:]/;

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

/**
 * The pytest node id (`path::Class::test_name`) of the test function containing `line` (0-based),
 * or undefined when the cursor is not inside a `test*` function. `relPath` uses forward slashes.
 */
export function pytestNodeAt(text: string, line: number, relPath: string): string | undefined {
  const lines = text.split(/\r\n|\r|\n/);
  if (line < 0 || line >= lines.length) {
    return undefined;
  }
  // Walk upwards: each line less indented than everything seen so far is an enclosing block header.
  const chain: { kind: "def" | "class"; name: string }[] = [];
  let limit = Number.POSITIVE_INFINITY;
  for (let i = line; i >= 0 && limit > 0; i--) {
    const current = lines[i];
    const stripped = current.trimStart();
    if (stripped === "" || stripped.startsWith("#") || /^[)\]}]/.test(stripped)) {
      continue; // blank, comment, or the closing bracket of a multi-line signature
    }
    const indent = indentOf(current);
    if (indent >= limit) {
      continue;
    }
    const def = DEF.exec(current);
    const cls = CLASS.exec(current);
    if (def) {
      chain.unshift({ kind: "def", name: def[2] });
    } else if (cls) {
      chain.unshift({ kind: "class", name: cls[2] });
    }
    limit = indent;
  }
  // The test is the outermost function whose name starts with "test", inside classes only.
  const parts: string[] = [];
  for (const item of chain) {
    if (item.kind === "class") {
      parts.push(item.name);
      continue;
    }
    if (item.name.startsWith("test")) {
      parts.push(item.name);
      return [relPath, ...parts].join("::");
    }
    return undefined; // a helper function (or a function nested in one) is not a test
  }
  return undefined;
}
