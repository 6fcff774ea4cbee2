/**
 * The scenario language's verbs, in one table: each verb's name, how its arguments are read and how
 * many it takes, the result line it prints (the native oracle, tests/oracle/oracle.c, and uffdlab
 * print the same line: that is what a scenario compares), and a one-line doc.
 *
 * Derived from it: the runner's arity checks (uffdlab.ts), the host features a scenario needs
 * (native.ts nativeMissing, KVM_STEP), and the verb tables of docs/scenarios.md (`npm run
 * docs:scenarios`). tests/conformance/verbs.test.ts checks that the C oracle's own tables (`ops`,
 * ustep's NEED counts, parse_call's `calls`) agree with it and that docs/scenarios.md is up to date.
 */

/** Where a verb is listed in docs/scenarios.md. */
export type Section = "mm" | "access" | "uffd" | "threads" | "kvm";

export interface Verb {
  readonly name: string;
  readonly section: Section;
  /**
   * "args": the arguments are values, parsed before the handler runs, then `as NAME…` (the oracle's
   * `ops` table); "tokens": the handler reads the raw tokens (the oracle's ustep).
   */
  readonly parse: "args" | "tokens";
  /** Fewest arguments (tokens after the verb; for "args" verbs, before `as`). */
  readonly min: number;
  /** Most arguments ("args" verbs; "tokens" verbs ignore extra tokens unless their handler says otherwise). */
  readonly max: number;
  /** Names allowed after `as` ("args" verbs). */
  readonly names: number;
  /** Argument 0 is a memfd name token ("text", *N, NULL, @value), not a value. */
  readonly mname?: boolean;
  /** A host feature the verb needs beyond the oracle itself. */
  readonly needs?: "userfaultfd" | "kvm";
  /** The step's syntax after the verb (docs). */
  readonly syntax: string;
  /** The result line on success (both kernels). */
  readonly result: string;
  /** One line: what the step does (docs). */
  readonly doc: string;
}

/** Most fds of a `tsys poll`. */
export const MAX_POLL = 4;

type Row = [name: string, parse: "args" | "tokens", min: number, max: number, names: number, syntax: string, result: string, doc: string,
  extra?: { mname?: boolean; needs?: "userfaultfd" | "kvm" }];

