// The produced kernel modules: valid Wasm (threads), one shared imported memory, no other
// imports, and ABI layouts that agree with the generated host copy.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Kernel } from "../../host-ts/index.js";
import * as A from "../../host-ts/abi.gen.js";

const builds = ["debug", "release"] as const;

describe.each(builds)("%s kernel module", (build) => {
  const bytes = readFileSync(new URL(`../../build/uffdlab.${build}.wasm`, import.meta.url));

  it("validates with wabt's wasm-validate (threads enabled)", () => {
    // wabt's JS validate() rejects shared memories whatever features it is given; its
    // command-line validator (same package) takes --enable-threads.
    const bin = fileURLToPath(new URL("../../node_modules/.bin/wasm-validate", import.meta.url));
    const path = fileURLToPath(new URL(`../../build/uffdlab.${build}.wasm`, import.meta.url));
    const r = spawnSync(bin, ["--enable-threads", path], { encoding: "utf8" });
    expect(r.stderr + r.stdout).toBe("");
    expect(r.status).toBe(0);
    // and it does reject the module without threads (so the check above is real)
    const r2 = spawnSync(bin, [path], { encoding: "utf8" });
    expect(r2.status).not.toBe(0);
    expect(r2.stderr).toMatch(/shared/);
  });

  it("imports exactly one shared memory and nothing else", () => {
    const m = new WebAssembly.Module(bytes);
    const imports = WebAssembly.Module.imports(m);
    expect(imports).toEqual([{ module: "env", name: "memory", kind: "memory" }]);
  });

  it("keeps its data segments inside the null-guard page", () => {
    // Data segments are re-applied by every worker's instantiation, so they may hold only
    // constants (string literals), and must lie below KSTATE_ADDR (0x1000), in the page the
    // kernel never uses.
    const bin = fileURLToPath(new URL("../../node_modules/.bin/wasm-objdump", import.meta.url));
    const path = fileURLToPath(new URL(`../../build/uffdlab.${build}.wasm`, import.meta.url));
    const r = spawnSync(bin, ["-x", "-j", "Data", path], { encoding: "utf8" });
    expect(r.status).toBe(0);
    const segs = [...r.stdout.matchAll(/segment\[\d+\] memory=0 size=(\d+) - init i32=(\d+)/g)].map((m) => [Number(m[2]), Number(m[1])]);
    for (const [start, size] of segs) {
      expect(start).toBeGreaterThan(0);
      expect(start + size).toBeLessThanOrEqual(0x1000);
    }
    const imp = spawnSync(bin, ["-x", "-j", "Import", path], { encoding: "utf8" }).stdout;
    expect(imp).toMatch(/memory\[0\] pages: initial=\d+ max=65536 shared <- env\.memory/);
  });

  it("has record layouts equal to the generated host ABI", async () => {
    const k = await Kernel.boot({ build, memoryBytes: A.MIN_MEM_BYTES });
    const e = k.exports;
    expect(e.abi_sizeof(0)).toBe(A.host_frame.SIZEOF);
    expect(e.abi_sizeof(1)).toBe(A.maps_record.SIZEOF);
    expect(e.abi_sizeof(2)).toBe(A.stat.SIZEOF);
    expect(e.abi_sizeof(2)).toBe(144); // x86-64 struct stat
    expect(e.abi_sizeof(3)).toBe(A.host_frame.si_addr);
    expect(e.abi_sizeof(4)).toBe(A.host_frame.bounce);
    expect(e.abi_sizeof(5)).toBe(A.stat.st_blocks);
    expect(e.abi_sizeof(5)).toBe(64);
    expect(e.abi_sizeof(6)).toBe(A.maps_record.rss);
    expect(e.kernel_debug()).toBe(build === "debug" ? 1 : 0);
  });

  it("refuses to boot twice on one memory, and attaches instead", async () => {
    const k = await Kernel.boot({ build, memoryBytes: A.MIN_MEM_BYTES });
    expect(k.exports.kernel_boot(A.MIN_MEM_BYTES, 0)).toBe(-A.EBUSY);
    const k2 = Kernel.attach(k.module, k.memory, build);
    const p = k.spawn();
    const a = p.mmap(0, 4096, A.PROT_READ | A.PROT_WRITE, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
    p.thread.store32(a, 99);
    expect(k2.threadFor(p.pid, p.pid).load32(a)).toBe(99);
  });
});
