/**
 * The native oracle on the host kernel, against the mm system calls' documented results.
 *
 * Each test runs a scenario on the real kernel and compares every result line with the Linux behaviour
 * it pins (the man pages, mm/*.c). A failure here means either the oracle is wrong or the host kernel disagrees with the
 * spec; uffdlab's own conformance runs compare against the same scenarios.
 *
 * Skipped (with the reason in the suite title) where the oracle cannot run: not Linux x86-64, no `cc`.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nativeOracleAvailable, nativeOracleCompilerOutput, runNative, runNativeText } from '../helpers/native-oracle.js';
import {
  ANON_PRIVATE,
  ANON_SHARED,
  F,
  FALLOC,
  MADV,
  MAP,
  MFD,
  MREMAP,
  NULL_NAME,
  O,
  PAGE,
  PROT,
  SEAL,
  digestOf,
  filled,
  fnv1a64,
  formatStep,
  loadOk,
  parseResult,
  type MemfdName,
  type Step,
  type Value,
} from '../helpers/scenario.js';

const avail = nativeOracleAvailable();
const P = (n: number) => n * PAGE;
const ZERO_PAGE = loadOk(filled(0, PAGE));
const ZERO_BYTE = loadOk(filled(0, 1));

// ── step constructors (only to keep the tables short) ──────────────────────────────────────────────────
const anon = (as: string, len: Value = PAGE, prot: Value = PROT.RW): Step =>
  ({ op: 'mmap', addr: 0, len, prot, flags: ANON_PRIVATE, fd: -1, off: 0, as });
const memfd = (as: string, flags: Value = 0): Step => ({ op: 'memfd_create', name: 'oracle', flags, as });
const mapShared = (fd: Value, as: string, len: Value = PAGE, prot: Value = PROT.RW): Step =>
  ({ op: 'mmap', addr: 0, len, prot, flags: MAP.SHARED, fd, off: 0, as });
const load = (addr: Value, len?: Value): Step => ({ op: 'load', addr, len });
const store = (addr: Value, byte: number, len?: Value): Step => ({ op: 'store', addr, byte, len });
const munmap = (addr: Value, len: Value): Step => ({ op: 'munmap', addr, len });
const fstat = (fd: Value): Step => ({ op: 'fstat', fd });
const stat = (size: number | bigint, blocks: number, mode = '0777') =>
  `ok type=reg mode=${mode} size=${size} blocks=${blocks} blksize=4096 nlink=0`;

/**
 * Run rows of [step, expected result line] and compare them all at once. Both sides are shown as
 * "step  →  result" so a failing diff names the step.
 */
function check(rows: [Step, string][]): void {
  const steps = rows.map(([s]) => s);
  const got = runNative(steps).map((r) => r.line);
  const show = (results: string[]) => steps.map((s, i) => `${formatStep(s)}  →  ${results[i]}`);
  expect(show(got)).toEqual(show(rows.map(([, want]) => want)));
}

describe('scenario format (pure TypeScript)', () => {
  it('formats steps as the oracle reads them', () => {
    expect(formatStep({ op: 'mmap', addr: 0, len: PAGE, prot: PROT.RW, flags: ANON_PRIVATE, fd: -1, off: 0, as: 'A' }))
      .toBe('mmap 0 4096 3 34 -1 0 as A');
    expect(formatStep({ op: 'munmap', addr: '$A+0x1000', len: 0xffffffffffffffffn })).toBe('munmap $A+0x1000 0xffffffffffffffff');
    expect(formatStep({ op: 'memfd_create', name: { repeat: 250 }, flags: MFD.CLOEXEC, as: 'F' })).toBe('memfd_create *250 1 as F');
    expect(formatStep({ op: 'memfd_create', name: NULL_NAME, flags: 0 })).toBe('memfd_create @0 0');
    expect(formatStep({ op: 'memfd_create', name: '', flags: 0 })).toBe('memfd_create "" 0');
    expect(formatStep({ op: 'pipe', as: ['R', 'W'] })).toBe('pipe as R W');
    expect(formatStep({ op: 'store', addr: '$M-0x10', byte: 7 })).toBe('store $M-0x10 7');
    expect(formatStep({ op: 'mremap', old: '$A', oldLen: P(1), newLen: P(2), flags: MREMAP.MAYMOVE, as: 'C' }))
      .toBe('mremap $A 4096 8192 1 as C');
  });

  it('rejects what the oracle could not read', () => {
    expect(() => formatStep({ op: 'load', addr: '$9A' as `$${string}` })).toThrow(/malformed reference/);
    expect(() => formatStep({ op: 'load', addr: 2 ** 64 })).toThrow(/safe integer/);
    expect(() => formatStep({ op: 'load', addr: 1n << 64n })).toThrow(/outside/);
    expect(() => formatStep({ op: 'memfd_create', name: 'a b', flags: 0 })).toThrow(/whitespace/);
    expect(() => formatStep(anon('bad-name'))).toThrow(/invalid binding name/);
  });

  it('parses result lines', () => {
    expect(parseResult('ok $A+0x1000')).toEqual({ kind: 'ok', line: 'ok $A+0x1000', words: ['$A+0x1000'], fields: {} });
    expect(parseResult('ok 10 digest=cbf29ce484222325 first=0x00 nonzero=0')).toMatchObject({
      kind: 'ok', words: ['10'], fields: { digest: 'cbf29ce484222325', first: '0x00', nonzero: '0' },
    });
    expect(parseResult('err EINVAL')).toMatchObject({ kind: 'err', errno: 'EINVAL' });
    expect(parseResult('sig SIGBUS BUS_ADRERR at=$M+0x1000')).toMatchObject({
      kind: 'sig', signal: 'SIGBUS', code: 'BUS_ADRERR', at: '$M+0x1000',
    });
    expect(parseResult('bad unbound name $Z')).toMatchObject({ kind: 'bad', reason: 'unbound name $Z' });
    expect(() => parseResult('okay')).toThrow(/unknown result kind/);
    expect(() => parseResult('err')).toThrow(/err ERRNO/);
  });

  it('digests with FNV-1a 64', () => {
    expect(fnv1a64(new Uint8Array())).toBe('cbf29ce484222325'); // published FNV-1a test vectors
    expect(fnv1a64(new TextEncoder().encode('a'))).toBe('af63dc4c8601ec8c');
    expect(fnv1a64(new TextEncoder().encode('foobar'))).toBe('85944171f73967e8');
    expect(digestOf(filled(0x41, 3))).toMatch(/^digest=[0-9a-f]{16} first=0x41 nonzero=3$/);
  });
});

