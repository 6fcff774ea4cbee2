// The host kernel, measured in the same run: compile bench/native/fault_bench.c (and
// uffd_bench.c, the userfaultfd round trips) with `cc -O2` into a temporary directory, run
// them with the same sizes as the uffdlab side, and turn their raw per-batch nanoseconds
// into the same summaries. uffd_bench can be skipped on its own (no userfaultfd here).
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { summarize, type HostScenario, type Params, type Summary } from "./measure.js";
import { buildNative } from "../host-ts/native-build.js";

export interface HostResult {
  /** Per host scenario (null when fault_bench could not run: see `skipped`; the uffd keys are absent when `uffdSkipped`). */
  scenarios: Partial<Record<HostScenario, Summary>> | null;
  /** Why the host side did not run, in one line. */
  skipped?: string;
  /** Why the host's userfaultfd round trips (uffd_bench.c) did not run, in one line. */
  uffdSkipped?: string;
  /** `cc --version`, first line. */
  compiler?: string;
  clockOverheadNs?: number;
  /** getpid(2) and a 4 KiB memcpy on the host, ns per operation (medians). */
  calibration?: { getpidNs: number; memcpy4kNs: number };
  /** Minor faults per timed page touch (getrusage), expected 1. */
  faultsPerOp?: number;
  /** Bulk rows: chunks whose first or last byte was not what UFFDIO_COPY put there (expected 0). */
  bulkBadValues?: number;
  /** Per uffd mode: messages read per faulted page (expected 1), bytes read that the fill did not put there (expected 0), how the handler waited. */
  uffd?: Partial<Record<HostScenario, { messagesPerPage: number; badValues: number; sameCpu: boolean; handler: string }>>;
}

interface RawOutput {
  page_size: number;
  clock_overhead_ns: number;
  calibration: { getpid_ns: number; memcpy_4k_ns: number };
  anon_write_fault: { batch: number; pages_touched: number; minor_faults: number; batch_ns: number[] };
  resident_load: { batch: number; batch_ns: number[] };
}

interface RawUffdMode { batch: number; same_cpu: boolean; handler: string; pages: number; messages: number; bad_values: number; batch_ns: number[] }
interface RawBulk { chunk: number; bad_values: number; batch_ns: number[] }
type RawUffd = { skipped: string } | {
  page_size: number; copy_same_cpu: RawUffdMode; zeropage_same_cpu: RawUffdMode; copy_cross_cpu: RawUffdMode | { skipped: string };
  shmem_copy_same_cpu: RawUffdMode; shmem_continue_same_cpu: RawUffdMode; bulk_copy_64k: RawBulk; bulk_copy_2m: RawBulk;
};

/** bench/native/<file>, from bench/ (run by tsx/vitest) or from dist/cli.js (bundled). */
function findSource(file: string): string | null {
  for (const rel of [`./native/${file}`, `../bench/native/${file}`]) {
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

/** Compile bench/native/<file> into `dir` and run it; the parsed JSON, or the one-line reason it did not run. */
function compileAndRun<T>(dir: string, file: string, ccArgs: string[], args: number[]): T | { error: string } {
  const src = findSource(file);
  if (!src) return { error: `bench/native/${file} not found next to the bench module` };
  const b = buildNative(src, { ccArgs: ["-O2", ...ccArgs], outDir: dir });
  if (!b.ok) return { error: b.reason.split("\n").slice(0, 2).join(" ") };
  const exe = b.binary;
  try {
    const out = execFileSync(exe, args.map(String), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20 });
    return JSON.parse(out) as T;
  } catch (e) {
    return { error: `${file.replace(/\.c$/, "")} failed: ${firstLine(e)}` };
  }
}

const isError = (x: unknown): x is { error: string } => typeof x === "object" && x !== null && "error" in x;

export function runHost(p: Params): HostResult {
  let compiler: string;
  try {
    compiler = execFileSync("cc", ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).split("\n")[0];
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { scenarios: null, skipped: code === "ENOENT" ? "no C compiler (`cc` not on PATH)" : `cc --version failed: ${firstLine(e)}` };
  }

  const dir = mkdtempSync(join(tmpdir(), "uffdlab-bench-"));
  try {
    const raw = compileAndRun<RawOutput>(dir, "fault_bench.c", [],
      [p.regionPages, p.faultBatch, p.faultSamples, p.chasePages, p.loadBatch, p.loadSamples, p.warmupMs]);
    if (isError(raw)) return { scenarios: null, skipped: raw.error, compiler };
    const f = raw.anon_write_fault;
    const r: HostResult = {
      scenarios: {
        anon_write_fault: summarize(f.batch_ns, f.batch),
        resident_load: summarize(raw.resident_load.batch_ns, raw.resident_load.batch),
      },
      compiler,
      clockOverheadNs: raw.clock_overhead_ns,
      calibration: { getpidNs: raw.calibration.getpid_ns, memcpy4kNs: raw.calibration.memcpy_4k_ns },
      faultsPerOp: f.minor_faults / f.pages_touched,
    };

    const u = compileAndRun<RawUffd>(dir, "uffd_bench.c", ["-pthread"], [p.uffdRegionPages, p.uffdBatch, p.uffdSamples, p.warmupMs, p.bulkRegionPages, p.bulkSamples]);
    if (isError(u)) r.uffdSkipped = u.error;
    else if ("skipped" in u) r.uffdSkipped = u.skipped;
    else {
      r.uffd = {};
      const modes: [HostScenario, RawUffdMode | { skipped: string }][] = [
        ["uffd_copy_same_cpu", u.copy_same_cpu], ["uffd_zeropage_same_cpu", u.zeropage_same_cpu], ["uffd_copy_cross_cpu", u.copy_cross_cpu],
        ["uffd_shmem_copy_same_cpu", u.shmem_copy_same_cpu], ["uffd_shmem_continue_same_cpu", u.shmem_continue_same_cpu],
      ];
      for (const [key, m] of modes) {
        if ("skipped" in m) {
          r.uffdSkipped = `${key}: ${m.skipped}`;
          continue;
        }
        r.scenarios![key] = summarize(m.batch_ns, m.batch);
        r.uffd[key] = { messagesPerPage: m.messages / m.pages, badValues: m.bad_values, sameCpu: m.same_cpu, handler: m.handler };
      }
      for (const [key, b] of [["uffd_bulk_copy_64k", u.bulk_copy_64k], ["uffd_bulk_copy_2m", u.bulk_copy_2m]] as const) {
        r.scenarios![key] = summarize(b.batch_ns, 1);
        r.bulkBadValues = (r.bulkBadValues ?? 0) + b.bad_values;
      }
    }
    return r;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