const rows: [Section, Row[]][] = [
  ["mm", [
    ["mmap", "args", 6, 6, 1, "addr len prot flags fd off [as A]", "`ok ADDR`", "mmap(2)"],
    ["munmap", "args", 2, 2, 0, "addr len", "`ok`", "munmap(2)"],
    ["mprotect", "args", 3, 3, 0, "addr len prot", "`ok`", "mprotect(2)"],
    ["madvise", "args", 3, 3, 0, "addr len advice", "`ok`", "madvise(2)"],
    ["mremap", "args", 4, 5, 1, "old oldlen newlen flags [newaddr] [as A]", "`ok ADDR`", "mremap(2)"],
    ["mlock", "args", 2, 2, 0, "addr len", "`ok`", "mlock(2)"],
    ["munlock", "args", 2, 2, 0, "addr len", "`ok`", "munlock(2)"],
    ["mlockall", "args", 1, 1, 0, "flags", "`ok`",
      "mlockall(2); `MCL_CURRENT` is charged as the named mappings' total length; after `MCL_FUTURE` (without `MCL_ONFAULT`) every `mmap` is charged, as it populates"],
    ["munlockall", "args", 0, 0, 0, "", "`ok`", "munlockall(2)"],
    ["memfd_create", "args", 2, 2, 1, "NAME flags [as F]", "`ok fd`",
      "memfd_create(2); NAME is `\"text\"`, `*N` (N × `a`), `NULL`, or `@value` (a raw pointer)", { mname: true }],
    ["ftruncate", "args", 2, 2, 0, "fd len", "`ok`", "ftruncate(2)"],
    ["fallocate", "args", 4, 4, 0, "fd mode off len", "`ok`", "fallocate(2)"],
    ["close", "args", 1, 1, 0, "fd", "`ok`", "close(2)"],
    ["fstat", "args", 1, 1, 0, "fd", "`ok type=reg mode=0777 size=N blocks=N blksize=4096 nlink=N`", "fstat(2)"],
    ["fcntl", "args", 3, 3, 0, "fd cmd arg", "`ok 0xV`",
      "fcntl(2); cmd 1 F_GETFD, 3 F_GETFL, 1031 F_SETPIPE_SZ, 1032 F_GETPIPE_SZ, 1033 F_ADD_SEALS, 1034 F_GET_SEALS"],
    ["pipe", "args", 0, 0, 2, "[as R W]", "`ok fd fd`", "pipe2(2) with no flags"],
    ["reopen", "args", 2, 2, 1, "fd flags [as F]", "`ok fd`", "`open(\"/proc/self/fd/N\", flags)`"],
    ["write", "args", 2, 3, 0, "fd len [byte]", "`ok N`", "write(2) of len bytes of `byte` (default 0)"],
    ["pwrite", "args", 4, 4, 0, "fd len off byte", "`ok N`", "pwrite64(2)"],
    ["read", "args", 2, 2, 1, "fd len [as F]", "`ok N DIGEST`",
      "read(2); no digest for 0 bytes; on a userfaultfd its messages (below), and `as F` binds a FORK message's new userfaultfd"],
    ["pread", "args", 3, 3, 0, "fd len off", "`ok N DIGEST`", "pread64(2)"],
    ["writefrom", "args", 3, 3, 0, "fd addr len", "`ok N`", "`write(2)` from the scenario's memory at addr (a faulting source)"],
    ["readto", "args", 3, 3, 0, "fd addr len", "`ok N`", "`read(2)` into the scenario's memory at addr (a faulting destination)"],
  ]],
  ["access", [
    ["load", "args", 1, 2, 0, "addr [len]", "`ok DIGEST`", "load len bytes (default 1)"],
    ["store", "args", 2, 3, 0, "addr byte [len]", "`ok`", "store len bytes (default 1) of byte"],
    ["fill", "args", 3, 3, 0, "addr len byte", "`ok`", "store len bytes of byte"],
    ["fork-check", "args", 1, 2, 0, "addr [len]", "the child's load result", "fork; the child loads"],
  ]],
  ["uffd", [
    ["uffd", "tokens", 2, 2, 0, "U FLAGS", "`ok fd`",
      "`userfaultfd(FLAGS)` (0x1 USER_MODE_ONLY, 0x800 O_NONBLOCK, 0x80000 O_CLOEXEC)", { needs: "userfaultfd" }],
    ["devnew", "tokens", 3, 3, 0, "U CMD FLAGS", "`ok fd`",
      "open `/dev/userfaultfd`, `ioctl(dev, CMD, FLAGS)` (CMD 0xaa00 is USERFAULTFD_IOC_NEW)", { needs: "userfaultfd" }],
    ["devopen", "tokens", 1, 1, 0, "D", "`ok fd`", "`/dev/userfaultfd` itself, kept open", { needs: "userfaultfd" }],
    ["nopriv", "tokens", 0, 0, 0, "", "`ok`", "first step only: run without CAP_SYS_PTRACE"],
    ["anon", "tokens", 3, 3, 0, "A PAGES PROT", "`ok`", "a private anonymous mapping"],
    ["sanon", "tokens", 3, 3, 0, "A PAGES PROT", "`ok`", "a shared anonymous mapping"],
    ["memfd", "tokens", 2, 2, 0, "M PAGES", "`ok fd`", "a memfd of that size"],
    ["mapfd", "tokens", 4, 5, 0, "A M PAGES PROT [ro]", "`ok`", "map it shared (`ro`: through an O_RDONLY reopen)"],
    ["ioctl", "tokens", 2, 18, 0, "FD CMD W0 W1 …",
      "`ok [R]` or `err E`, then one word per argument word *after* the call: `=` if unchanged, else its value (`-N` for −4095…−1, else hex)",
      "the argument is the 64-bit words W0…, sized by CMD (missing words are 0). CMD is `API REGISTER UNREGISTER WAKE COPY ZEROPAGE MOVE WRITEPROTECT CONTINUE POISON` or a number"],
    ["ioctl0", "tokens", 2, 2, 0, "FD CMD", "`ok`", "the argument pointer is NULL"],
    ["readwait", "tokens", 2, 4, 0, "U LEN [as F]", "as `read`", "wait until the fd is readable (bounded), then read"],
    ["fdinfo", "tokens", 1, 1, 0, "U", "`ok pending=N total=N api=aa:…:…`", "the userfaultfd lines of `/proc/self/fdinfo/U`"],
    ["poll", "tokens", 1, 2, 0, "FD [MS]", "`ok N revents=0xV`, or `blocked` if cut",
      "`poll(FD, POLLIN, MS)` (MS default 0; a negative MS or one over 1000 is cut at 1 s)"],
    ["fdflags", "tokens", 1, 1, 0, "FD", "`ok cloexec=0 acc=0 nonblock=1`", "F_GETFD and F_GETFL"],
    ["setfl", "tokens", 2, 2, 0, "FD FLAGS", "`ok`", "F_SETFL"],
  ]],
  ["threads", [
    ["tfault", "tokens", 2, 5, 0, "addr r|w [byte] [as T]", "`ok`",
      "start thread T (default `T`; up to 4) doing one load (`r`) or a store then a load (`w`)"],
    ["tjoin", "tokens", 0, 1, 0, "[T]", "`ok 0xHH` (the byte it read), a `sig` line, or `blocked`", "wait for it"],
    ["tioctl", "tokens", 2, 18, 0, "FD CMD W0 …", "`ok`", "a thread (named `C`) issues this `ioctl`, which may wait in the kernel"],
    ["tioctljoin", "tokens", 0, 0, 0, "", "its `ioctl` result line, or `blocked`", "wait for it"],
    ["fork", "tokens", 0, 0, 0, "", "`ok`", "a child process that only sleeps (sharing the pages copy-on-write) until `reap` or the end"],
    ["reap", "tokens", 0, 0, 0, "", "`ok`", "kill and wait for it"],
    ["tsys", "tokens", 1, 7, 0, "CALL", "`ok`",
      "a producer thread (named `P`) makes one call that may wait for its event to be read: `munmap`, `madvise`, `mremap`, `mmap` with the mm verbs' arguments (and `as A`), or `fork`; or `poll FD1 [FD2 …]` (up to 4; POLLIN each, no timeout: it sleeps until an fd is ready); or `read FD LEN` (a read(2) of at most 4096 bytes, which may wait); or `write FD ADDR LEN` (a write(2) from the scenario's memory, which may wait for room or for a userfault of its source)"],
    ["tsbusy", "tokens", 0, 0, 0, "", "`ok done` or `ok blocked`",
      "wait (bounded) until the call returned or a userfaultfd has a message to read (the call's event: it waits for the read)"],
    ["tsjoin", "tokens", 0, 0, 0, "",
      "the call's line as its mm verb prints it (`ok`, `ok $B+0x2000`, `err E`), `ok child` for `fork`, `ok N revents=0xV1 0xV2 …` for `poll`, what the `read` verb prints for `read` (a userfaultfd's messages, or the bytes' digest), `ok N` for `write`, or `blocked`",
      "wait for it"],
    ["childexit", "tokens", 0, 0, 0, "", "`ok`", "`tsys fork`'s child (which waits on a pipe) exits; wait for it"],
  ]],
  ["kvm", [
    ["kvm", "tokens", 1, 1, 0, "K", "`ok fd`", "`open(\"/dev/kvm\", O_RDWR)`", { needs: "kvm" }],
    ["vm", "tokens", 3, 3, 0, "V KVMFD TYPE", "`ok fd`", "`KVM_CREATE_VM`", { needs: "kvm" }],
    ["cap", "tokens", 2, 2, 0, "FD CAP", "`ok N`", "`KVM_CHECK_EXTENSION`", { needs: "kvm" }],
    ["ioctlv", "tokens", 3, 3, 0, "FD CMD ARG", "`ok N`", "any ioctl with a plain integer argument", { needs: "kvm" }],
    ["gmem", "tokens", 4, 6, 0, "G VMFD SIZE FLAGS [R0 [R5]]", "`ok fd`",
      "`KVM_CREATE_GUEST_MEMFD` (`reserved[0]`, `reserved[5]`); FLAGS 1 MMAP, 2 INIT_SHARED", { needs: "kvm" }],
    ["slot", "tokens", 8, 9, 0, "VMFD SLOT FLAGS GPA SIZE UADDR GMEMFD OFF [PAD1]", "`ok`", "`KVM_SET_USER_MEMORY_REGION2`", { needs: "kvm" }],
    ["slot1", "tokens", 6, 6, 0, "VMFD SLOT FLAGS GPA SIZE UADDR", "`ok`", "`KVM_SET_USER_MEMORY_REGION`", { needs: "kvm" }],
    ["sameino", "tokens", 2, 2, 0, "FD1 FD2", "`ok same` or `ok differ`", "the same `st_ino`?", { needs: "kvm" }],
    ["lseek", "tokens", 3, 3, 0, "FD OFF WHENCE", "`ok N`", "lseek(2)"],
  ]],
];

