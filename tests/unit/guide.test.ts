// docs/guide-testing-handlers.md runs: every ```js block is either a module the guide runs
// (`<!-- run -->` before it) or one the others import (`<!-- file: NAME -->`), and every
// `<!-- run -->` ```sh block's commands exit as their comments say ("# exits 1: …" or 0), and a
// ```text block marked `<!-- output of: COMMAND -->` is what COMMAND prints (its rate aside). The
// blocks are written to a directory inside the repository, so their `import … from "uffdlab"`
// resolves to the built package (dist/) by the package's self-reference.
import { describe, it, expect, afterAll } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const guide = readFileSync(join(root, "docs/guide-testing-handlers.md"), "utf8");

interface Block { lang: string; mark: string | null; code: string; line: number }
const blocks: Block[] = [];
{
  const lines = guide.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)$/.exec(lines[i]);
    if (!open) continue;
    let j = i + 1;
    while (j < lines.length && lines[j] !== "```") j++;
    const mark = i > 0 ? /^<!-- (.*) -->$/.exec(lines[i - 1])?.[1] ?? null : null;
    blocks.push({ lang: open[1], mark, code: lines.slice(i + 1, j).join("\n") + "\n", line: i + 1 });
    i = j;
  }
}
const dir = mkdtempSync(join(root, ".guide-"));
symlinkSync(join(root, "examples"), join(dir, "examples"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
for (const b of blocks) {
  const file = b.mark?.startsWith("file: ") ? b.mark.slice(6) : null;
  if (file) writeFileSync(join(dir, file), b.code);
}
const node = (args: string[]) => spawnSync(process.execPath, args, { cwd: dir, encoding: "utf8", timeout: 300_000 });

describe("docs/guide-testing-handlers.md", () => {
  it("marks every js block as run or as a file, and every sh block as run", () => {
    const unmarked = blocks.filter((b) => (b.lang === "js" && b.mark !== "run" && !b.mark?.startsWith("file: ")) || (b.lang === "sh" && b.mark !== "run"));
    expect(unmarked.map((b) => `line ${b.line}`)).toEqual([]);
    expect(blocks.filter((b) => b.mark === "run" && b.lang === "js").length).toBeGreaterThanOrEqual(7);
  });
  blocks.forEach((b, n) => {
    if (b.mark !== "run") return;
    if (b.lang === "js") {
      it(`the js block at line ${b.line} runs and exits 0`, () => {
        const path = join(dir, `block-${n}.mjs`);
        writeFileSync(path, b.code);
        const r = node([path]);
        expect(r.status, r.stdout + r.stderr).toBe(0);
      });
    } else if (b.lang === "sh") {
      it(`the commands at line ${b.line} exit as their comments say`, () => {
        for (const line of b.code.split("\n").filter((l) => l.trim() !== "")) {
          const m = /^npx uffdlab (.*?)\s*(?:#\s*(.*))?$/.exec(line);
          expect(m, line).not.toBeNull();
          const args = m![1].split(/\s+/);
          const want = /^exits 1\b/.test(m![2] ?? "") ? 1 : 0;
          const r = node([join(root, "dist/cli.js"), ...args]);
          expect(r.status, `${line}\n${r.stdout}${r.stderr}`).toBe(want);
          const says = /^exits 1: (.*?)(?: …)?$/.exec(m![2] ?? "")?.[1] ?? (m![2] && want === 0 ? m![2] : null);
          if (says && !says.startsWith("found by")) expect(r.stdout, line).toContain(says);
        }
      });
    }
  });
  for (const b of blocks.filter((x) => x.mark?.startsWith("output of: npx uffdlab "))) {
    it(`the output at line ${b.line} is what its command prints`, () => {
      const r = node([join(root, "dist/cli.js"), ...b.mark!.slice("output of: npx uffdlab ".length).split(/\s+/)]);
      const rate = (s: string) => s.replace(/\d+ schedules\/s/, "N schedules/s");
      expect(rate(r.stdout)).toBe(rate(b.code));
    });
  }
});
