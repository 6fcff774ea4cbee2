// `uffdlab bench`: every scenario, the host kernel measured in the same run, one table, and
// optionally the results as JSON. See bench/README.md for what each row means.
import { writeFileSync } from "node:fs";
import { machine, describeMachine, type Machine } from "./machine.js";
import { calibrateUffdlab, type UffdlabCalibration } from "./calibration.js";
import { loadStatistics, params, type Measured, type Params, type Summary } from "./measure.js";
import { runHost, type HostResult } from "./native.js";
import { anonWriteFault } from "./anon-write-fault.js";
import { residentAccess } from "./translate.js";
import { uffdRoundTrip } from "./uffd-roundtrip.js";
import { gmemRoundTrip } from "./gmem-roundtrip.js";
import { bulkCopy } from "./bulk-copy.js";
import { gmemRestore } from "./restore.js";

export interface BenchOptions {
  /** Fewer samples (npm start). */
  quick: boolean;
  /** Also write all results to this file as JSON. */
  json?: string;
}

export interface BenchRow extends Measured {
  /** The host kernel's summary for `host`, or null when the host side was skipped. */
  hostSummary: Summary | null;
  /** uffdlab / host: of the medians (the table's number) and of the means. */
  ratio: { p50: number; mean: number } | null;
}

export interface BenchReport {
  schema: "uffdlab-bench/2";
  date: string;
  quick: boolean;
  /** The machine, so that figures from different machines can be compared (bench/machine.ts). */
  machine: Machine;
  uffdlabBuild: "release";
  /**
   * The same basics on every machine: the host's getpid(2), 4 KiB memcpy and anonymous write fault;
   * uffdlab's JS → Wasm call and 4 KiB Thread.write. ns per operation; host values null when skipped.
   */
  calibration: { host: { getpidNs: number; memcpy4kNs: number; minorFaultNs: number } | null; uffdlab: UffdlabCalibration };
  params: Params;
  host: Omit<HostResult, "scenarios">;
  rows: BenchRow[];
  elapsedMs: number;
}

export async function runBenchmarks(o: BenchOptions): Promise<BenchReport> {
  const started = performance.now();
  await loadStatistics();
  const p = params(o.quick);
  const m = machine();
  const host = runHost(p);
  const cal = await calibrateUffdlab();
  const measured = [await anonWriteFault(p), ...(await residentAccess(p)), ...(await uffdRoundTrip(p)), ...(await gmemRoundTrip(p)), ...(await bulkCopy(p)), ...(await gmemRestore(p))];
  const rows: BenchRow[] = measured.map((m) => {
    const h = m.host === null ? null : host.scenarios?.[m.host] ?? null;
    return { ...m, hostSummary: h, ratio: h ? { p50: m.uffdlab.p50 / h.p50, mean: m.uffdlab.mean / h.mean } : null };
  });
  const { scenarios: _, ...hostInfo } = host;
  const hostFault = host.scenarios?.anon_write_fault?.p50;
  const report: BenchReport = {
    schema: "uffdlab-bench/2",
    date: new Date().toISOString(),
    quick: o.quick,
    machine: m,
    uffdlabBuild: "release",
    calibration: {
      host: host.calibration && hostFault !== undefined ? { ...host.calibration, minorFaultNs: hostFault } : null,
      uffdlab: cal,
    },
    params: p,
    host: hostInfo,
    rows,
    elapsedMs: Math.round(performance.now() - started),
  };
  print(report);
  if (o.json) {
    writeFileSync(o.json, JSON.stringify(report, null, 2) + "\n");
    console.log(`results written to ${o.json}`);
  }
  return report;
}

// ---- output ----

function ns(v: number): string {
  return v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0);
}

function ratio(r: number): string {
  return (r < 10 ? r.toFixed(2) : r.toFixed(1)) + "×";
}

function table(header: string[], body: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ");
  return [line(header), w.map((n) => "-".repeat(n)).join("  "), ...body.map(line)].join("\n");
}

