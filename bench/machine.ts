// What machine a benchmark ran on, so that figures from different machines can be compared: the
// CPU and its count, the hypervisor and whether the guest is paravirtualised, the kernel command
// line flags that change what a fault or a system call costs, and the load while it ran.
//
// Why it matters: on a paravirtualised guest (PVM) a host page fault costs 10–14 µs and a system call
// 1.0–1.7 µs — 5–10× a hardware-virtualised guest or bare metal — so a ratio against such a host
// flatters uffdlab by that factor. The calibration row (bench/index.ts) measures the same basics on
// every machine.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as os from "node:os";

export interface Machine {
  node: string;
  v8: string;
  platform: string;
  arch: string;
  kernel: string;
  cpu: string | null;
  cpus: number;
  memBytes: number;
  /** The CPU reports running under a hypervisor (the cpuinfo flag). */
  virtualised: boolean | null;
  /** The hypervisor's name: dmesg's "Hypervisor detected: X", else /sys/hypervisor/type; null if unknown. */
  hypervisor: string | null;
  /** A paravirtualised guest (PVM): page faults and system calls cost several times more. */
  paravirtualised: boolean;
  /** Kernel command line flags that change fault, syscall or memory costs (see COST_FLAGS). */
  cmdlineFlags: string[];
  /** Whether the host maps the zero page on anonymous read faults (false with pvm_no_zero_page=1). */
  zeroPage: boolean;
  transparentHugepage: string | null;
  /** 1-, 5- and 15-minute load averages when the run started. */
  loadavg: number[];
}

/** Command line parameters that change what the benchmarks measure on the host side. */
const COST_FLAGS = /^(pvm_[\w]+|mitigations|nopti|pti|nospectre_v2|spectre_v2|init_on_alloc|init_on_free|transparent_hugepage|nokaslr|isolcpus|nohz_full|idle|numa_balancing|page_alloc\.shuffle|randomize_kstack_offset)(=|$)/;

function readOr(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

function dmesgHypervisor(): string | null {
  try {
    const out = execFileSync("dmesg", [], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 5000, maxBuffer: 32 << 20 });
    return out.match(/Hypervisor detected: (\S+)/)?.[1] ?? null;
  } catch {
    return null; // no dmesg, or not allowed to read the kernel log
  }
}

export function machine(): Machine {
  const cpuinfo = readOr("/proc/cpuinfo");
  const cmdline = (readOr("/proc/cmdline") ?? "").trim().split(/\s+/).filter(Boolean);
  // Everything after "--" is for init, not the kernel.
  const kernelArgs = cmdline.indexOf("--") >= 0 ? cmdline.slice(0, cmdline.indexOf("--")) : cmdline;
  const cmdlineFlags = kernelArgs.filter((a) => COST_FLAGS.test(a));
  const hypervisor = dmesgHypervisor() ?? readOr("/sys/hypervisor/type")?.trim() ?? null;
  const noZeroPage = cmdlineFlags.includes("pvm_no_zero_page=1");
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: process.platform,
    arch: process.arch,
    kernel: os.release(),
    cpu: cpuinfo?.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? os.cpus()[0]?.model ?? null,
    cpus: os.availableParallelism?.() ?? os.cpus().length,
    memBytes: os.totalmem(),
    virtualised: cpuinfo ? /^flags\s*:.*\bhypervisor\b/m.test(cpuinfo) : null,
    hypervisor,
    paravirtualised: hypervisor === "PVM" || cmdlineFlags.some((f) => f.startsWith("pvm_")),
    cmdlineFlags,
    zeroPage: !noZeroPage,
    transparentHugepage: readOr("/sys/kernel/mm/transparent_hugepage/enabled")?.match(/\[(\w+)\]/)?.[1] ?? null,
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** One line for the table's header and, when it matters, the footnote that says why. */
export function describeMachine(m: Machine): { header: string; footnote: string | null } {
  const virt = m.paravirtualised ? `paravirtualised (${m.hypervisor ?? "PVM"})` : m.virtualised ? `virtualised (${m.hypervisor ?? "unknown hypervisor"})` : "bare metal";
  const header = `${m.cpu ?? "unknown cpu"} ×${m.cpus}, ${virt}, Linux ${m.kernel}${m.cmdlineFlags.length ? ` [${m.cmdlineFlags.join(" ")}]` : ""}, load ${m.loadavg.join(" ")}`;
  const footnote = m.paravirtualised
    ? "note: the host is a paravirtualised guest: its page faults and system calls cost several times more than on a hardware-virtualised guest or bare metal, so ratios against it flatter uffdlab; compare the calibration row across machines."
    : null;
  return { header, footnote };
}
