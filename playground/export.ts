// A playground run as a scenario file for `uffdlab conform` (docs/scenarios.md): the run's first
// faults, replayed one at a time in the order the handler read them — start a thread that faults,
// read its message, serve it as the strategy does, join the thread — then a load of every page
// served. The interleaving of the run itself is the scheduler's and is not expressible there;
// the faults, their flags and thread names, the fills and the final contents are.
import { contentByte, plan, type LogEntry, type Scenario } from "./engine.js";

/** Faults replayed at most (each is about six steps). */
export const CONFORM_MAX_FAULTS = 16;
/** The oracle refuses a single allocation over 256 MiB. */
const MAX_PAGES = 65536;

export interface ConformExport {
  /** The scenario file's object, or null when the run cannot be expressed. */
  file: { name: string; description: string; steps: string[] } | null;
  /** Why not, when file is null. */
  why?: string;
}

const hex = (n: number) => "0x" + n.toString(16);

export function conformScenario(s: Scenario, log: readonly LogEntry[]): ConformExport {
  if (s.memory === "guest_memfd") {
    return { file: null, why: "userfaultfd on guest_memfd is Linux 7.1 behaviour; the host kernel conform compares with refuses the registration" };
  }
  if (s.pages > MAX_PAGES) return { file: null, why: `the region (${s.pages} pages) is over the oracle's 256 MiB allocation limit (${MAX_PAGES} pages)` };
  const p = plan(s);
  const seen = new Set<number>();
  const faults: LogEntry[] = [];
  for (const e of log) {
    if (e.kind !== "pagefault" || seen.has(e.page)) continue;
    seen.add(e.page);
    faults.push(e);
    if (faults.length === CONFORM_MAX_FAULTS) break;
  }
  if (faults.length === 0) return { file: null, why: "the run raised no page faults: nothing to replay" };
  const len = hex(s.pages * 4096);
  const at = (page: number, off = 0) => `$A+${hex(page * 4096 + off)}`;
  const steps = ["uffd U 0x801", "ioctl $U API 0xaa 0x100 0"];
  if (s.memory === "anon") steps.push(`anon A ${s.pages} 3`);
  else steps.push(`memfd M ${s.pages}`, `mapfd A $M ${s.pages} 3`);
  steps.push("anon S 1 3");
  const pages = faults.map((f) => f.page);
  if (s.mode === "minor") {
    steps.push(`mapfd G $M ${s.pages} 3`);
    for (const page of pages) steps.push(`fill $G+${hex(page * 4096)} 0x1000 ${hex(contentByte(s.seed, page))}`);
  } else if (s.mode === "wp") {
    for (const page of pages) steps.push(`fill ${at(page)} 0x1000 ${hex(contentByte(s.seed, page))}`);
  }
  const mode = s.mode === "missing" ? 1 : s.mode === "wp" ? 2 : 4;
  steps.push(`ioctl $U REGISTER $A ${len} ${mode} 0`);
  if (s.mode === "wp") steps.push(`ioctl $U WRITEPROTECT $A ${len} 1`);
  for (const f of faults) {
    const write = f.flags.startsWith("write");
    steps.push(`tfault ${at(f.page, p.offset(f.page))} ${write ? "w 0xa5" : "r"} as T`, "readwait $U 32");
    if (s.strategy === "copy" || s.strategy === "reap") {
      const dontwake = s.strategy === "reap" ? 1 : 0;
      const kind = p.snapshot.get(f.page) ?? "zero";
      if (kind === "data") steps.push(`fill $S 0x1000 ${hex(contentByte(s.seed, f.page))}`, `ioctl $U COPY ${at(f.page)} $S 0x1000 ${dontwake} 0`);
      else if (kind === "zero") steps.push(`ioctl $U ZEROPAGE ${at(f.page)} 0x1000 ${dontwake} 0`);
      else steps.push(`ioctl $U POISON ${at(f.page)} 0x1000 ${dontwake} 0`);
      if (dontwake) steps.push(`ioctl $U WAKE ${at(f.page)} 0x1000`);
    } else if (s.strategy === "continue") {
      steps.push(`ioctl $U CONTINUE ${at(f.page)} 0x1000 0 0`);
    } else {
      steps.push(`ioctl $U WRITEPROTECT ${at(f.page)} 0x1000 0`);
    }
    steps.push("tjoin T");
  }
  for (const page of pages) steps.push(`load ${at(page)} 4096`);
  const name = `playground-${s.memory}-${s.strategy}-seed${s.seed}`;
  const description = `uffdlab playground: ${s.memory}, ${s.mode.toUpperCase()}, ${s.strategy}, ${s.pages} pages, seed ${s.seed}; ` +
    `the first ${faults.length} faults replayed one at a time`;
  return { file: { name, description, steps } };
}