function print(r: BenchReport): void {
  const e = r.machine;
  const d = describeMachine(e);
  console.log(`uffdlab bench${r.quick ? " --quick" : ""}: ${r.uffdlabBuild} kernel, node ${e.node}, ${d.header}`);
  const c = r.calibration;
  console.log(`calibration (ns/op): host getpid ${c.host ? ns(c.host.getpidNs) : "—"}, memcpy 4 KiB ${c.host ? ns(c.host.memcpy4kNs) : "—"}, ` +
    `anon write fault ${c.host ? ns(c.host.minorFaultNs) : "—"}; uffdlab JS→Wasm call ${ns(c.uffdlab.jsWasmCallNs)}, Thread.write 4 KiB ${ns(c.uffdlab.write4kNs)}`);
  if (d.footnote) console.log(d.footnote);
  const gibs = (bytes: number | undefined, s: Summary | null) => (bytes && s ? (bytes / s.p50 / 1.073741824).toFixed(2) : "");
  console.log(table(
    ["scenario", "uffdlab mean", "p50", "p99", "host p50", "ratio (p50)", "GiB/s", "host GiB/s"],
    r.rows.map((x) => [
      x.name, ns(x.uffdlab.mean), ns(x.uffdlab.p50), ns(x.uffdlab.p99),
      x.hostSummary ? ns(x.hostSummary.p50) : "—", x.ratio ? ratio(x.ratio.p50) : "—",
      gibs(x.bytesPerOp, x.uffdlab), gibs(x.bytesPerOp, x.hostSummary),
    ]),
  ));
  console.log("ns per operation; p50/p99 over timed batches (each the mean of its batch); ratio = uffdlab p50 / host p50, >1 is slower than the host kernel.");
  if (r.host.skipped) console.log(`host kernel side skipped: ${r.host.skipped}`);
  else if (r.host.uffdSkipped) console.log(`host userfaultfd rows skipped: ${r.host.uffdSkipped}`);
  if (r.rows.some((x) => x.host?.startsWith("uffd_copy") || x.host?.startsWith("uffd_zeropage"))) {
    console.log("uffd rows: one op = fault → read() → UFFDIO_COPY/ZEROPAGE → resumed load. Host: sync/async vs a faulter pthread and a blocking-read() handler pinned to one CPU; worker vs two CPUs, handler spinning on an O_NONBLOCK read().");
  }
  if (r.rows.some((x) => x.host?.startsWith("uffd_shmem_"))) {
    console.log("gmem rows: uffdlab on guest_memfd (7.1 semantics); host column = the host kernel's memfd (shmem) round trip, because 6.18 cannot register a guest_memfd mapping for MISSING or MINOR.");
  }
  for (const x of r.rows.filter((x) => x.id.startsWith("gmem_restore"))) {
    console.log(`${x.name}: ${x.checks.seconds.toFixed(2)} s in all (no host column: 6.18 cannot register guest_memfd).`);
  }

  if (!r.quick) {
    console.log("\nhistograms, ns/op:");
    const body: string[][] = [];
    for (const x of r.rows) {
      const line = (who: string, s: Summary) => [x.name, who, `${s.samples}×${s.opsPerSample}`, ns(s.min), ns(s.p50), ns(s.p90), ns(s.p99), ns(s.p999), ns(s.max)];
      body.push(line("uffdlab", x.uffdlab));
      if (x.hostSummary) body.push(line("host", x.hostSummary));
    }
    console.log(table(["scenario", "side", "batches×ops", "min", "p50", "p90", "p99", "p99.9", "max"], body));
  }

  // Sanity, from counters read outside the timer: each timed fault-row op faulted once,
  // and resident rows faulted never.
  const warn: string[] = [];
  for (const x of r.rows) {
    if (x.expect) {
      for (const [k, want] of Object.entries(x.expect)) {
        if (Math.abs(x.checks[k] - want) > 1e-9) warn.push(`${x.name}: uffdlab ${k} = ${x.checks[k].toFixed(3)} (expected ${want})`);
      }
      continue;
    }
    const want = x.host === "anon_write_fault" ? 1 : 0;
    if (Math.abs(x.checks.faultsPerOp - want) > 1e-9) warn.push(`${x.name}: uffdlab counted ${x.checks.faultsPerOp.toFixed(3)} faults per op (expected ${want})`);
  }
  for (const [k, u] of Object.entries(r.host.uffd ?? {})) {
    if (Math.abs(u.messagesPerPage - 1) > 1e-9) warn.push(`${k}: host read ${u.messagesPerPage.toFixed(3)} messages per faulted page (expected 1)`);
    if (u.badValues !== 0) warn.push(`${k}: host read ${u.badValues} bytes the fill did not write`);
  }
  if (r.host.bulkBadValues) warn.push(`bulk UFFDIO_COPY: host read ${r.host.bulkBadValues} chunks whose bytes the copy did not write`);
  if (r.host.faultsPerOp !== undefined && Math.abs(r.host.faultsPerOp - 1) > 0.01) {
    warn.push(`anon write fault: host counted ${r.host.faultsPerOp.toFixed(3)} minor faults per page (expected 1)`);
  }
  for (const w of warn) console.log(`warning: ${w}`);
  console.log(`(${(r.elapsedMs / 1000).toFixed(1)} s)`);
}
