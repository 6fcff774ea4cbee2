/**
 * Building the native C helpers (the oracle tests/oracle/oracle.c, the bench programs in
 * bench/native/) with the system C compiler, one way for all of them.
 *
 *   ccAvailable()                          { ok: true, version } | { ok: false, reason }   (asked once)
 *   buildNative(source, { ccArgs, outDir }) { ok: true, binary, compilerOutput } | { ok: false, reason }
 *   nativeDir()                            this process's cache directory (made on first use)
 *
 * Binaries go to one directory per process, `$TMPDIR/uffdlab-native-PID-XXXXXX`, removed when the
 * process exits; directories left by processes that are gone (test workers often end without
 * running 'exit' handlers) are swept when the next one is made. A source built twice with the
 * same arguments in one process is compiled once.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

export type CcState = { ok: true; version: string } | { ok: false; reason: string };
export type NativeBuild = { ok: true; binary: string; compilerOutput: string } | { ok: false; reason: string };

const DIR_RE = /^uffdlab-native-(\d+)-[A-Za-z0-9]{6}$/;
let cc: CcState | undefined;
let dir: string | undefined;
const built = new Map<string, NativeBuild>();

const firstLines = (text: string, n = 8) => text.trim().split("\n").slice(0, n).join("\n");

/** Whether `cc` runs here: its `--version` first line, or why not (asked once per process). */
export function ccAvailable(): CcState {
  return (cc ??= probeCc("cc"));
}

/** Ask `command --version` (uncached): the first line, or a one-line reason it cannot compile. */
export function probeCc(command: string): CcState {
  const probe = spawnSync(command, ["--version"], { encoding: "utf8", timeout: 30_000 });
  if (probe.error) {
    const code = (probe.error as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === "ENOENT" ? `no C compiler (\`${command}\` not on PATH)` : `${command} --version failed: ${probe.error.message}` };
  }
  if (probe.status !== 0) return { ok: false, reason: `${command} --version failed (status ${probe.status}): ${firstLines(probe.stderr, 1)}` };
  return { ok: true, version: probe.stdout.split("\n")[0] };
}

/** Remove the directories of processes that are gone (run before this process makes its own). */
export function sweepStaleDirs(): void {
  let entries: string[];
  try {
    entries = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of entries) {
    const m = DIR_RE.exec(name);
    if (!m || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ESRCH") rmSync(join(tmpdir(), name), { recursive: true, force: true });
    }
  }
}

/** This process's directory for native binaries and their scratch files (FIFOs), made on first use. */
export function nativeDir(): string {
  if (dir) return dir;
  sweepStaleDirs();
  const d = mkdtempSync(join(tmpdir(), `uffdlab-native-${process.pid}-`));
  process.once("exit", () => rmSync(d, { recursive: true, force: true }));
  return (dir = d);
}

export interface NativeBuildOptions {
  /** Compiler arguments before `-o` (optimisation, warnings, -pthread). */
  ccArgs?: string[];
  /** Where the binary goes (default: nativeDir()); its name is the source's, without `.c`. */
  outDir?: string;
  /** Compiler time limit (ms, default 120 s). */
  timeoutMs?: number;
}

/** Compile one C source into an executable: its path, or the reason it could not be built. */
export function buildNative(source: string, o: NativeBuildOptions = {}): NativeBuild {
  const args = o.ccArgs ?? [];
  const key = JSON.stringify([source, args, o.outDir ?? null]);
  const cached = built.get(key);
  if (cached) return cached;
  const c = ccAvailable();
  if (!c.ok) return { ok: false, reason: c.reason };
  const binary = join(o.outDir ?? nativeDir(), basename(source).replace(/\.c$/, ""));
  const r = spawnSync("cc", [...args, "-o", binary, source], { encoding: "utf8", timeout: o.timeoutMs ?? 120_000 });
  let res: NativeBuild;
  if (r.error) res = { ok: false, reason: `cc failed to run: ${r.error.message}` };
  else if (r.status !== 0) res = { ok: false, reason: `cc ${basename(source)} failed (status ${r.status}):\n${firstLines(r.stderr)}` };
  else res = { ok: true, binary, compilerOutput: r.stderr };
  built.set(key, res);
  return res;
}
