// The API reference (TypeDoc over host-ts/index.ts, typedoc.config.mjs): every public class,
// method, function, property and type has a TSDoc comment, every {@link} resolves and every
// public type is exported (scripts/docs-check.mjs; `npm run docs` builds the HTML into build/api/).
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

describe("API reference", () => {
  it("documents every public item (npm run docs:check)", () => {
    const r = spawnSync(process.execPath, ["scripts/docs-check.mjs"], { cwd: root, encoding: "utf8" });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^docs:check: every public item is documented$/m);
  }, 120_000);
});
