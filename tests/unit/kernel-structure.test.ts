// The kernel's shape (issue 10): what a file is is decided in one place (fs/file_ops.ts), the
// wait word is touched in one place (kernel/wait.ts), no kernel file grows past 600 lines, and
// kernel/fork.ts does not reach kernel/sys.ts through its imports (sys → fork only).
import { describe, it, expect } from "vitest";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../kernel-as");

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith(".ts") ? [p] : [];
  });
}
const files = walk(root);
const rel = (p: string) => relative(root, p).replaceAll("\\", "/");
const source = new Map(files.map((p) => [rel(p), readFileSync(p, "utf8")]));

/** The kernel modules `from` imports (relative specifiers, resolved to paths under kernel-as/). */
function imports(from: string): string[] {
  const out: string[] = [];
  for (const m of source.get(from)!.matchAll(/\bfrom\s+"(\.[^"]+)"/g)) {
    out.push(rel(resolve(root, dirname(from), m[1] + ".ts")));
  }
  return out;
}

describe("kernel-as structure", () => {
  it("no file is longer than 600 lines", () => {
    const long = [...source].filter(([, s]) => s.split("\n").length > 600).map(([p]) => p);
    expect(long).toEqual([]);
  });

  it("a file's kind is tested only by the dispatchers (fs/file_ops.ts) and the predicates beside the kinds (fs/types.ts)", () => {
    const tests = [...source]
      .filter(([p]) => p !== "fs/file_ops.ts" && p !== "fs/types.ts")
      .filter(([, s]) => /\.f_kind\s*[!=]=/.test(s))
      .map(([p]) => p);
    expect(tests).toEqual([]);
  });

  it("only kernel/wait.ts touches the wait word (its definition aside)", () => {
    const users = [...source]
      .filter(([p, s]) => /wait_word/.test(s) && !["kernel/wait.ts", "abi/kernel.ts", "kernel/types.ts"].includes(p))
      .map(([p]) => p);
    expect(users).toEqual([]);
    // kernel/types.ts only mentions it in a comment.
    expect(/^\s*[^/\s*].*wait_word/m.test(source.get("kernel/types.ts")!)).toBe(false);
  });

  it("kernel/fork.ts does not reach kernel/sys.ts through its imports", () => {
    expect(imports("kernel/sys.ts")).toContain("kernel/fork.ts");
    const seen = new Set<string>();
    const todo = ["kernel/fork.ts"];
    while (todo.length) {
      const f = todo.pop()!;
      if (seen.has(f) || !source.has(f)) continue;
      seen.add(f);
      todo.push(...imports(f));
    }
    expect(seen.has("kernel/fork.ts")).toBe(true);
    expect(seen.has("kernel/sys.ts")).toBe(false);
  });
});
