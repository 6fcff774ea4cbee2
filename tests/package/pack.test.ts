// The npm package as a user gets it: `npm pack` (prepack builds), installed into an empty folder from
// the tarball (dependencies from the npm cache that `npm ci` filled, the registry only for what it lacks), a small consumer
// type-checked under --strict against the shipped declarations and run, and the CLI run from the
// installed package (--version, conform on a shipped scenario, bench --quick with the host column).
import { describe, it, expect, beforeAll } from "vitest";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const version = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;
const hasCc = spawnSync("cc", ["--version"]).status === 0;

let dir = "";
let app = "";
let files: string[] = [];

function run(cmd: string, args: string[], cwd: string, timeout = 120_000): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout, env: { ...process.env, npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" } });
  if (r.error) throw r.error;
  return r;
}
function ok(r: SpawnSyncReturns<string>, what: string): string {
  if (r.status !== 0) throw new Error(`${what} failed (status ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const CONSUMER = `
import { Kernel, Userfaultfd, SystemError, abi as A, type KernelStats, type UffdMsg } from "uffdlab";

const k: Kernel = await Kernel.boot({ memoryBytes: 32 << 20, build: "release" });
const p = k.spawn();
const a: number = p.mmap(0, 4 * 4096, A.PROT_READ | A.PROT_WRITE, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
p.thread.store32(a, 0x1234);
const uffd: Userfaultfd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
uffd.api();
uffd.register(a + 4096, 4096, A.UFFDIO_REGISTER_MODE_MISSING);
const msgs: UffdMsg[] = uffd.read();
let errno = "";
try { p.munmap(a + 1, 4096); } catch (e) { if (e instanceof SystemError) errno = e.code; }
const s: KernelStats = k.stats();
console.log(JSON.stringify({ value: p.thread.load32(a), msgs: msgs.length, errno, tasks: s.tasks }));
`;

describe("the npm package (npm pack → install → use)", () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "uffdlab-pack-"));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    const packed = JSON.parse(ok(run(npm, ["pack", "--json", "--pack-destination", dir], root, 300_000), "npm pack")) as { filename: string; files: { path: string }[] }[];
    files = packed[0].files.map((f) => f.path);
    app = join(dir, "app");
    ok(run("mkdir", ["-p", app], dir), "mkdir");
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
    ok(run(npm, ["install", "--prefer-offline", "--no-package-lock", join(dir, packed[0].filename)], app, 300_000), "npm install of the tarball");
  }, 600_000);

  it("ships the library, its declarations, both kernels, the CLI's native sources, the corpus, docs and the licence", () => {
    for (const f of ["dist/index.js", "dist/cli.js", "dist/worker.js", "dist/browser.js", "dist/kernel-debug.wasm.js", "dist/kernel-release.wasm.js", "dist/types/index.d.ts", "build/uffdlab.debug.wasm",
      "build/uffdlab.release.wasm", "bench/native/fault_bench.c", "bench/native/uffd_bench.c", "bench/uffd-worker.mjs",
      "tests/oracle/oracle.c", "tests/scenarios/KNOWN-DIFFERENCES.json", "tests/scenarios/mm/munmap.json", "docs/scenarios.md",
      "LICENSE", "README.md", "package.json"]) {
      expect(files, f).toContain(f);
    }
    expect(files.some((f) => f.startsWith("kernel-as/") || f.startsWith("host-ts/") || f.startsWith("node_modules/"))).toBe(false);
  });

  it("a --strict TypeScript consumer type-checks against the shipped declarations and runs", () => {
    writeFileSync(join(app, "main.ts"), CONSUMER);
    writeFileSync(join(app, "tsconfig.json"), JSON.stringify({
      compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, lib: ["ES2022", "DOM"], types: [], outDir: "out", skipLibCheck: false },
      files: ["main.ts"],
    }));
    ok(run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], app), "tsc --strict");
    const out = JSON.parse(ok(run(process.execPath, [join(app, "out/main.js")], app), "the consumer"));
    expect(out).toEqual({ value: 0x1234, msgs: 0, errno: "EINVAL", tasks: 1 });
  });

  it("a consumer's type errors are caught: the declarations are real types, not any", () => {
    writeFileSync(join(app, "bad.ts"), `import { Kernel } from "uffdlab";\nconst k = await Kernel.boot({ memoryBytes: "64M" });\nk.spawn().mmap("x");\n`);
    writeFileSync(join(app, "tsconfig.bad.json"), JSON.stringify({
      compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, lib: ["ES2022", "DOM"], types: [], noEmit: true },
      files: ["bad.ts"],
    }));
    const r = run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.bad.json"], app);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toMatch(/bad\.ts\(2,\d+\): error TS2322/);
    expect(r.stdout).toMatch(/bad\.ts\(3,\d+\): error TS\d+/);
  });

  it("the installed CLI: --version, conform on a shipped scenario, bench --quick", () => {
    const bin = join(app, "node_modules/.bin/uffdlab");
    expect(ok(run(bin, ["--version"], app), "uffdlab --version").trim()).toBe(version);
    const scenario = join(app, "node_modules/uffdlab/tests/scenarios/mm/munmap.json");
    const c = run(bin, ["conform", scenario], app);
    expect(c.status, c.stdout + c.stderr).toBe(0);
    const b = ok(run(bin, ["bench", "--quick"], app, 300_000), "uffdlab bench --quick");
    const row = b.split("\n").find((l) => l.startsWith("anon write fault"));
    expect(row, b).toBeDefined();
    // With a C compiler the host kernel is measured in the same run: the row has a host p50 and a ratio.
    if (hasCc) expect(row).toMatch(/\s\d+(\.\d+)?\s+\d+(\.\d+)?×(\s|$)/);
  }, 300_000);
});
