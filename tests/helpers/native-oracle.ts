/**
 * Native oracle runner: executes a scenario (tests/helpers/scenario.ts) on the host Linux kernel.
 *
 * The C program tests/oracle/mm_oracle.c is compiled once per process, on first use, with
 * `cc -O1 -Wall` into a fresh temporary directory (removed at exit, or by a later build once its process
 * is gone). Each `runNative`
 * call starts the binary, feeds it one line per step on stdin and parses one result line per step.
 *
 *   const avail = nativeOracleAvailable();      // { ok: true } | { ok: false, reason }
 *   const results = runNative([{ op: 'munmap', addr: 0x10000, len: 0 }]);   // [{ kind: 'err', errno: 'EINVAL', … }]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatStep, parseResult, type Step, type StepResult } from './scenario.js';

/** Time one scenario may take before the oracle is killed. */
export const NATIVE_TIMEOUT_MS = 10_000;

const SOURCE = fileURLToPath(new URL('../oracle/mm_oracle.c', import.meta.url));

type BuildState = { ok: true; binary: string; compilerOutput: string } | { ok: false; reason: string };
let state: BuildState | undefined;

function firstLines(text: string, n = 8): string {
  return text.trim().split('\n').slice(0, n).join('\n');
}

const DIR_PREFIX = 'uffdlab-oracle-';

/**
 * Remove build directories left by processes that are gone. Test workers are often ended without
 * running 'exit' handlers, so each directory is named `uffdlab-oracle-<pid>-XXXXXX` and swept here.
 */
function sweepStaleDirs(): void {
  let entries: string[];
  try {
    entries = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of entries) {
    const m = /^uffdlab-oracle-(\d+)-[A-Za-z0-9]{6}$/.exec(name);
    if (!m || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0); // still running (or not ours to signal): leave it alone
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') rmSync(join(tmpdir(), name), { recursive: true, force: true });
    }
  }
}

function build(): BuildState {
  if (process.platform !== 'linux') return { ok: false, reason: `not Linux (platform is ${process.platform})` };
  if (process.arch !== 'x64') {
    return { ok: false, reason: `not x86-64 (arch is ${process.arch}); the reference values are x86-64` };
  }
  if (!existsSync(SOURCE)) return { ok: false, reason: `oracle source missing: ${SOURCE}` };
  const probe = spawnSync('cc', ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (probe.error) {
    const code = (probe.error as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'ENOENT' ? 'no C compiler (cc) on PATH' : `cc --version failed: ${probe.error.message}` };
  }
  sweepStaleDirs();
  const dir = mkdtempSync(join(tmpdir(), `${DIR_PREFIX}${process.pid}-`));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const binary = join(dir, 'mm_oracle');
  const cc = spawnSync('cc', ['-O1', '-Wall', '-o', binary, SOURCE], { encoding: 'utf8', timeout: 120_000 });
  if (cc.error) return { ok: false, reason: `cc failed to run: ${cc.error.message}` };
  if (cc.status !== 0) return { ok: false, reason: `cc failed (status ${cc.status}):\n${firstLines(cc.stderr)}` };
  // The binary must start (it needs /proc/self/maps) and answer an empty scenario with nothing.
  const smoke = spawnSync(binary, [], { input: '', encoding: 'utf8', timeout: NATIVE_TIMEOUT_MS });
  if (smoke.error || smoke.status !== 0 || smoke.stdout !== '') {
    const why = smoke.error?.message ?? `status ${smoke.status}, signal ${smoke.signal}: ${firstLines(smoke.stderr)}`;
    return { ok: false, reason: `oracle binary does not start: ${why}` };
  }
  return { ok: true, binary, compilerOutput: cc.stderr };
}

function ensureBuilt(): BuildState {
  state ??= build();
  return state;
}

/** Whether the oracle can run here; builds it on the first call (the result is cached). */
export function nativeOracleAvailable(): { ok: true } | { ok: false; reason: string } {
  const s = ensureBuilt();
  return s.ok ? { ok: true } : { ok: false, reason: s.reason };
}

/** What cc printed while building the oracle ('' for a clean build); undefined if it is unavailable. */
export function nativeOracleCompilerOutput(): string | undefined {
  const s = ensureBuilt();
  return s.ok ? s.compilerOutput : undefined;
}

/**
 * Run raw scenario text (one step per line) and return the raw result lines. Throws if the oracle is
 * unavailable, times out, or does not exit cleanly. Meant for testing the oracle's own parser; normal
 * callers use `runNative`.
 */
export function runNativeText(input: string): string[] {
  const s = ensureBuilt();
  if (!s.ok) throw new Error(`native oracle unavailable: ${s.reason}`);
  const r = spawnSync(s.binary, [], {
    input,
    encoding: 'utf8',
    timeout: NATIVE_TIMEOUT_MS,
    killSignal: 'SIGKILL',
    maxBuffer: 64 << 20,
  });
  const excerpt = () => `\n--- scenario ---\n${firstLines(input, 40)}\n--- output so far ---\n${firstLines(r.stdout ?? '', 40)}`;
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    const what = code === 'ETIMEDOUT' ? `timed out after ${NATIVE_TIMEOUT_MS} ms` : r.error.message;
    throw new Error(`native oracle ${what}${excerpt()}`);
  }
  if (r.status !== 0) {
    throw new Error(`native oracle exited with status ${r.status}, signal ${r.signal}: ${firstLines(r.stderr)}${excerpt()}`);
  }
  if (r.stdout === '') return [];
  if (!r.stdout.endsWith('\n')) throw new Error(`native oracle output does not end with a newline${excerpt()}`);
  return r.stdout.slice(0, -1).split('\n');
}

/** Run the steps on the host kernel; one result per step, in order. */
export function runNative(steps: Step[]): StepResult[] {
  const lines = steps.map(formatStep);
  const out = runNativeText(lines.length === 0 ? '' : lines.join('\n') + '\n');
  if (out.length !== steps.length) {
    throw new Error(`native oracle printed ${out.length} result lines for ${steps.length} steps:\n${out.join('\n')}`);
  }
  return out.map(parseResult);
}
