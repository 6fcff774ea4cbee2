// The README's example (examples/quickstart.mjs) runs and prints what the README says.
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

describe("examples", () => {
  it("quickstart prints the README's results", () => {
    const script = fileURLToPath(new URL("../../examples/quickstart.mjs", import.meta.url));
    const r = spawnSync(process.execPath, [script], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const lines = r.stdout.replace(/\n$/, "").split("\n");
    expect(lines.slice(0, 3)).toEqual(["deadbeef", "true", "EINVAL 22 munmap"]);
    expect(lines[3]).toMatch(/^[0-9a-f]{12}-[0-9a-f]{12} r--p 00000000 00:00 0 $/);
    expect(lines[4]).toMatch(/^[0-9a-f]{12}-[0-9a-f]{12} rw-p 00000000 00:00 0 $/);
  });

  it("uffd-quickstart: a blocked fault resolved by UFFDIO_COPY prints the copied byte", () => {
    const script = fileURLToPath(new URL("../../examples/uffd-quickstart.mjs", import.meta.url));
    const r = spawnSync(process.execPath, [script], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual(["{ features: 131071n, ioctls: 9223372036854775811n }", "316n", "7"]);
  });

  it("uffd-file-handler serves every first touch from a snapshot file and checks the contents", () => {
    const dir = mkdtempSync(join(tmpdir(), "uffdlab-snap-"));
    const file = join(dir, "snapshot.bin");
    const data = new Uint8Array(10 * 4096 + 123).map((_, i) => (i * 7 + 3) & 0xff);
    writeFileSync(file, data);
    const script = fileURLToPath(new URL("../../examples/uffd-file-handler.mjs", import.meta.url));
    const r = spawnSync(process.execPath, [script, file], { encoding: "utf8" });
    rmSync(dir, { recursive: true, force: true });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    // 11 pages (the partial last one included), each copied once; every extra message is a
    // second fault on a page already being served, answered with EEXIST + WAKE.
    const m = r.stdout.match(/^served (\d+) faults, copied (\d+) bytes \((\d+) pages\), EEXIST (\d+), EAGAIN (\d+)/)!;
    expect(m).not.toBeNull();
    const [faults, copied, pages, eexist] = [m[1], m[2], m[3], m[4]].map(Number);
    expect([copied, pages]).toEqual([11 * 4096, 11]);
    expect(faults).toBe(pages + eexist);
    expect(r.stdout).toMatch(/\d+ reads checked against the snapshot/);
  });

  it("gmem-restore: post-copy restore onto guest_memfd in MISSING (COPY) and MINOR (CONTINUE) mode, every page once", () => {
    const dir = mkdtempSync(join(tmpdir(), "uffdlab-gsnap-"));
    const file = join(dir, "guest.snap");
    writeFileSync(file, new Uint8Array(10 * 4096 + 123).map((_, i) => (i * 13 + 5) & 0xff));
    const script = fileURLToPath(new URL("../../examples/gmem-restore.mjs", import.meta.url));
    const r = spawnSync(process.execPath, [script, file], { encoding: "utf8" });
    rmSync(dir, { recursive: true, force: true });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^MISSING: served 11 faults \(MISSING, COPY\), moved 45056 bytes of 11 pages, EEXIST 0, EAGAIN 0$/m);
    expect(r.stdout).toMatch(/^MINOR: served 11 faults \(11 MINOR, CONTINUE\), moved 45056 bytes of 11 pages, EEXIST 0, EAGAIN 0$/m);
    expect(r.stdout).toMatch(/^MISSING: per-fault service p50 [\d.]+ us, p99 [\d.]+ us; guest access p50/m);
    expect(r.stdout).toMatch(/restored 45056 bytes twice from 41083-byte snapshot/);
  });

  it("the demo (npm start's first half) exits 0 and reports intact invariants", () => {
    const cli = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));
    const r = spawnSync(process.execPath, [cli, "demo"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/invariants checked: all hold/);
    expect(r.stdout).toMatch(/SIGBUS \(BUS_ADRERR\)/);
    expect(r.stdout).toMatch(/SIGSEGV \(SEGV_ACCERR\)/);
  });
});