describe.skipIf(!avail.ok)(
  `native oracle on the host kernel${avail.ok ? '' : ` — SKIPPED: ${avail.reason}`}`,
  () => {
    it('builds without compiler warnings', () => {
      expect(nativeOracleCompilerOutput()).toBe('');
    });

    it('digests agree between the C oracle and scenario.ts', () => {
      check([
        [anon('A', P(1)), 'ok addr'],
        [load('$A', PAGE), ZERO_PAGE],
        [store('$A', 0x41, 10), 'ok'],
        [load('$A', 10), loadOk(filled(0x41, 10))],
        [load('$A', 11), loadOk(new Uint8Array([...filled(0x41, 10), 0]))],
      ]);
    });

    it('munmap: len 0, unaligned start, wrapping length, kernel address → EINVAL', () => {
      check([
        [anon('A'), 'ok addr'],
        [munmap('$A', 0), 'err EINVAL'],
        [munmap('$A+1', PAGE), 'err EINVAL'],
        [munmap('$A', 0xfffffffffffff000n), 'err EINVAL'],
        [munmap(0xffff800000000000n, PAGE), 'err EINVAL'],
        [load('$A'), ZERO_BYTE], // still mapped
      ]);
    });

    it('munmap: one page in the middle splits the mapping; an unmapped range is success', () => {
      check([
        [anon('A', P(3)), 'ok addr'],
        [store('$A', 0x5a, P(3)), 'ok'],
        [munmap('$A+0x1000', PAGE), 'ok'],
        [load('$A', PAGE), loadOk(filled(0x5a, PAGE))],
        [load('$A+0x1000'), 'sig SIGSEGV SEGV_MAPERR at=$A+0x1000'],
        [load('$A+0x2000', PAGE), loadOk(filled(0x5a, PAGE))],
        [munmap('$A+0x1000', PAGE), 'ok'],
        [munmap('$A', 1), 'ok'], // len 1: the whole page
        [load('$A+0xfff'), 'sig SIGSEGV SEGV_MAPERR at=$A+0xfff'],
      ]);
    });

    it('mmap: len 0, bad mapping types, unaligned offset or MAP_FIXED address → EINVAL; length 2^62 → ENOMEM', () => {
      const m = (len: Value, flags: number, extra: Partial<{ addr: Value; fd: Value; off: Value }> = {}): Step =>
        ({ op: 'mmap', addr: extra.addr ?? 0, len, prot: PROT.RW, flags, fd: extra.fd ?? -1, off: extra.off ?? 0 });
      check([
        [anon('A'), 'ok addr'],
        [m(0, ANON_PRIVATE), 'err EINVAL'],
        [m(PAGE, MAP.ANONYMOUS), 'err EINVAL'], // type 0
        [m(PAGE, 0x4 | MAP.ANONYMOUS), 'err EINVAL'], // undefined type 4
        [m(PAGE, MAP.SHARED_VALIDATE | MAP.ANONYMOUS), 'err EINVAL'],
        [m(PAGE, ANON_PRIVATE, { off: 100 }), 'err EINVAL'],
        [m(PAGE, ANON_PRIVATE | MAP.FIXED, { addr: '$A+1' }), 'err EINVAL'],
        [m(1n << 62n, ANON_PRIVATE), 'err ENOMEM'],
        [m(PAGE, ANON_PRIVATE, { fd: 999 }), 'ok addr'], // the fd of an anonymous mapping is ignored
        [m(PAGE, ANON_PRIVATE | 0x200000), 'ok addr'], // an undefined flag bit is ignored
      ]);
    });

    it('mmap: fd not open → EBADF, a pipe → ENODEV, O_WRONLY → EACCES, shared+write on O_RDONLY → EACCES', () => {
      const m = (fd: Value, flags: number, prot: number = PROT.RW): Step =>
        ({ op: 'mmap', addr: 0, len: PAGE, prot, flags, fd, off: 0 });
      check([
        [m(999, MAP.PRIVATE), 'err EBADF'],
        [{ op: 'pipe', as: ['R', 'W'] }, 'ok fd fd'],
        [m('$R', MAP.PRIVATE, PROT.READ), 'err ENODEV'],
        [memfd('F'), 'ok fd'],
        [{ op: 'ftruncate', fd: '$F', len: PAGE }, 'ok'],
        [{ op: 'reopen', fd: '$F', flags: O.WRONLY, as: 'WO' }, 'ok fd'],
        [m('$WO', MAP.SHARED, PROT.WRITE), 'err EACCES'],
        [m('$WO', MAP.PRIVATE, PROT.READ), 'err EACCES'],
        [{ op: 'reopen', fd: '$F', flags: O.RDONLY, as: 'RO' }, 'ok fd'],
        [m('$RO', MAP.SHARED, PROT.RW), 'err EACCES'],
        [m('$RO', MAP.SHARED, PROT.READ), 'ok addr'],
        [m('$RO', MAP.PRIVATE, PROT.RW), 'ok addr'],
      ]);
    });

    it('mmap: len 100 maps exactly one page; MAP_FIXED_NOREPLACE → EEXIST on any overlap, exact address when free', () => {
      const noreplace = (addr: Value, len: Value, as?: string): Step =>
        ({ op: 'mmap', addr, len, prot: PROT.RW, flags: ANON_PRIVATE | MAP.FIXED_NOREPLACE, fd: -1, off: 0, as });
      // R is a 4-page range reserved and released, so nothing else lives there.
      check([
        [anon('R', P(4)), 'ok addr'],
        [munmap('$R', P(4)), 'ok'],
        [noreplace('$R+0x1000', 100, 'A'), 'ok $R+0x1000'],
        [store('$A+0xfff', 1), 'ok'],
        [load('$A+0x1000'), 'sig SIGSEGV SEGV_MAPERR at=$A+0x1000'],
        [noreplace('$R+0x1000', PAGE), 'err EEXIST'], // full overlap
        [noreplace('$R', P(2)), 'err EEXIST'], // partial overlap
        [noreplace('$R+0x2001', PAGE), 'err EINVAL'], // unaligned
        [noreplace('$R+0x2000', P(2), 'B'), 'ok $R+0x2000'],
        [load('$B+0x1fff'), ZERO_BYTE],
      ]);
    });

    it('mmap: MAP_FIXED over an existing mapping replaces it (reads 0)', () => {
      check([
        [anon('A', P(2)), 'ok addr'],
        [store('$A', 0x77, P(2)), 'ok'],
        [{ op: 'mmap', addr: '$A+0x1000', len: PAGE, prot: PROT.RW, flags: ANON_PRIVATE | MAP.FIXED, fd: -1, off: 0 }, 'ok $A+0x1000'],
        [load('$A', PAGE), loadOk(filled(0x77, PAGE))],
        [load('$A+0x1000', PAGE), ZERO_PAGE],
      ]);
    });

    it('mprotect: unaligned → EINVAL, undefined prot bit → EINVAL, unmapped → ENOMEM, len 0 → success even unmapped', () => {
      check([
        [anon('A', P(2)), 'ok addr'],
        [munmap('$A+0x1000', PAGE), 'ok'],
        [{ op: 'mprotect', addr: '$A+1', len: PAGE, prot: PROT.READ }, 'err EINVAL'],
        [{ op: 'mprotect', addr: '$A', len: PAGE, prot: 0x100 }, 'err EINVAL'],
        [{ op: 'mprotect', addr: '$A', len: PAGE, prot: PROT.READ | PROT.GROWSDOWN }, 'err EINVAL'],
        [{ op: 'mprotect', addr: '$A+0x1000', len: PAGE, prot: PROT.READ }, 'err ENOMEM'],
        [{ op: 'mprotect', addr: '$A+0x1000', len: 0, prot: PROT.READ }, 'ok'],
        [{ op: 'mprotect', addr: '$A', len: 0xfffffffffffff000n, prot: PROT.READ }, 'err ENOMEM'], // wraps
      ]);
    });

    it('mprotect over a hole: ENOMEM, the part before the hole is changed, the part after it is not', () => {
      check([
        [anon('A', P(3)), 'ok addr'],
        [munmap('$A+0x1000', PAGE), 'ok'],
        [{ op: 'mprotect', addr: '$A', len: P(3), prot: PROT.READ }, 'err ENOMEM'],
        [store('$A', 1), 'sig SIGSEGV SEGV_ACCERR at=$A'],
        [store('$A+0x2000', 1), 'ok'],
      ]);
    });

    it('accesses: write to PROT_READ and read of PROT_NONE → SIGSEGV SEGV_ACCERR; contents are kept; write-only is readable', () => {
      check([
        [anon('A'), 'ok addr'],
        [store('$A', 0x33, PAGE), 'ok'],
        [{ op: 'mprotect', addr: '$A', len: PAGE, prot: PROT.READ }, 'ok'],
        [store('$A+0x10', 0x44), 'sig SIGSEGV SEGV_ACCERR at=$A+0x10'],
        [load('$A', PAGE), loadOk(filled(0x33, PAGE))],
        [{ op: 'mprotect', addr: '$A', len: 1, prot: PROT.NONE }, 'ok'],
        [load('$A+0x800'), 'sig SIGSEGV SEGV_ACCERR at=$A+0x800'],
        [{ op: 'mprotect', addr: '$A', len: PAGE, prot: PROT.WRITE }, 'ok'],
        [load('$A', PAGE), loadOk(filled(0x33, PAGE))],
      ]);
    });

    it('madvise: unknown advice 1234 → EINVAL before any other check; unmapped → ENOMEM; len 0 → success', () => {
      const adv = (addr: Value, len: Value, advice: number): Step => ({ op: 'madvise', addr, len, advice });
      check([
        [anon('A', P(2)), 'ok addr'],
        [munmap('$A+0x1000', PAGE), 'ok'],
        [adv('$A', PAGE, 1234), 'err EINVAL'],
        [adv('$A+1', PAGE, 1234), 'err EINVAL'],
        [adv('$A+0x1000', PAGE, 1234), 'err EINVAL'],
        [adv('$A+0x1000', 0, 1234), 'err EINVAL'],
        [adv('$A+0x1000', 0, MADV.DONTNEED), 'ok'],
        [adv('$A+0x1000', PAGE, MADV.WILLNEED), 'err ENOMEM'],
        [adv('$A+1', PAGE, MADV.NORMAL), 'err EINVAL'],
        [adv('$A', 0xfffffffffffff000n, MADV.NORMAL), 'err EINVAL'], // wraps
        [adv('$A', PAGE, MADV.WIPEONFORK), 'ok'],
        [adv('$A', PAGE, MADV.FREE), 'ok'],
        [adv('$A', PAGE, MADV.REMOVE), 'err EINVAL'], // private anonymous
      ]);
    });

    it('madvise DONTNEED: private anonymous reads 0; a hole gives ENOMEM after advising both sides; shared memfd keeps data', () => {
      check([
        [anon('A', P(3)), 'ok addr'],
        [store('$A', 0x11, P(3)), 'ok'],
        [munmap('$A+0x1000', PAGE), 'ok'],
        [{ op: 'madvise', addr: '$A', len: P(3), advice: MADV.DONTNEED }, 'err ENOMEM'],
        [load('$A', PAGE), ZERO_PAGE],
        [load('$A+0x2000', PAGE), ZERO_PAGE],
        [memfd('F'), 'ok fd'],
        [{ op: 'ftruncate', fd: '$F', len: PAGE }, 'ok'],
        [mapShared('$F', 'M'), 'ok addr'],
        [store('$M', 0x22, PAGE), 'ok'],
        [{ op: 'madvise', addr: '$M', len: PAGE, advice: MADV.DONTNEED }, 'ok'],
        [load('$M', PAGE), loadOk(filled(0x22, PAGE))],
        [{ op: 'madvise', addr: '$M', len: PAGE, advice: MADV.FREE }, 'err EINVAL'],
        [{ op: 'madvise', addr: '$M', len: PAGE, advice: MADV.REMOVE }, 'ok'],
        [load('$M', PAGE), ZERO_PAGE],
      ]);
    });

    it('mremap: shrink in place, EINVAL cases, EFAULT for an unmapped old address, ENOMEM without MAYMOVE, moving keeps contents', () => {
      const mr = (old: Value, oldLen: Value, newLen: Value, flags: number, newAddr?: Value, as?: string): Step =>
        ({ op: 'mremap', old, oldLen, newLen, flags, newAddr, as });
      check([
        [anon('T'), 'ok addr'],
        [anon('A', P(3)), 'ok addr'],
        [store('$A', 0x21, P(3)), 'ok'],
        [mr('$A', P(3), P(1), 0), 'ok $A'],
        [load('$A+0x1000'), 'sig SIGSEGV SEGV_MAPERR at=$A+0x1000'],
        [mr('$A', PAGE, 0, MREMAP.MAYMOVE), 'err EINVAL'], // new size 0
        [mr('$A+1', PAGE, PAGE, 0), 'err EINVAL'],
        [mr('$A', PAGE, PAGE, 0x8), 'err EINVAL'], // undefined flag
        [mr('$A', PAGE, PAGE, MREMAP.FIXED, '$T'), 'err EINVAL'], // FIXED without MAYMOVE
        [mr('$A', 0, PAGE, MREMAP.MAYMOVE), 'err EINVAL'], // old size 0 on a private mapping
        [mr('$A+0x1000', PAGE, P(2), MREMAP.MAYMOVE), 'err EFAULT'],
        [{ op: 'mmap', addr: '$A+0x1000', len: PAGE, prot: PROT.RW, flags: ANON_PRIVATE | MAP.FIXED_NOREPLACE, fd: -1, off: 0, as: 'B' }, 'ok $A+0x1000'],
        [mr('$A', PAGE, P(2), 0), 'err ENOMEM'],
        [mr('$A', PAGE, P(2), MREMAP.MAYMOVE, undefined, 'C'), 'ok addr'],
        [load('$C', PAGE), loadOk(filled(0x21, PAGE))],
        [load('$C+0x1000', PAGE), ZERO_PAGE],
        [load('$A'), 'sig SIGSEGV SEGV_MAPERR at=$A'],
      ]);
    });

    it('shared anonymous memory: DONTNEED keeps the data, FREE → EINVAL, mremap with old size 0 makes a second mapping', () => {
      check([
        [{ op: 'mmap', addr: 0, len: P(2), prot: PROT.RW, flags: ANON_SHARED, fd: -1, off: 0, as: 'S' }, 'ok addr'],
        [store('$S', 0x3c, P(2)), 'ok'],
        [{ op: 'madvise', addr: '$S', len: P(2), advice: MADV.DONTNEED }, 'ok'],
        [load('$S', P(2)), loadOk(filled(0x3c, P(2)))],
        [{ op: 'madvise', addr: '$S', len: PAGE, advice: MADV.FREE }, 'err EINVAL'],
        [{ op: 'mremap', old: '$S', oldLen: 0, newLen: PAGE, flags: MREMAP.MAYMOVE, as: 'S2' }, 'ok addr'],
        [store('$S2', 0x3d, 1), 'ok'],
        [load('$S'), loadOk(filled(0x3d, 1))], // the same page
        [{ op: 'mmap', addr: 0, len: PAGE, prot: PROT.RW, flags: MAP.SHARED_VALIDATE | MAP.ANONYMOUS, fd: -1, off: 0 }, 'err EINVAL'],
      ]);
    });

    it('mremap: MREMAP_FIXED moves to the target and unmaps the source; DONTUNMAP leaves the source reading 0', () => {
      check([
        [anon('A'), 'ok addr'],
        [store('$A', 0x42, PAGE), 'ok'],
        [anon('T'), 'ok addr'],
        [{ op: 'mremap', old: '$A', oldLen: PAGE, newLen: PAGE, flags: MREMAP.MAYMOVE | MREMAP.FIXED, newAddr: '$T' }, 'ok $T'],
        [load('$T', PAGE), loadOk(filled(0x42, PAGE))],
        [load('$A'), 'sig SIGSEGV SEGV_MAPERR at=$A'],
        [{ op: 'mremap', old: '$T', oldLen: PAGE, newLen: P(2), flags: MREMAP.MAYMOVE | MREMAP.DONTUNMAP }, 'err EINVAL'],
        [{ op: 'mremap', old: '$T', oldLen: PAGE, newLen: PAGE, flags: MREMAP.MAYMOVE | MREMAP.DONTUNMAP, as: 'D' }, 'ok addr'],
        [load('$D', PAGE), loadOk(filled(0x42, PAGE))],
        [load('$T', PAGE), ZERO_PAGE],
      ]);
    });

    it('memfd_create: 249-byte name accepted, 250 → EINVAL; NULL or unmapped name → EFAULT; invalid flags → EINVAL', () => {
      const mc = (name: MemfdName, flags: number): Step => ({ op: 'memfd_create', name, flags });
      check([
        [mc({ repeat: 249 }, 0), 'ok fd'],
        [mc({ repeat: 250 }, 0), 'err EINVAL'],
        [mc(NULL_NAME, 0), 'err EFAULT'],
        [anon('U'), 'ok addr'],
        [munmap('$U', PAGE), 'ok'],
        [mc({ ptr: '$U' }, 0), 'err EFAULT'],
        [mc('', 0), 'ok fd'],
        [mc('a/b', 0), 'ok fd'],
        [mc('same', 0), 'ok fd'],
        [mc('same', 0), 'ok fd'],
        [mc('x', 0x40), 'err EINVAL'],
        [mc('x', 0x80000000), 'err EINVAL'],
        [mc('x', MFD.EXEC | MFD.NOEXEC_SEAL), 'err EINVAL'],
        [mc('x', MFD.EXEC), 'ok fd'],
      ]);
    });

    it('memfd_create: fstat, F_GETFL, close-on-exec and seals of a new memfd', () => {
      const fc = (fd: Value, cmd: number, arg: number = 0): Step => ({ op: 'fcntl', fd, cmd, arg });
      check([
        [memfd('F'), 'ok fd'],
        [fstat('$F'), stat(0, 0)],
        [fc('$F', F.GETFL), `ok 0x${(O.RDWR | O.LARGEFILE).toString(16)}`],
        [fc('$F', F.GETFD), 'ok 0x0'],
        [fc('$F', F.GET_SEALS), 'ok 0x1'], // F_SEAL_SEAL: sealing not allowed
        [fc('$F', F.ADD_SEALS, SEAL.WRITE), 'err EPERM'],
        [memfd('C', MFD.CLOEXEC), 'ok fd'],
        [fc('$C', F.GETFD), 'ok 0x1'],
        [memfd('S', MFD.ALLOW_SEALING), 'ok fd'],
        [fc('$S', F.GET_SEALS), 'ok 0x0'],
        [fc('$S', F.ADD_SEALS, 0x100), 'err EINVAL'],
        [memfd('N', MFD.NOEXEC_SEAL), 'ok fd'],
        [fstat('$N'), stat(0, 0, '0666')],
        [fc('$N', F.GET_SEALS), 'ok 0x20'],
      ]);
    });

    it('seals: F_SEAL_WRITE with a writable shared mapping → EBUSY; once unmapped it applies (mmap/write → EPERM)', () => {
      check([
        [memfd('S', MFD.ALLOW_SEALING), 'ok fd'],
        [{ op: 'ftruncate', fd: '$S', len: PAGE }, 'ok'],
        [mapShared('$S', 'M'), 'ok addr'],
        [{ op: 'fcntl', fd: '$S', cmd: F.ADD_SEALS, arg: SEAL.WRITE }, 'err EBUSY'],
        [munmap('$M', PAGE), 'ok'],
        [{ op: 'fcntl', fd: '$S', cmd: F.ADD_SEALS, arg: SEAL.WRITE }, 'ok 0x0'],
        [mapShared('$S', 'M2'), 'err EPERM'],
        [{ op: 'write', fd: '$S', len: 1, byte: 1 }, 'err EPERM'],
        [{ op: 'mmap', addr: 0, len: PAGE, prot: PROT.RW, flags: MAP.PRIVATE, fd: '$S', off: 0 }, 'ok addr'],
        [{ op: 'fcntl', fd: '$S', cmd: F.ADD_SEALS, arg: SEAL.SEAL }, 'ok 0x0'],
        [{ op: 'fcntl', fd: '$S', cmd: F.ADD_SEALS, arg: SEAL.GROW }, 'err EPERM'],
      ]);
    });

    it('ftruncate: negative → EINVAL; O_RDONLY fd or a pipe → EINVAL; fd not open → EBADF; 2^62 → success', () => {
      check([
        [memfd('F'), 'ok fd'],
        [{ op: 'ftruncate', fd: '$F', len: -1 }, 'err EINVAL'],
        [{ op: 'reopen', fd: '$F', flags: O.RDONLY, as: 'RO' }, 'ok fd'],
        [{ op: 'ftruncate', fd: '$RO', len: PAGE }, 'err EINVAL'],
        [{ op: 'pipe', as: ['R', 'W'] }, 'ok fd fd'],
        [{ op: 'ftruncate', fd: '$W', len: PAGE }, 'err EINVAL'],
        [{ op: 'ftruncate', fd: 999, len: PAGE }, 'err EBADF'],
        [{ op: 'ftruncate', fd: '$F', len: 1n << 62n }, 'ok'],
        [fstat('$F'), stat(1n << 62n, 0)],
        [{ op: 'ftruncate', fd: '$F', len: 100 }, 'ok'],
        [{ op: 'ftruncate', fd: '$F', len: 50 }, 'ok'],
        [fstat('$F'), stat(50, 0)],
      ]);
    });

    it('fallocate: PUNCH_HOLE without KEEP_SIZE and ZERO_RANGE → EOPNOTSUPP; len 0/negative → EINVAL; EFBIG; EBADF; ESPIPE', () => {
      const fa = (fd: Value, mode: number, off: Value, len: Value): Step => ({ op: 'fallocate', fd, mode, off, len });
      check([
        [memfd('F'), 'ok fd'],
        [fa('$F', FALLOC.PUNCH_HOLE, 0, PAGE), 'err EOPNOTSUPP'],
        [fa('$F', FALLOC.ZERO_RANGE, 0, PAGE), 'err EOPNOTSUPP'],
        [fa('$F', 0x100, 0, PAGE), 'err EOPNOTSUPP'],
        [fa('$F', 0, 0, 0), 'err EINVAL'],
        [fa('$F', 0, 0, -1), 'err EINVAL'],
        [fa('$F', 0, -1, PAGE), 'err EINVAL'],
        [fa('$F', 0, 0x7ffffffffffff000n, P(2)), 'err EFBIG'],
        [fa('$F', FALLOC.PUNCH_HOLE | FALLOC.KEEP_SIZE, P(4), PAGE), 'ok'], // beyond EOF: success
        [{ op: 'reopen', fd: '$F', flags: O.RDONLY, as: 'RO' }, 'ok fd'],
        [fa('$RO', 0, 0, PAGE), 'err EBADF'],
        [{ op: 'pipe', as: ['R', 'W'] }, 'ok fd fd'],
        [fa('$W', 0, 0, PAGE), 'err ESPIPE'],
        [fstat('$F'), stat(0, 0)],
      ]);
    });

    it('fstat: st_size and st_blocks after ftruncate, writes through a mapping and fallocate', () => {
      check([
        [memfd('F'), 'ok fd'],
        [fstat('$F'), stat(0, 0)],
        [{ op: 'ftruncate', fd: '$F', len: P(3) }, 'ok'],
        [fstat('$F'), stat(12288, 0)],
        [mapShared('$F', 'M', P(3)), 'ok addr'],
        [store('$M', 0x61, P(3)), 'ok'],
        [fstat('$F'), stat(12288, 24)],
        [{ op: 'ftruncate', fd: '$F', len: PAGE }, 'ok'],
        [fstat('$F'), stat(4096, 8)],
        [memfd('G'), 'ok fd'],
        [{ op: 'fallocate', fd: '$G', mode: 0, off: 0, len: PAGE }, 'ok'],
        [fstat('$G'), stat(4096, 8)],
        [{ op: 'fallocate', fd: '$G', mode: FALLOC.KEEP_SIZE, off: PAGE, len: P(2) }, 'ok'],
        [fstat('$G'), stat(4096, 24)],
        [{ op: 'fallocate', fd: '$G', mode: FALLOC.PUNCH_HOLE | FALLOC.KEEP_SIZE, off: PAGE, len: PAGE }, 'ok'],
        [fstat('$G'), stat(4096, 16)],
        // st_size becomes exactly 5000 (not page-rounded); the punched page 1 is allocated again
        [{ op: 'fallocate', fd: '$G', mode: 0, off: 0, len: 5000 }, 'ok'],
        [fstat('$G'), stat(5000, 24)],
      ]);
    });

    it('memfd mapping: access at or beyond EOF → SIGBUS BUS_ADRERR; a store stops at EOF; after shrink/regrow the page reads 0', () => {
      check([
        [memfd('F'), 'ok fd'],
        [{ op: 'ftruncate', fd: '$F', len: PAGE }, 'ok'],
        [mapShared('$F', 'M', P(2)), 'ok addr'],
        [load('$M', PAGE), ZERO_PAGE],
        [load('$M+0x1000'), 'sig SIGBUS BUS_ADRERR at=$M+0x1000'],
        [store('$M+0xffe', 9, 4), 'sig SIGBUS BUS_ADRERR at=$M+0x1000'],
        [load('$M+0xffe', 2), loadOk(filled(9, 2))], // the two bytes before EOF were written
        [{ op: 'ftruncate', fd: '$F', len: 0 }, 'ok'],
        [load('$M+0xffe'), 'sig SIGBUS BUS_ADRERR at=$M+0xffe'],
        [{ op: 'ftruncate', fd: '$F', len: PAGE }, 'ok'],
        [load('$M', PAGE), ZERO_PAGE],
        [memfd('E'), 'ok fd'],
        [mapShared('$E', 'Z'), 'ok addr'], // a memfd of size 0 can be mapped
        [store('$Z', 1), 'sig SIGBUS BUS_ADRERR at=$Z'],
      ]);
    });

    it('file I/O and mappings see the same pages; read/write through a pipe', () => {
      check([
        [memfd('F'), 'ok fd'],
        [{ op: 'pwrite', fd: '$F', len: 100, off: 4000, byte: 0x7e }, 'ok 100'],
        [fstat('$F'), stat(4100, 16)],
        [mapShared('$F', 'M', P(2)), 'ok addr'],
        [load('$M+0xfa0', 100), loadOk(filled(0x7e, 100))],
        [store('$M', 0x01, 10), 'ok'],
        [{ op: 'pread', fd: '$F', len: 10, off: 0 }, `ok 10 ${digestOf(filled(1, 10))}`],
        [{ op: 'pread', fd: '$F', len: 10, off: 5000 }, 'ok 0'],
        [{ op: 'pipe', as: ['R', 'W'] }, 'ok fd fd'],
        [{ op: 'write', fd: '$W', len: 3, byte: 0x41 }, 'ok 3'],
        [{ op: 'read', fd: '$R', len: 100 }, `ok 3 ${digestOf(filled(0x41, 3))}`],
        [{ op: 'close', fd: '$W' }, 'ok'],
        [{ op: 'read', fd: '$R', len: 100 }, 'ok 0'],
        [{ op: 'close', fd: '$W' }, 'err EBADF'],
      ]);
    });

    it('fork: MADV_DONTFORK → the child faults; MADV_WIPEONFORK → the child reads 0 and the parent keeps its data', () => {
      check([
        [anon('A', P(3)), 'ok addr'],
        [store('$A', 0x5c, P(3)), 'ok'],
        [{ op: 'fork-check', addr: '$A', len: PAGE }, loadOk(filled(0x5c, PAGE))],
        [{ op: 'madvise', addr: '$A+0x1000', len: PAGE, advice: MADV.DONTFORK }, 'ok'],
        [{ op: 'fork-check', addr: '$A+0x1000' }, 'sig SIGSEGV SEGV_MAPERR at=$A+0x1000'],
        [{ op: 'madvise', addr: '$A+0x2000', len: PAGE, advice: MADV.WIPEONFORK }, 'ok'],
        [{ op: 'fork-check', addr: '$A+0x2000', len: PAGE }, ZERO_PAGE],
        [load('$A+0x2000', PAGE), loadOk(filled(0x5c, PAGE))],
        [memfd('F'), 'ok fd'],
        [{ op: 'ftruncate', fd: '$F', len: PAGE }, 'ok'],
        [mapShared('$F', 'M'), 'ok addr'],
        [{ op: 'madvise', addr: '$M', len: PAGE, advice: MADV.WIPEONFORK }, 'err EINVAL'],
      ]);
    });
  },
);