/** Every verb, in docs order. */
export const VERBS: readonly Verb[] = rows.flatMap(([section, rs]) =>
  rs.map(([name, parse, min, max, names, syntax, result, doc, extra]) => ({ name, section, parse, min, max, names, syntax, result, doc, ...extra })));

const byName = new Map(VERBS.map((v) => [v.name, v]));
/** The verb called `name`, if any (a Map: no prototype names). */
export function verb(name: string): Verb | undefined {
  return byName.get(name);
}

/** `tsys` calls: [min args, max args, names after `as`]; the mm ones take their mm verb's arguments. */
export const TSYS_CALLS: ReadonlyMap<string, { min: number; max: number; names: number }> = new Map([
  ...["munmap", "madvise", "mremap", "mmap"].map((n) => { const v = byName.get(n)!; return [n, { min: v.min, max: v.max, names: v.names }] as const; }),
  ["fork", { min: 0, max: 0, names: 0 }],
  ["poll", { min: 1, max: MAX_POLL, names: 0 }],
  ["read", { min: 2, max: 2, names: 0 }],
  ["write", { min: 3, max: 3, names: 0 }],
]);

/** A step's verb needs this host feature (native.ts): a regular expression over step lines. */
export function stepNeeding(feature: "userfaultfd" | "kvm"): RegExp {
  const names = VERBS.filter((v) => v.needs === feature).map((v) => v.name);
  return new RegExp(`^[ \\t]*(${names.join("|")})([ \\t]|$)`);
}

