/**
 * The native oracle: tests/oracle/oracle.c, built once per process with the system C compiler
 * (`cc -O1 -Wall -pthread`, by host-ts/native-build.ts), and run on the host kernel.
 *
 *   nativeAvailable()            { ok: true } | { ok: false, reason }   (cc, Linux x86-64, the binary starts)
 *   userfaultfdAvailable()       the same for /dev/userfaultfd and the userfaultfd syscall
 *   kvmAvailable()               the same for /dev/kvm (a VM and a guest_memfd)
 *   hostZeroPage()               whether the host maps the zero page on anonymous read faults
 *   runNativeBatch([[...], ...]) many scenarios in one oracle process (it forks one child per scenario)
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildNative } from "../native-build.js";
import { stepNeeding } from "./verbs.js";

export type Availability = { ok: true } | { ok: false; reason: string };

/** Where the oracle's source is: next to the sources (host-ts/conform) or to the bundle (dist). */
function findSource(): string | undefined {
  for (const rel of ["../../tests/oracle/oracle.c", "../tests/oracle/oracle.c"]) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  return undefined;
}

type BuildState = { ok: true; binary: string; compilerOutput: string } | { ok: false; reason: string };
let state: BuildState | undefined;
let uffdState: Availability | undefined;
let kvmState: Availability | undefined;

const firstLines = (text: string, n = 8) => text.trim().split("\n").slice(0, n).join("\n");

function build(): BuildState {
  if (process.platform !== "linux") return { ok: false, reason: `not Linux (platform is ${process.platform})` };
  if (process.arch !== "x64") return { ok: false, reason: `not x86-64 (arch is ${process.arch}); the reference values are x86-64` };
  const source = findSource();
  if (!source) return { ok: false, reason: "oracle source tests/oracle/oracle.c not found" };
  const b = buildNative(source, { ccArgs: ["-O1", "-Wall", "-pthread"] });
  if (!b.ok) return b;
  const smoke = spawnSync(b.binary, [], { input: "", encoding: "utf8", timeout: 10_000 });
  if (smoke.error || smoke.status !== 0 || smoke.stdout !== "") {
    const why = smoke.error?.message ?? `status ${smoke.status}, signal ${smoke.signal}: ${firstLines(smoke.stderr)}`;
    return { ok: false, reason: `oracle binary does not start: ${why}` };
  }
  return b;
}

/** Whether the oracle can run here; builds it on the first call (the result is cached). */
export function nativeAvailable(): Availability {
  state ??= build();
  return state.ok ? { ok: true } : { ok: false, reason: state.reason };
}

/** What cc printed while building the oracle ('' for a clean build); undefined if unavailable. */
export function nativeCompilerOutput(): string | undefined {
  nativeAvailable();
  return state?.ok ? state.compilerOutput : undefined;
}

/** Whether the host has a usable userfaultfd (the device and the syscall, as this user). */
export function userfaultfdAvailable(): Availability {
  if (uffdState) return uffdState;
  const n = nativeAvailable();
  if (!n.ok) return (uffdState = n);
  if (!existsSync("/dev/userfaultfd")) return (uffdState = { ok: false, reason: "host has no /dev/userfaultfd" });
  const out = runNativeText("uffd U 1\ndevopen D\n");
  if (out[0] !== "ok fd") return (uffdState = { ok: false, reason: `host userfaultfd(UFFD_USER_MODE_ONLY) fails: ${out[0]} (syscall missing or forbidden)` });
  if (out[1] !== "ok fd") return (uffdState = { ok: false, reason: `host /dev/userfaultfd cannot be opened: ${out[1]}` });
  return (uffdState = { ok: true });
}

/** The host features a scenario needs, from its verbs: the reason it cannot run here, or undefined. */
export function nativeMissing(steps: string[]): string | undefined {
  const n = nativeAvailable();
  if (!n.ok) return n.reason;
  if (steps.some((s) => UFFD_STEP.test(s))) {
    const u = userfaultfdAvailable();
    if (!u.ok) return u.reason;
  }
  if (steps.some((s) => KVM_STEP.test(s))) {
    const k = kvmAvailable();
    if (!k.ok) return k.reason;
  }
  return undefined;
}

/** A step using a verb that needs the host's KVM (verbs.ts `needs`). */
export const KVM_STEP = stepNeeding("kvm");
/** A step using a verb that makes a userfaultfd (verbs.ts `needs`). */
const UFFD_STEP = stepNeeding("userfaultfd");

/** Whether the host's /dev/kvm can make a VM and a guest_memfd with MMAP|INIT_SHARED (what the KVM scenarios use). */
export function kvmAvailable(): Availability {
  if (kvmState) return kvmState;
  const n = nativeAvailable();
  if (!n.ok) return (kvmState = n);
  if (!existsSync("/dev/kvm")) return (kvmState = { ok: false, reason: "host has no /dev/kvm" });
  const out = runNativeText("kvm K\nvm V $K 0\ngmem G $V 4096 3\n");
  if (out.join("|") !== "ok fd|ok fd|ok fd") return (kvmState = { ok: false, reason: `host /dev/kvm cannot make a guest_memfd with MMAP|INIT_SHARED: ${out.join(" / ")}` });
  return (kvmState = { ok: true });
}

