// The host kernel, measured in the same run: compile bench/native/fault_bench.c with
// `cc -O2` into a temporary directory, run it with the same sizes as the uffdlab side, and
// turn its raw per-batch nanoseconds into the same summaries.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { summarize, type HostScenario, type Params, type Summary } from "./measure.js";

export interface HostResult {
  /** Per host scenario (null when the program could not run: see `skipped`). */
  scenarios: Record<HostScenario, Summary> | null;
  /** Why the host side did not run, in one line. */
  skipped?: string;
  /** `cc --version`, first line. */
  compiler?: string;
  clockOverheadNs?: number;
  /** Minor faults per timed page touch (getrusage), expected 1. */
  faultsPerOp?: number;
}

interface RawOutput {
  page_size: number;
  clock_overhead_ns: number;
  anon_write_fault: { batch: number; pages_touched: number; minor_faults: number; batch_ns: number[] };
  resident_load: { batch: number; batch_ns: number[] };
}

/** bench/native/fault_bench.c, from bench/ (run by tsx/vitest) or from dist/cli.js (bundled). */
function findSource(): string | null {
  for (const rel of ["./native/fault_bench.c", "../bench/native/fault_bench.c"]) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  return null;
}

function firstLine(e: unknown): string {
  const err = e as { stderr?: Buffer | string; message?: string };
  const text = (err.stderr ? String(err.stderr) : "") || err.message || String(e);
  return text.trim().split("\n")[0];
}

export function runHost(p: Params): HostResult {
  let compiler: string;
  try {
    compiler = execFileSync("cc", ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).split("\n")[0];
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { scenarios: null, skipped: code === "ENOENT" ? "no C compiler (`cc` not on PATH)" : `cc --version failed: ${firstLine(e)}` };
  }
  const src = findSource();
  if (!src) return { scenarios: null, skipped: "bench/native/fault_bench.c not found next to the bench module", compiler };

  const dir = mkdtempSync(join(tmpdir(), "uffdlab-bench-"));
  try {
    const exe = join(dir, "fault_bench");
    try {
      execFileSync("cc", ["-O2", "-o", exe, src], { stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
      return { scenarios: null, skipped: `cc -O2 fault_bench.c failed: ${firstLine(e)}`, compiler };
    }
    let raw: RawOutput;
    try {
      const args = [p.regionPages, p.faultBatch, p.faultSamples, p.chasePages, p.loadBatch, p.loadSamples, p.warmupMs].map(String);
      const out = execFileSync(exe, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20 });
      raw = JSON.parse(out) as RawOutput;
    } catch (e) {
      return { scenarios: null, skipped: `fault_bench failed: ${firstLine(e)}`, compiler };
    }
    const f = raw.anon_write_fault;
    return {
      scenarios: {
        anon_write_fault: summarize(f.batch_ns, f.batch),
        resident_load: summarize(raw.resident_load.batch_ns, raw.resident_load.batch),
      },
      compiler,
      clockOverheadNs: raw.clock_overhead_ns,
      faultsPerOp: f.minor_faults / f.pages_touched,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
