/**
 * The uffdlab runner (tests/helpers/uffdlab-runner.ts) against the native oracle: every op of the scenario
 * vocabulary, the normalisation (addresses, fault addresses, digests, the fd word, fstat fields) and the
 * oracle's refusals and `bad` lines must come out byte-identical on both runners.
 */
import { describe, expect, it } from 'vitest';
import { nativeOracleAvailable, runNative } from '../helpers/native-oracle.js';
import { runUffdlab } from '../helpers/uffdlab-runner.js';
import { ANON_PRIVATE, F, MADV, MAP, MREMAP, NULL_NAME, O, PAGE, PROT, digestOf, filled, formatStep, loadOk, type Step } from '../helpers/scenario.js';

const avail = nativeOracleAvailable();
const WIN = 64 * PAGE;

/** [step, the line both runners must print]. */
const ROWS: [Step, string][] = [
  [{ op: 'mmap', addr: 0, len: WIN, prot: PROT.NONE, flags: ANON_PRIVATE, fd: -1, off: 0, as: 'W' }, 'ok addr'],
  [{ op: 'munmap', addr: '$W', len: WIN }, 'ok'],
  [{ op: 'mmap', addr: '$W+0x10000', len: 2 * PAGE, prot: PROT.RW, flags: ANON_PRIVATE | MAP.FIXED_NOREPLACE, fd: -1, off: 0, as: 'A' }, 'ok $W+0x10000'],
  [{ op: 'store', addr: '$A', byte: 0x41, len: 2 * PAGE }, 'ok'],
  [{ op: 'load', addr: '$A', len: 2 * PAGE }, loadOk(filled(0x41, 2 * PAGE))],
  [{ op: 'load', addr: '$A+0x1fff', len: 2 }, 'sig SIGSEGV SEGV_MAPERR at=$A+0x2000'],
  [{ op: 'store', addr: '$W+0x20000', byte: 1 }, 'sig SIGSEGV SEGV_MAPERR at=$W+0x20000'],
  [{ op: 'mprotect', addr: '$A', len: 2 * PAGE, prot: PROT.READ }, 'ok'],
  [{ op: 'store', addr: '$A+0x10', byte: 1 }, 'sig SIGSEGV SEGV_ACCERR at=$A+0x10'],
  [{ op: 'madvise', addr: '$A+0x1000', len: PAGE, advice: MADV.DONTNEED }, 'ok'],
  [{ op: 'load', addr: '$A+0x1000' }, loadOk(filled(0, 1))],
  [{ op: 'mremap', old: '$A', oldLen: 2 * PAGE, newLen: 3 * PAGE, flags: MREMAP.MAYMOVE, as: 'B' }, 'ok $A'],
  [{ op: 'mremap', old: '$B', oldLen: 3 * PAGE, newLen: 3 * PAGE, flags: MREMAP.MAYMOVE | MREMAP.FIXED, newAddr: '$W+0x30000' }, 'ok $W+0x30000'],
  [{ op: 'munmap', addr: '$W+0x30000', len: 3 * PAGE }, 'ok'],
  [{ op: 'memfd_create', name: 'runner', flags: 0, as: 'F' }, 'ok fd'],
  [{ op: 'fcntl', fd: 3, cmd: F.GETFD, arg: 0 }, 'ok 0x0'], // fds 0-2 are taken: the first memfd is fd 3 on both
  [{ op: 'ftruncate', fd: '$F', len: 2 * PAGE }, 'ok'],
  [{ op: 'fallocate', fd: '$F', mode: 0, off: 0, len: PAGE }, 'ok'],
  [{ op: 'fstat', fd: '$F' }, 'ok type=reg mode=0777 size=8192 blocks=8 blksize=4096 nlink=0'],
  [{ op: 'fcntl', fd: '$F', cmd: F.GETFL, arg: 0 }, 'ok 0x8002'],
  [{ op: 'fcntl', fd: '$F', cmd: F.GET_SEALS, arg: 0 }, 'ok 0x1'],
  [{ op: 'reopen', fd: '$F', flags: O.RDONLY, as: 'RO' }, 'ok fd'],
  [{ op: 'fcntl', fd: '$RO', cmd: F.GETFL, arg: 0 }, 'ok 0x8000'],
  [{ op: 'mmap', addr: '$W+0x10000', len: PAGE, prot: PROT.READ, flags: MAP.SHARED | MAP.FIXED, fd: '$RO', off: 0, as: 'M' }, 'ok $W+0x10000'],
  [{ op: 'close', fd: '$RO' }, 'ok'],
  [{ op: 'pwrite', fd: '$F', len: 10, off: 100, byte: 0x44 }, 'ok 10'],
  [{ op: 'pread', fd: '$F', len: 10, off: 100 }, `ok 10 ${digestOf(filled(0x44, 10))}`],
  [{ op: 'load', addr: '$M+0x64', len: 10 }, loadOk(filled(0x44, 10))],
  [{ op: 'load', addr: '$M+0x1000' }, 'sig SIGSEGV SEGV_MAPERR at=$M+0x1000'],
  [{ op: 'pipe', as: ['R', 'P'] }, 'ok fd fd'],
  [{ op: 'fstat', fd: '$R' }, 'ok type=fifo mode=0600 size=0 blocks=0 blksize=4096 nlink=1'],
  [{ op: 'fcntl', fd: '$R', cmd: 1032, arg: 0 }, 'ok 0x10000'], // F_GETPIPE_SZ: 16 page buffers
  [{ op: 'fcntl', fd: '$P', cmd: 1031, arg: 5000 }, 'ok 0x2000'], // F_SETPIPE_SZ rounds up to 2 pages
  [{ op: 'write', fd: '$P', len: 5, byte: 0x33 }, 'ok 5'],
  [{ op: 'read', fd: '$R', len: 10 }, `ok 5 ${digestOf(filled(0x33, 5))}`],
  [{ op: 'read', fd: '$R', len: 10 }, 'blocked'],
  // the interrupted read consumed nothing and left the pipe usable; with the write end closed a read
  // of the empty pipe is end of file, not a wait
  [{ op: 'write', fd: '$P', len: 3, byte: 0x34 }, 'ok 3'],
  [{ op: 'read', fd: '$R', len: 10 }, `ok 3 ${digestOf(filled(0x34, 3))}`],
  [{ op: 'close', fd: '$P' }, 'ok'],
  [{ op: 'read', fd: '$R', len: 10 }, 'ok 0'],
  [{ op: 'fork-check', addr: '$M+0x64', len: 2 }, loadOk(filled(0x44, 2))],
  [{ op: 'fork-check', addr: '$W' }, 'sig SIGSEGV SEGV_MAPERR at=$W'],
  [{ op: 'memfd_create', name: NULL_NAME, flags: 0 }, 'err EFAULT'],
  [{ op: 'memfd_create', name: { repeat: 250 }, flags: 0 }, 'err EINVAL'],
  [{ op: 'memfd_create', name: { ptr: '$M' }, flags: 0, as: 'G' }, 'ok fd'], // an empty name read from the mapping
  [{ op: 'load', addr: 0x8000000000000000n }, 'sig SIGSEGV SI_KERNEL at=?'],
  [{ op: 'load', addr: 0 }, 'sig SIGSEGV SEGV_MAPERR at=0x0'],
  // the oracle's refusals and scenario errors
  [{ op: 'munmap', addr: 0, len: 0x7ffffffff000n }, "bad refused: range touches the oracle's own memory"],
  [{ op: 'mprotect', addr: '$W', len: 0x100000000000n, prot: 0 }, "bad refused: range touches the oracle's own memory"],
  [{ op: 'close', fd: 1 }, 'bad refused: fd 1 belongs to the oracle'],
  [{ op: 'ftruncate', fd: 0x100000002n, len: 0 }, 'bad refused: fd 2 belongs to the oracle'],
  [{ op: 'fallocate', fd: '$F', mode: 0, off: 0, len: 0x40000000 }, "bad refused: step would allocate more than the oracle's memory budget"],
  [{ op: 'munmap', addr: '$NOPE', len: PAGE }, 'bad unbound name $NOPE'],
  [{ op: 'load', addr: '$M', len: 0 }, 'bad access length must be 1..67108864'],
  [{ op: 'load', addr: 0xffffffffffffff00n, len: 0x200 }, 'bad access range wraps around'],
  [{ op: 'store', addr: '$M', byte: 256 }, 'bad byte must be 0..255'],
  [{ op: 'write', fd: '$P', len: 0x200000, byte: 1 }, 'bad io length must be at most 1048576'],
  [{ op: 'fcntl', fd: '$F', cmd: 1024, arg: 0 }, 'bad fcntl cmd 1024 not supported (F_GETFD 1, F_GETFL 3, F_SETPIPE_SZ 1031, F_GETPIPE_SZ 1032, F_ADD_SEALS 1033, F_GET_SEALS 1034)'],
  [{ op: 'close', fd: '$F' }, 'ok'],
  [{ op: 'close', fd: '$F' }, 'err EBADF'],
];