export type ZeroPageProbe = { zeroPage: boolean; how: string } | { zeroPage: undefined; reason: string };
let zeroPageState: ZeroPageProbe | undefined;

/**
 * Whether the host kernel maps the shared zero page on a read fault of private anonymous memory
 * (stock Linux), or allocates a page and an anon_vma (a guest booted with the zero page off, e.g.
 * pvm_no_zero_page=1 — VMA merges then differ). Boot uffdlab with `zeroPage` set to the answer to
 * compare like with like. Asked once (the oracle's --probe-zero-page), then cached.
 */
export function hostZeroPage(): ZeroPageProbe {
  if (zeroPageState) return zeroPageState;
  const n = nativeAvailable();
  if (!n.ok) return (zeroPageState = { zeroPage: undefined, reason: n.reason });
  const r = spawnSync(nativeBinary(), ["--probe-zero-page"], { encoding: "utf8", timeout: 30_000 });
  const m = /^zero-page ([01?]) (.*)\n$/.exec(r.stdout ?? "");
  if (r.status !== 0 || !m) return (zeroPageState = { zeroPage: undefined, reason: `oracle --probe-zero-page failed: status ${r.status}, ${r.error?.message ?? firstLines(r.stdout + r.stderr)}` });
  if (m[1] === "?") return (zeroPageState = { zeroPage: undefined, reason: m[2] });
  return (zeroPageState = { zeroPage: m[1] === "1", how: m[2] });
}

/** One line for a test log: what the probe found and what uffdlab does about it. */
export function describeHostZeroPage(z: ZeroPageProbe = hostZeroPage()): string {
  if (z.zeroPage === undefined) return `host zero page: unknown (${z.reason}); uffdlab runs as stock Linux`;
  return z.zeroPage
    ? `host zero page: on (${z.how}), as stock Linux`
    : `host zero page: OFF (${z.how}) — a read fault allocates a page and an anon_vma; uffdlab is booted with zeroPage: false to mirror it`;
}

/** The oracle's path (building it on first use); throws if it cannot run here. */
export function nativeBinary(): string {
  const s = (state ??= build());
  if (!s.ok) throw new Error(`native oracle unavailable: ${s.reason}`);
  return s.binary;
}

/** Raw input (one step per line, one scenario) → raw result lines. For testing the oracle itself. */
export function runNativeText(input: string, timeoutMs = 30_000): string[] {
  const r = spawnSync(nativeBinary(), [], { input, encoding: "utf8", timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 64 << 20 });
  const excerpt = () => `\n--- scenario ---\n${firstLines(input, 40)}\n--- output so far ---\n${firstLines(r.stdout ?? "", 40)}`;
  if (r.error) throw new Error(`native oracle ${r.error.message}${excerpt()}`);
  if (r.status !== 0) throw new Error(`native oracle exited with status ${r.status}, signal ${r.signal}: ${firstLines(r.stderr)}${excerpt()}`);
  if (r.stdout === "") return [];
  if (!r.stdout.endsWith("\n")) throw new Error(`native oracle output does not end with a newline${excerpt()}`);
  return r.stdout.slice(0, -1).split("\n");
}

const isStep = (l: string) => !/^[ \t]*(#|$)/.test(l.replace(/\r$/, ""));

/**
 * Run many scenarios in one oracle process. Each result has one line per step (comments and blank
 * lines excluded); a child that died early is padded with `bad oracle child died …` lines.
 */
export function runNativeBatch(scenarios: string[][], timeoutMs = 600_000): string[][] {
  if (scenarios.length === 0) return [];
  const input: string[] = [];
  for (const [i, steps] of scenarios.entries()) {
    input.push(`%scenario ${i}`);
    for (const s of steps) {
      if (s.startsWith("%")) throw new Error(`scenario ${i}: a step may not start with '%': ${s}`);
      if (/[\n]/.test(s)) throw new Error(`scenario ${i}: a step may not contain a newline`);
      input.push(s);
    }
    input.push("%end");
  }
  const out = runNativeText(input.join("\n") + "\n", timeoutMs);
  const results: string[][] = [];
  let cur: string[] = [];
  for (const line of out) {
    if (line.startsWith("%end")) {
      const want = scenarios[results.length]?.filter(isStep).length ?? 0;
      if (line !== "%end ok" || cur.length !== want) {
        while (cur.length < want) cur.push(`bad oracle child ${line.slice(5) || "ended early"}`);
      }
      results.push(cur);
      cur = [];
    } else {
      cur.push(line);
    }
  }
  if (results.length !== scenarios.length) throw new Error(`native oracle answered ${results.length} of ${scenarios.length} scenarios`);
  return results;
}
