/**
 * host-ts/native-build.ts: the one builder of the native C helpers (the oracle, the bench programs).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildNative, ccAvailable, nativeDir, probeCc, sweepStaleDirs } from "../../host-ts/native-build.js";

const cc = ccAvailable();

describe("native-build", () => {
  it("says why in one line when there is no compiler", () => {
    expect(probeCc("uffdlab-no-such-cc")).toEqual({ ok: false, reason: "no C compiler (`uffdlab-no-such-cc` not on PATH)" });
  });

  it.skipIf(!cc.ok)("builds a source once per process into the process's directory, and reports a failed build", () => {
    const src = mkdtempSync(join(nativeDir(), "src-")); // removed with the directory at exit
    const good = join(src, "hello.c");
    writeFileSync(good, '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n');
    const a = buildNative(good, { ccArgs: ["-O1"] });
    expect(a.ok).toBe(true);
    if (!a.ok) return;
    expect(a.binary).toBe(join(nativeDir(), "hello"));
    expect(spawnSync(a.binary, [], { encoding: "utf8" }).stdout).toBe("hi\n");
    expect(buildNative(good, { ccArgs: ["-O1"] })).toBe(a); // cached: the same answer, not a second compile
    const bad = join(src, "broken.c");
    writeFileSync(bad, "int main(void) { return }\n");
    const b = buildNative(bad);
    expect(b.ok).toBe(false);
    if (!b.ok) expect(b.reason).toMatch(/^cc broken\.c failed \(status \d+\):\n.*error/s);
  });

  it("sweeps the directories of processes that are gone, and only those", () => {
    let dead = 4_194_000;
    for (;; dead--) {
      try {
        process.kill(dead, 0);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ESRCH") break;
      }
    }
    const gone = join(tmpdir(), `uffdlab-native-${dead}-AbC123`);
    const alive = join(tmpdir(), `uffdlab-native-${process.ppid}-AbC123`);
    mkdirSync(gone, { recursive: true });
    mkdirSync(alive, { recursive: true });
    try {
      sweepStaleDirs();
      expect(existsSync(gone)).toBe(false);
      expect(existsSync(alive)).toBe(true);
    } finally {
      spawnSync("rm", ["-rf", gone, alive]);
    }
  });
});