// ── docs/scenarios.md ─────────────────────────────────────────────────────────────────────────────

const cell = (s: string) => s.replace(/\|/g, "\\|");

/** The verb table of one section, as markdown. */
export function renderVerbTable(section: Section): string {
  const lines = ["| Step | Result |", "|---|---|"];
  for (const v of VERBS) {
    if (v.section !== section) continue;
    const step = `\`${v.name}${v.syntax ? ` ${v.syntax}` : ""}\``;
    lines.push(`| ${cell(step)} — ${cell(v.doc)} | ${cell(v.result)} |`);
  }
  return lines.join("\n");
}

const BLOCK_RE = /(<!-- verbs:(\w+) \(generated from host-ts\/conform\/verbs\.ts by `npm run docs:scenarios`\) -->\n)([\s\S]*?)(\n<!-- \/verbs -->)/g;

/** docs/scenarios.md with every generated verb table replaced by the table's current text. */
export function renderScenarioDoc(markdown: string): string {
  return markdown.replace(BLOCK_RE, (_m, open: string, section: string, _body: string, close: string) => {
    if (!rows.some(([s]) => s === section)) throw new Error(`docs/scenarios.md: no verb section '${section}'`);
    return open + renderVerbTable(section as Section) + close;
  });
}

/** The sections docs/scenarios.md has a generated table for. */
export function renderedSections(markdown: string): string[] {
  return [...markdown.matchAll(BLOCK_RE)].map((m) => m[2]);
}