describe.skipIf(!avail.ok)(
  `native oracle robustness${avail.ok ? '' : ` — SKIPPED: ${avail.reason}`}`,
  () => {
    it('answers garbage with one "bad" line per step and skips blank and comment lines', () => {
      const input = [
        '# a comment',
        '',
        'frobnicate 1 2',
        'mmap 1 2',
        'munmap $NOPE 4096',
        'munmap 0x 4096',
        'munmap 010x 4096',
        'munmap 18446744073709551616 1',
        'munmap -9223372036854775809 1',
        'load 0x1000 0',
        'mmap 0 4096 3 34 -1 0 as 1bad',
        'pipe as R',
        'memfd_create noquotes 0',
        'memfd_create *4097 0',
        `load ${'9'.repeat(5000)}`,
        'munmap 0x1000 18446744073709551615',
        'munmap 0x1000 -1',
        '   \t  ',
        'fcntl 5 1024 0',
        'load 0',
        'load 0x8000000000000000',
      ].join('\n');
      const out = runNativeText(input + '\n');
      expect(out).toEqual([
        "bad unknown op 'frobnicate'",
        'bad mmap takes 6 argument(s), got 2',
        'bad unbound name $NOPE',
        "bad malformed integer '0x'",
        "bad malformed integer '010x'",
        "bad malformed integer '18446744073709551616'",
        "bad malformed integer '-9223372036854775809'",
        'bad access length must be 1..67108864',
        "bad invalid name '1bad'",
        "bad pipe takes 'as R W' or nothing",
        `bad memfd name must be "text", *N, NULL or @value, not 'noquotes'`,
        'bad memfd name \'*N\' needs N in 0..4096',
        'bad line too long (at most 4096 bytes)',
        'err EINVAL',
        'err EINVAL',
        'bad fcntl cmd 1024 not supported (F_GETFD 1, F_GETFL 3, F_SETPIPE_SZ 1031, F_GETPIPE_SZ 1032, F_ADD_SEALS 1033, F_GET_SEALS 1034)',
        'sig SIGSEGV SEGV_MAPERR at=0x0',
        'sig SIGSEGV SI_KERNEL at=?', // non-canonical: the kernel reports no fault address
      ]);
    });

    it('refuses steps that would destroy the oracle itself, then carries on', () => {
      const out = runNativeText(
        [
          'munmap 0 0x7ffffffff000',
          'mprotect 0x1000 0x7fffffffe000 0',
          'madvise 0 0x7ffffffff000 4',
          'mmap 0 0x7ffffffff000 0 0x32 -1 0',
          'close 1',
          'close 0x100000000',
          'write 2 1 65',
          'reopen 0 2',
          'fallocate 3 0 0 0x40000000',
          'mmap 0 4096 3 34 -1 0 as A',
          'store $A 1',
        ].join('\n') + '\n',
      );
      expect(out).toEqual([
        "bad refused: range touches the oracle's own memory",
        "bad refused: range touches the oracle's own memory",
        "bad refused: range touches the oracle's own memory",
        "bad refused: range touches the oracle's own memory",
        'bad refused: fd 1 belongs to the oracle',
        'bad refused: fd 0 belongs to the oracle',
        'bad refused: fd 2 belongs to the oracle',
        'bad refused: fd 0 belongs to the oracle',
        "bad refused: step would allocate more than the oracle's memory budget",
        'ok addr',
        'ok',
      ]);
    });

    it('interrupts a read that would block forever', () => {
      const out = runNativeText('pipe as R W\nread $R 10\nwrite $W 1 0\nread $R 10\n');
      expect(out).toEqual(['ok fd fd', 'blocked', 'ok 1', `ok 1 ${digestOf(filled(0, 1))}`]);
    });

    it('batch mode: each scenario in its own child; names, fds and memory do not leak into the next', () => {
      const out = runNativeText([
        '%scenario one', 'mmap 0 4096 3 34 -1 0 as A', 'store $A 7', 'memfd_create "x" 0 as F', 'fcntl 3 1 0', '%end',
        'ignored between scenarios',
        '%scenario two', 'load $A', 'fcntl 3 1 0', 'memfd_create "y" 0 as G', 'fcntl 3 1 0', '%end',
      ].join('\n') + '\n');
      expect(out).toEqual([
        'ok addr', 'ok', 'ok fd', 'ok 0x0', '%end ok',
        'bad unbound name $A', 'err EBADF', 'ok fd', 'ok 0x0', '%end ok',
      ]);
    });

    it('userfaultfd verbs: tfault, readwait and tjoin; a wait for a userfault is "blocked", never a hang', () => {
      if (!existsSync('/dev/userfaultfd')) return; // the corpus test prints the skip reason
      const t0 = Date.now();
      const out = runNativeText([
        'uffd U 0x801', 'ioctl $U API 0xaa 0x100 0', 'anon A 2 3', 'ioctl $U REGISTER $A 0x2000 1 0',
        'load $A', 'tfault $A+0x1001 w 9 as X', 'readwait $U 32', 'tjoin X', 'ioctl $U ZEROPAGE $A+0x1000 0x1000 0 0x77',
        'tjoin X', 'tjoin X', 'tfault $A r', 'tfault $A r', 'tfault 0 r as Z', 'tjoin Z', 'tfault $A x', 'bogus-uffd-verb',
      ].join('\n') + '\n');
      expect(out).toEqual([
        'ok fd', 'ok = 0x1ffff 0x8000000000000003', 'ok', 'ok = = = 0x13c',
        'blocked', 'ok', 'ok 32 ev=0x12 flags=0x1 addr=$A+0x1000 ptid=X zero=1', 'blocked', 'ok = = = 0x1000',
        'ok 0x09', 'bad no faulting thread', 'ok', 'bad thread T is already running', 'ok', 'sig SIGSEGV SEGV_MAPERR at=0x0',
        'bad tfault takes r or w', "bad unknown op 'bogus-uffd-verb'",
      ]);
      expect(Date.now() - t0).toBeLessThan(10_000);
    });
  },
);