const show = (lines: string[]) => ROWS.map(([s], i) => `${i}: ${formatStep(s)}  →  ${lines[i]}`);

describe('uffdlab runner', () => {
  it('prints the expected line for every op of the vocabulary', async () => {
    const got = (await runUffdlab(ROWS.map(([s]) => s))).map((r) => r.line);
    expect(show(got)).toEqual(show(ROWS.map(([, w]) => w)));
  });

  it('boots a fresh kernel per run (bindings and fds do not leak between runs)', async () => {
    const steps: Step[] = [{ op: 'memfd_create', name: 'x', flags: 0, as: 'F' }, { op: 'fcntl', fd: 3, cmd: F.GETFD, arg: 0 }, { op: 'fcntl', fd: 4, cmd: F.GETFD, arg: 0 }];
    for (let i = 0; i < 2; i++) expect((await runUffdlab(steps)).map((r) => r.line)).toEqual(['ok fd', 'ok 0x0', 'err EBADF']);
  });
});

describe.skipIf(!avail.ok)(`uffdlab runner against the native oracle${avail.ok ? '' : ` — SKIPPED: ${avail.reason}`}`, () => {
  it('the host prints the same lines', () => {
    const got = runNative(ROWS.map(([s]) => s)).map((r) => r.line);
    expect(show(got)).toEqual(show(ROWS.map(([, w]) => w)));
  });
});
