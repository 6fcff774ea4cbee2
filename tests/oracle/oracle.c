/*
 * oracle.c — run uffdlab scenarios against the host Linux kernel (Linux 6.18 x86-64 is the reference).
 *
 * One program for every step language uffdlab has: the mm system calls, userfaultfd (with its
 * non-cooperative events) and KVM / guest_memfd. docs/scenarios.md is the user-facing grammar; in short:
 *
 *   value   := integer | '$' NAME [ ('+'|'-') uint ]      integer := ['-'] uint (two's complement)
 *   uint    := decimal | '0x' hex                           NAME := [A-Za-z_][A-Za-z0-9_]{0,31}
 *
 *   mm verbs (table `ops`, handlers op_*, arguments parsed for them):
 *     mmap addr len prot flags fd off [as NAME]     munmap addr len        mprotect addr len prot
 *     mremap old oldlen newlen flags [newaddr] [as NAME]                    madvise addr len advice
 *     mlock addr len     munlock addr len     memfd_create mname flags [as NAME]
 *     ftruncate fd len   fallocate fd mode off len   fstat fd   close fd   fcntl fd cmd arg
 *     pipe [as R W]      reopen fd flags [as NAME]   write fd len [byte]   pwrite fd len off byte
 *     read fd len [as F] pread fd len off            load addr [len]       store addr byte [len]
 *     fill addr len byte fork-check addr [len]       writefrom fd addr len readto fd addr len
 *   userfaultfd verbs (function ustep, raw tokens):
 *     nopriv  uffd NAME FLAGS  devnew NAME CMD FLAGS  devopen NAME  anon NAME PAGES PROT
 *     sanon NAME PAGES PROT  memfd NAME PAGES  mapfd NAME FD PAGES PROT [ro]  ioctl FD CMD W0 W1 ...
 *     ioctl0 FD CMD  readwait FD LEN [as F]  fdflags FD  setfl FD FLAGS  poll FD [MS]  fdinfo FD
 *     tfault ADDR r|w [BYTE] [as T]  tjoin [T]  tioctl FD CMD W0 ...  tioctljoin  fork  reap
 *     tsys munmap|madvise|mremap|mmap ARGS [as NAME] | tsys fork | tsys poll FD... | tsys read FD LEN
 *     | tsys write FD ADDR LEN   tsbusy  tsjoin
 *     childexit
 *   KVM and guest_memfd verbs (ustep too; the guest_memfd file itself takes the mm verbs):
 *     kvm NAME  vm NAME KVMFD TYPE  cap FD CAP  ioctlv FD CMD ARG  gmem NAME VMFD SIZE FLAGS [R0 [R5]]
 *     slot VMFD SLOT FLAGS GPA SIZE UADDR GMEMFD OFF [PAD1]  slot1 VMFD SLOT FLAGS GPA SIZE UADDR
 *     sameino FD1 FD2  lseek FD OFF WHENCE
 *
 *   result := "ok" { SP word } | "err" SP ERRNO | "sig" SP SIGNAL SP CODE SP "at=" (addr | "?")
 *           | "blocked" | "bad" SP reason
 *
 * `read` of a userfaultfd (an fd made by `uffd` or `devnew`) prints the messages it read instead of a
 * digest. Addresses are never printed raw: relative to the scenario's own names. A step that waits
 * longer than BLOCK_MS (a read, a main-thread access on a registered page, a tjoin) prints "blocked".
 *
 * Input: steps one per line; or a batch of scenarios, each "%scenario NAME" ... "%end", answered with
 * the result lines and "%end ok" (or "%end died ..."). Every scenario runs in a fresh forked child of
 * the oracle (so nothing one scenario does survives into the next, and a crash costs one scenario).
 *
 * Safety: the oracle must survive any input. Input lines are bounded, unknown or malformed steps give
 * "bad ...", a step that would unmap, remap, reprotect, advise or store into the oracle's own memory
 * (everything mapped at start-up, plus 8 MiB below the stack) or use fds 0-2 (other than in fstat,
 * or as the ignored fd of an anonymous mmap) is refused with "bad refused: ...", steps that would
 * allocate memory are charged against a budget, every wait is bounded, and a scenario that runs longer
 * than SCENARIO_SECONDS is killed. SIGPIPE is ignored, so writing to a pipe without a reader gives EPIPE.
 *
 * Build: cc -O1 -Wall -pthread -o oracle oracle.c   (C11 + GNU/Linux extensions, libc only)
 * Target: Linux x86-64 (the constants below are the x86-64 values of the kernel's uapi headers).
 *
 * Modes: `oracle` (the scenario language above, on stdin); `oracle --probe-zero-page` (whether this
 * kernel maps the shared zero page on an anonymous read fault); `oracle --mm-host CMD_FIFO RES_FIFO`
 * (the mm model's command protocol, for tests/property/mm-model-host.test.ts; see its section).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- Kernel ABI constants the oracle itself needs (x86-64 uapi values); independent of libc headers ---- */
#define K_MAP_FIXED 0x10ull
#define K_MAP_ANONYMOUS 0x20ull
#define K_MAP_LOCKED 0x2000ull
#define K_MAP_POPULATE 0x8000ull
#define K_MAP_FIXED_NOREPLACE 0x100000ull
#define K_MREMAP_MAYMOVE 0x1ull
#define K_MREMAP_FIXED 0x2ull
#define K_MADV_POPULATE_READ 22ull
#define K_MADV_POPULATE_WRITE 23ull
#define K_FALLOC_FL_PUNCH_HOLE 0x2ull
#define K_F_GETFD 1ull
#define K_F_GETFL 3ull
#define K_F_ADD_SEALS 1033ull
#define K_F_GET_SEALS 1034ull
#define K_F_SETPIPE_SZ 1031ull
#define K_F_GETPIPE_SZ 1032ull

/* ---- Bounds: every loop in this file is bounded by one of these or by the input length ---- */
#define MAX_LINE 4096             /* longest accepted input line (bytes, without the newline) */
#define MAX_TOKENS 24             /* tokens per line */
#define MAX_NAME 31               /* longest binding name */
#define MAX_BINDINGS 128          /* distinct names per scenario */
#define MAX_SELF 512              /* oracle mappings remembered from /proc/self/maps */
#define MAX_MEMFD_NAME 4096       /* longest name "*N" may request */
#define ACCESS_MAX (64ull << 20)  /* longest load/store/fork-check */
#define IO_MAX (1u << 20)         /* longest read/write */
#define STEP_BUDGET (256ull << 20) /* most memory one step may ask the kernel to allocate */
#define TOTAL_BUDGET (1ull << 30) /* most memory a whole scenario may ask for */
#define STACK_MARGIN (8ull << 20) /* protected room below the oracle's stack */
#define BLOCK_MS 1000             /* a wait longer than this is interrupted: "blocked" */
#define SCENARIO_SECONDS 20       /* a scenario child running longer is killed */
#define MAX_THREADS 4             /* extra threads (tfault) per scenario */
#define THREAD_STACK (256u << 10) /* their stacks, in .bss so that no step can unmap them */
#define MAX_BLOCK (1u << 20)      /* longest scenario in batch mode (bytes) */
#define MAX_FDS 1024              /* fds tracked as userfaultfds */
#define OUT_MAX 1024              /* longest result line */

/* ======================================================================================== */
/* Output: one line per step, built in `out` and written with write(2) (no stdio buffers).  */
/* ======================================================================================== */

static char out[OUT_MAX];
static size_t outn;

static void out_reset(void) { outn = 0; out[0] = 0; }

static void voutf(const char *fmt, va_list ap)
{
    int n = vsnprintf(out + outn, sizeof out - outn, fmt, ap);
    if (n > 0) outn += (size_t)n < sizeof out - outn ? (size_t)n : sizeof out - 1 - outn; /* truncates */
}

/* Append to the result line. */
__attribute__((format(printf, 1, 2))) static void outf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    voutf(fmt, ap);
    va_end(ap);
}

/* Replace the line built so far with "bad <reason>". */
__attribute__((format(printf, 1, 2))) static void bad(const char *fmt, ...)
{
    va_list ap;
    out_reset();
    outf("bad ");
    va_start(ap, fmt);
    voutf(fmt, ap);
    va_end(ap);
}

/* A copy of user text that is safe to echo in a reason: printable ASCII, at most 40 characters. */
static const char *clean(const char *s)
{
    static char buf[4][48];
    static unsigned slot;
    char *b = buf[slot++ & 3];
    size_t i = 0;
    for (; s[i] && i < 40; i++) b[i] = (s[i] > 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (s[i]) { b[i++] = '.'; b[i++] = '.'; }
    b[i] = 0;
    return b;
}

/* Write all of buf to fd; gives up on a persistent error (bounded number of EINTR retries). */
static int write_all(int fd, const char *buf, size_t n)
{
    for (int tries = 0; n > 0 && tries < 1000; tries++) {
        long w = syscall(SYS_write, fd, buf, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        buf += w;
        n -= (size_t)w;
    }
    return n == 0 ? 0 : -1;
}

static void emit_line(void)
{
    if (outn == 0) bad("internal: step produced no result");
    out[outn] = '\n';
    if (write_all(1, out, outn + 1) != 0) _exit(3); /* stdout is gone: nothing sensible is left */
}

/* ======================================================================================== */
/* errno and si_code names                                                                  */
/* ======================================================================================== */

static const struct { int num; const char *name; } errnames[] = {
#define E(x) { x, #x }
    E(EPERM), E(ENOENT), E(ESRCH), E(EINTR), E(EIO), E(ENXIO), E(E2BIG), E(ENOEXEC), E(EBADF),
    E(ECHILD), E(EAGAIN), E(ENOMEM), E(EACCES), E(EFAULT), E(ENOTBLK), E(EBUSY), E(EEXIST), E(EXDEV),
    E(ENODEV), E(ENOTDIR), E(EISDIR), E(EINVAL), E(ENFILE), E(EMFILE), E(ENOTTY), E(ETXTBSY),
    E(EFBIG), E(ENOSPC), E(ESPIPE), E(EROFS), E(EMLINK), E(EPIPE), E(EDOM), E(ERANGE), E(EDEADLK),
    E(ENAMETOOLONG), E(ENOLCK), E(ENOSYS), E(ENOTEMPTY), E(ELOOP), E(ENODATA), E(EOVERFLOW),
    E(EBADFD), E(EOPNOTSUPP), E(ETIMEDOUT), E(ENOTSUP), E(ENOKEY), E(EHWPOISON),
#undef E
};

static const char *errname(int e)
{
    static char buf[24];
    for (size_t i = 0; i < sizeof errnames / sizeof errnames[0]; i++)
        if (errnames[i].num == e) return errnames[i].name; /* first match: EOPNOTSUPP before ENOTSUP */
    snprintf(buf, sizeof buf, "E%d", e);
    return buf;
}

static const char *codename(int sig, int code)
{
    static const char *const segv[] = { 0, "SEGV_MAPERR", "SEGV_ACCERR", "SEGV_BNDERR", "SEGV_PKUERR",
                                        "SEGV_ACCADI", "SEGV_ADIDERR", "SEGV_ADIPERR", "SEGV_MTEAERR",
                                        "SEGV_MTESERR", "SEGV_CPERR" };
    static const char *const bus[] = { 0, "BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR", "BUS_MCEERR_AR",
                                       "BUS_MCEERR_AO" };
    static char buf[24];
    if (sig == SIGSEGV && code > 0 && code < (int)(sizeof segv / sizeof segv[0])) return segv[code];
    if (sig == SIGBUS && code > 0 && code < (int)(sizeof bus / sizeof bus[0])) return bus[code];
    if (code == SI_KERNEL) return "SI_KERNEL";
    if (code == SI_USER) return "SI_USER";
    if (code == SI_TKILL) return "SI_TKILL";
    snprintf(buf, sizeof buf, "%d", code);
    return buf;
}

/* ======================================================================================== */
/* Bindings and values                                                                      */
/* ======================================================================================== */

static char bind_name[MAX_BINDINGS][MAX_NAME + 1];
static uint64_t bind_val[MAX_BINDINGS];
static uint64_t bind_len[MAX_BINDINGS]; /* a mapping's length (0: not a mapping): message addresses */
static int nbind;

static int lookup(const char *name, uint64_t *v)
{
    for (int i = 0; i < nbind; i++)
        if (strcmp(bind_name[i], name) == 0) { *v = bind_val[i]; return 1; }
    return 0;
}

/* Room is checked before an mm step runs (see run_line); a full table drops the name. */
static void bind(const char *name, uint64_t v, uint64_t len)
{
    for (int i = 0; i < nbind; i++)
        if (strcmp(bind_name[i], name) == 0) { bind_val[i] = v; bind_len[i] = len; return; }
    if (nbind < MAX_BINDINGS && strlen(name) <= MAX_NAME) {
        strcpy(bind_name[nbind], name);
        bind_val[nbind] = v;
        bind_len[nbind++] = len;
    }
}

static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MAX_NAME) return 0;
    if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_')) return 0;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '_'))
            return 0;
    return 1;
}

/*
 * Unsigned integer: decimal digits, or "0x"/"0X" followed by hex digits; the whole string must be
 * consumed and the value must fit in 64 bits. (Hand-written rather than strtoull: no octal for a leading
 * 0, no leading blanks or sign, and overflow is an error instead of a silent saturation.)
 */
static int parse_uint(const char *s, uint64_t *out_v)
{
    uint64_t v = 0;
    unsigned base = 10;
    int digits = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) { base = 16; s += 2; }
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9') d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f') d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F') d = (unsigned)(*s - 'A' + 10);
        else return -1;
        if (v > (UINT64_MAX - d) / base) return -1; /* v * base + d would exceed 2^64 - 1 */
        v = v * base + d;
        digits++;
    }
    if (!digits) return -1;
    *out_v = v;
    return 0;
}

/* A parsed value argument; `named` says whether it was written as $NAME[+-OFF]. */
struct arg {
    uint64_t v;
    int named;
    char base[MAX_NAME + 1];
    uint64_t basev; /* value of the name when the step was parsed */
};

static int parse_value(const char *tok, struct arg *a)
{
    memset(a, 0, sizeof *a);
    if (tok[0] == '$') {
        const char *p = tok + 1;
        size_t n = 0;
        while (p[n] && p[n] != '+' && p[n] != '-' && n <= MAX_NAME) n++;
        if (n == 0 || n > MAX_NAME) { bad("malformed reference '%s'", clean(tok)); return -1; }
        memcpy(a->base, p, n);
        a->base[n] = 0;
        if (!valid_name(a->base)) { bad("malformed reference '%s'", clean(tok)); return -1; }
        if (!lookup(a->base, &a->basev)) { bad("unbound name $%s", a->base); return -1; }
        uint64_t off = 0;
        if (p[n] && parse_uint(p + n + 1, &off) != 0) { bad("malformed offset in '%s'", clean(tok)); return -1; }
        a->named = 1;
        a->v = p[n] == '-' ? a->basev - off : a->basev + off; /* wraps modulo 2^64, like the kernel sees it */
        return 0;
    }
    uint64_t mag;
    if (tok[0] == '-') {
        if (parse_uint(tok + 1, &mag) != 0 || mag > (1ull << 63)) { bad("malformed integer '%s'", clean(tok)); return -1; }
        a->v = (uint64_t)0 - mag;
        return 0;
    }
    if (parse_uint(tok, &mag) != 0) { bad("malformed integer '%s'", clean(tok)); return -1; }
    a->v = mag;
    return 0;
}

/* "$A", "$A+0x10", "$A-0x10": the address v written relative to the name `base` (value basev). */
static void put_expr(const char *base, uint64_t basev, uint64_t v)
{
    uint64_t d = v - basev;
    if (d == 0) outf("$%s", base);
    else if ((int64_t)d > 0) outf("$%s+0x%llx", base, (unsigned long long)d);
    else outf("$%s-0x%llx", base, (unsigned long long)(basev - v));
}

/* Print a kernel-returned address as the first candidate argument it equals, else as "addr". */
static void put_addr_form(uint64_t r, const struct arg *const *cands, int n)
{
    for (int i = 0; i < n; i++) {
        if (!cands[i] || cands[i]->v != r) continue;
        if (cands[i]->named) put_expr(cands[i]->base, cands[i]->basev, r);
        else outf("0x%llx", (unsigned long long)r);
        return;
    }
    outf("addr");
}

/* ======================================================================================== */
/* Self-protection: the oracle's own mappings, fds and memory budget                        */
/* ======================================================================================== */

static uint64_t self_start[MAX_SELF], self_end[MAX_SELF];
static int nself;
static uint64_t page_size = 4096;
static uint64_t budget_used;

/* Remember every mapping that exists at start-up; no later step may change them. */
static int snapshot_self(void)
{
    static char buf[1 << 16];
    long fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t n = 0;
    for (int tries = 0; tries < 1000 && n < sizeof buf - 1; tries++) {
        long r = syscall(SYS_read, (int)fd, buf + n, sizeof buf - 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
    }
    syscall(SYS_close, (int)fd);
    if (n == sizeof buf - 1) return -1; /* did not fit: refuse to run rather than protect too little */
    buf[n] = 0;
    for (char *line = buf; *line && nself < MAX_SELF;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        char *dash = strchr(line, '-');
        if (dash) {
            unsigned long long s = strtoull(line, NULL, 16), e = strtoull(dash + 1, NULL, 16);
            if (strstr(line, "[stack]")) s = s > STACK_MARGIN ? s - STACK_MARGIN : 0;
            if (!strstr(line, "[vsyscall]") && e > s) { /* vsyscall lies above TASK_SIZE */
                self_start[nself] = s;
                self_end[nself++] = e;
            }
        }
        if (!nl) break;
        line = nl + 1;
    }
    return nself > 0 && nself < MAX_SELF ? 0 : -1;
}

/* Does the byte range [start, end) overlap the oracle's own memory? */
static int bytes_touch_self(uint64_t start, uint64_t end)
{
    for (int i = 0; i < nself; i++)
        if (start < self_end[i] && self_start[i] < end) return 1;
    return 0;
}

/*
 * Would an mm call on [addr, addr+len) (the kernel widens len to whole pages) touch the oracle's own
 * memory? Requests the kernel rejects before changing anything are let through, so that their errno
 * can be observed: an unaligned start (EINVAL for munmap, mprotect, madvise, mremap and MAP_FIXED) and
 * a range whose page-rounded end wraps past 2^64 (EINVAL or ENOMEM), as is len 0 (no effect).
 */
static int call_touches_self(uint64_t addr, uint64_t len)
{
    if (len == 0 || (addr & (page_size - 1)) != 0) return 0;
    uint64_t end = addr + len;
    if (end < addr || end + (page_size - 1) < end) return 0;
    return bytes_touch_self(addr, (end + page_size - 1) & ~(page_size - 1));
}

static int refuse_self(uint64_t addr, uint64_t len)
{
    if (!call_touches_self(addr, len)) return 0;
    bad("refused: range touches the oracle's own memory");
    return 1;
}

/*
 * fds 0-2 are the oracle's stdin/stdout/stderr; a step may not read, write, close or resize them.
 * The kernel takes an fd as a 32-bit (unsigned) int, so 0x100000000 is fd 0 too: test the low bits.
 */
static int refuse_fd(uint64_t fd)
{
    if ((uint32_t)fd > 2) return 0;
    bad("refused: fd %u belongs to the oracle", (unsigned)(uint32_t)fd);
    return 1;
}

/* Charge a step that makes the kernel allocate up to len bytes; refuse it beyond the budget. */
static int charge(uint64_t len)
{
    if (len > STEP_BUDGET || len > TOTAL_BUDGET - budget_used) {
        bad("refused: step would allocate more than the oracle's memory budget");
        return 0;
    }
    budget_used += len;
    return 1;
}

/* ======================================================================================== */
/* Guarded memory access and blocking guard                                                 */
/* ======================================================================================== */

/* Per thread: the main thread runs the steps, extra threads (tfault) one access each. */
static __thread sigjmp_buf fault_env;
static __thread volatile sig_atomic_t fault_armed;
static __thread volatile int fault_sig, fault_code;
static __thread void *volatile fault_addr;
static volatile sig_atomic_t alarm_fired;

static void fault_handler(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (!fault_armed) {
        /* A fault outside a guarded access is a bug in the oracle: die with the default action. */
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigaction(sig, &dfl, NULL);
        return;
    }
    fault_armed = 0;
    fault_sig = sig;
    fault_code = si->si_code;
    fault_addr = si->si_addr;
    siglongjmp(fault_env, 1);
}

/* SIGALRM reaches only the main thread (extra threads block it). It interrupts a blocking system call
 * (no SA_RESTART), or leaves an access that waits for a userfault ("blocked"). */
static void alarm_handler(int sig)
{
    (void)sig;
    alarm_fired = 1;
    if (fault_armed) {
        fault_armed = 0;
        fault_sig = 0;
        siglongjmp(fault_env, 2);
    }
}

static void set_timer(unsigned ms)
{
    struct itimerval it;
    memset(&it, 0, sizeof it);
    it.it_value.tv_sec = ms / 1000;
    it.it_value.tv_usec = (ms % 1000) * 1000;
    setitimer(ITIMER_REAL, &it, NULL);
}

/* Arm/disarm the timer that interrupts a blocking step. */
static void guard_begin(void) { alarm_fired = 0; set_timer(BLOCK_MS); }
static void guard_end(void) { set_timer(0); }

struct access_result {
    int blocked;
    int sig, code;
    uint64_t fault;
    uint64_t hash, nonzero;
    unsigned first;
};

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

/* The access in progress. Kept in statics so that nothing live across sigsetjmp is an automatic. */
static __thread struct {
    uint64_t addr, len;
    int store;
    unsigned char byte;
} acc;
static __thread struct access_result accres;

/*
 * The access proper; a fault leaves it through siglongjmp from fault_handler. Addresses come from the
 * scenario at run time, so the compiler cannot assume anything about them; an access to address 0 is
 * a deliberate test of an unmapped page, not a bug (UBSan's null check reports it all the same).
 */
static void touch(void)
{
    uint64_t addr = acc.addr, len = acc.len;
    if (acc.store) {
        unsigned char byte = acc.byte;
        for (uint64_t i = 0; i < len; i++) *(volatile unsigned char *)(uintptr_t)(addr + i) = byte;
        return;
    }
    uint64_t h = FNV_OFFSET, nz = 0;
    unsigned first = 0;
    for (uint64_t i = 0; i < len; i++) {
        unsigned char b = *(volatile unsigned char *)(uintptr_t)(addr + i);
        if (i == 0) first = b;
        h = (h ^ b) * FNV_PRIME;
        nz += b != 0;
    }
    accres.hash = h;
    accres.nonzero = nz;
    accres.first = first;
}

/*
 * Touch [addr, addr+len) one byte at a time in ascending order through volatile pointers, so that a
 * fault happens exactly at the first inaccessible byte and everything before it has been done.
 * store: write `byte` to each address; otherwise read each byte into an FNV-1a-64 digest.
 */
static __thread int in_extra_thread;

static const struct access_result *do_access(uint64_t addr, uint64_t len, int store, unsigned char byte)
{
    acc.addr = addr;
    acc.len = len;
    acc.store = store;
    acc.byte = byte;
    memset(&accres, 0, sizeof accres);
    accres.hash = FNV_OFFSET;
    int main_thread = !in_extra_thread;
    int k = sigsetjmp(fault_env, 1);
    if (k == 0) {
        if (main_thread) guard_begin();
        fault_armed = 1;
        touch();
        fault_armed = 0;
        if (main_thread) guard_end();
    } else if (k == 2) {
        accres.blocked = 1; /* the timer left a wait for a userfault */
    } else {
        if (main_thread) guard_end();
        accres.sig = fault_sig;
        accres.code = fault_code;
        accres.fault = (uint64_t)(uintptr_t)fault_addr;
    }
    return &accres;
}

static void put_digest(uint64_t h, unsigned first, uint64_t nonzero)
{
    outf("digest=%016llx first=0x%02x nonzero=%llu", (unsigned long long)h, first, (unsigned long long)nonzero);
}

static void put_access_result(const struct access_result *r, const struct arg *where, int store)
{
    if (r->blocked) {
        outf("blocked");
    } else if (r->sig) {
        outf("sig %s %s at=", r->sig == SIGSEGV ? "SIGSEGV" : r->sig == SIGBUS ? "SIGBUS" : "SIG?",
             codename(r->sig, r->code));
        /* SI_KERNEL (a non-canonical address, #GP) carries si_addr 0: there is no fault address. */
        if (r->code == SI_KERNEL) outf("?");
        else if (where->named) put_expr(where->base, where->basev, r->fault);
        else outf("0x%llx", (unsigned long long)r->fault);
    } else if (store) {
        outf("ok");
    } else {
        outf("ok ");
        put_digest(r->hash, r->first, r->nonzero);
    }
}

/* Common checks for load/store/fork-check: a length in [1, ACCESS_MAX] and no wrap. */
static int access_args_ok(uint64_t addr, uint64_t len)
{
    if (len == 0 || len > ACCESS_MAX) { bad("access length must be 1..%llu", (unsigned long long)ACCESS_MAX); return 0; }
    if (addr + len < addr) { bad("access range wraps around"); return 0; }
    return 1;
}

/* ======================================================================================== */
/* Steps                                                                                    */
/* ======================================================================================== */

struct step {
    int nargs;
    struct arg a[MAX_TOKENS];
    const char *tok[MAX_TOKENS]; /* the raw argument tokens */
    int nnames;
    const char *names[2];
};

static void mark_fd(uint64_t fd, int uffd);

static void put_status(long r)
{
    if (r == -1) outf("err %s", errname(errno));
    else if (r == 0) outf("ok");
    else outf("ok %ld", r);
}

/* After mlockall(MCL_FUTURE) without MCL_ONFAULT every new mapping is populated: mmap charges its length. */
static int mcl_future_populates;

static void op_mmap(struct step *s)
{
    uint64_t addr = s->a[0].v, len = s->a[1].v, flags = s->a[3].v, fd = s->a[4].v;
    if ((flags & K_MAP_FIXED) && !(flags & K_MAP_FIXED_NOREPLACE) && refuse_self(addr, len)) return;
    if (!(flags & K_MAP_ANONYMOUS) && refuse_fd(fd)) return;
    if (((flags & (K_MAP_POPULATE | K_MAP_LOCKED)) || mcl_future_populates) && !charge(len)) return;
    long r = syscall(SYS_mmap, addr, len, s->a[2].v, flags, fd, s->a[5].v);
    if (r == -1) { outf("err %s", errname(errno)); return; }
    const struct arg *c[] = { &s->a[0] };
    outf("ok ");
    put_addr_form((uint64_t)r, c, 1);
    if (s->nnames) bind(s->names[0], (uint64_t)r, (len + page_size - 1) & ~(page_size - 1));
}

static void op_munmap(struct step *s)
{
    if (refuse_self(s->a[0].v, s->a[1].v)) return;
    put_status(syscall(SYS_munmap, s->a[0].v, s->a[1].v));
}

static void op_mprotect(struct step *s)
{
    if (refuse_self(s->a[0].v, s->a[1].v)) return;
    put_status(syscall(SYS_mprotect, s->a[0].v, s->a[1].v, s->a[2].v));
}

static void op_mremap(struct step *s)
{
    uint64_t old = s->a[0].v, oldlen = s->a[1].v, newlen = s->a[2].v, flags = s->a[3].v;
    uint64_t newaddr = s->nargs > 4 ? s->a[4].v : 0;
    if (refuse_self(old, oldlen)) return;
    /* The target replaces what is there only with MAYMOVE|FIXED; otherwise it is a hint or ignored. */
    if ((flags & (K_MREMAP_MAYMOVE | K_MREMAP_FIXED)) == (K_MREMAP_MAYMOVE | K_MREMAP_FIXED) &&
        refuse_self(newaddr, newlen))
        return;
    if (newlen > oldlen && !charge(newlen - oldlen)) return; /* a locked mapping is populated as it grows */
    long r = syscall(SYS_mremap, old, oldlen, newlen, flags, newaddr);
    if (r == -1) { outf("err %s", errname(errno)); return; }
    const struct arg *c[] = { &s->a[0], s->nargs > 4 ? &s->a[4] : NULL };
    outf("ok ");
    put_addr_form((uint64_t)r, c, 2);
    if (s->nnames) bind(s->names[0], (uint64_t)r, (newlen + page_size - 1) & ~(page_size - 1));
}

static void op_madvise(struct step *s)
{
    uint64_t advice = s->a[2].v;
    if (refuse_self(s->a[0].v, s->a[1].v)) return;
    if ((advice == K_MADV_POPULATE_READ || advice == K_MADV_POPULATE_WRITE) && !charge(s->a[1].v)) return;
    put_status(syscall(SYS_madvise, s->a[0].v, s->a[1].v, advice));
}

static void op_mlock(struct step *s)
{
    if (!charge(s->a[1].v)) return;
    put_status(syscall(SYS_mlock, s->a[0].v, s->a[1].v));
}

static void op_munlock(struct step *s) { put_status(syscall(SYS_munlock, s->a[0].v, s->a[1].v)); }

/* mlockall: MCL_CURRENT populates every mapping; charged as the named mappings' total length. */
static void op_mlockall(struct step *s)
{
    uint64_t fl = s->a[0].v;
    int valid = (int)fl != 0 && !((int)fl & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) && (int)fl != MCL_ONFAULT;
    if (valid && ((int)fl & (MCL_CURRENT | MCL_ONFAULT)) == MCL_CURRENT) {
        uint64_t total = 0;
        for (int i = 0; i < nbind; i++) total += bind_len[i];
        if (!charge(total)) return;
    }
    long r = syscall(SYS_mlockall, fl);
    if (r == 0) mcl_future_populates = ((int)fl & (MCL_FUTURE | MCL_ONFAULT)) == MCL_FUTURE;
    put_status(r);
}

static void op_munlockall(struct step *s)
{
    (void)s;
    long r = syscall(SYS_munlockall);
    if (r == 0) mcl_future_populates = 0;
    put_status(r);
}

static void op_memfd_create(struct step *s)
{
    static char name[MAX_MEMFD_NAME + 1];
    const char *t = s->tok[0];
    size_t tl = strlen(t);
    uint64_t ptr;
    if (strcmp(t, "NULL") == 0) {
        ptr = 0;
    } else if (t[0] == '@') {
        struct arg pa;
        if (parse_value(t + 1, &pa) != 0) return;
        ptr = pa.v;
    } else if (t[0] == '*') {
        uint64_t n;
        if (parse_uint(t + 1, &n) != 0 || n > MAX_MEMFD_NAME) { bad("memfd name '*N' needs N in 0..%d", MAX_MEMFD_NAME); return; }
        memset(name, 'a', n);
        name[n] = 0;
        ptr = (uint64_t)(uintptr_t)name;
    } else if (tl >= 2 && t[0] == '"' && t[tl - 1] == '"') {
        memcpy(name, t + 1, tl - 2);
        name[tl - 2] = 0;
        ptr = (uint64_t)(uintptr_t)name;
    } else {
        bad("memfd name must be \"text\", *N, NULL or @value, not '%s'", clean(t));
        return;
    }
    long r = syscall(SYS_memfd_create, ptr, s->a[1].v);
    if (r == -1) { outf("err %s", errname(errno)); return; }
    outf("ok fd");
    if (s->nnames) bind(s->names[0], (uint64_t)r, 0);
}

static void op_ftruncate(struct step *s)
{
    if (refuse_fd(s->a[0].v)) return;
    put_status(syscall(SYS_ftruncate, s->a[0].v, s->a[1].v));
}

static void op_fallocate(struct step *s)
{
    uint64_t fd = s->a[0].v, mode = s->a[1].v, off = s->a[2].v, len = s->a[3].v;
    if (refuse_fd(fd)) return;
    /* Only a request the VFS lets through (0 <= off, 0 < len, off + len <= LLONG_MAX) can allocate. */
    if (!(mode & K_FALLOC_FL_PUNCH_HOLE) && (int64_t)off >= 0 && (int64_t)len > 0 &&
        off + len <= (uint64_t)INT64_MAX && !charge(len))
        return;
    put_status(syscall(SYS_fallocate, fd, mode, off, len));
}

static const char *ftype(unsigned mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: return "reg";
    case S_IFDIR: return "dir";
    case S_IFIFO: return "fifo";
    case S_IFCHR: return "chr";
    case S_IFBLK: return "blk";
    case S_IFLNK: return "lnk";
    case S_IFSOCK: return "sock";
    default: return "unknown";
    }
}

static void op_fstat(struct step *s)
{
    struct stat st; /* glibc's struct stat is the kernel's on x86-64 */
    memset(&st, 0, sizeof st);
    if (syscall(SYS_fstat, s->a[0].v, &st) == -1) { outf("err %s", errname(errno)); return; }
    outf("ok type=%s mode=0%03o size=%lld blocks=%lld blksize=%lld nlink=%llu", ftype(st.st_mode),
         (unsigned)(st.st_mode & 07777), (long long)st.st_size, (long long)st.st_blocks,
         (long long)st.st_blksize, (unsigned long long)st.st_nlink);
}

static void op_close(struct step *s)
{
    if (refuse_fd(s->a[0].v)) return;
    long r = syscall(SYS_close, s->a[0].v);
    if (r == 0) mark_fd((uint32_t)s->a[0].v, 0);
    put_status(r);
}

static void op_fcntl(struct step *s)
{
    uint64_t cmd = s->a[1].v;
    if (cmd != K_F_GETFD && cmd != K_F_GETFL && cmd != K_F_ADD_SEALS && cmd != K_F_GET_SEALS && cmd != K_F_SETPIPE_SZ &&
        cmd != K_F_GETPIPE_SZ) {
        bad("fcntl cmd %llu not supported (F_GETFD 1, F_GETFL 3, F_SETPIPE_SZ 1031, F_GETPIPE_SZ 1032, F_ADD_SEALS 1033, F_GET_SEALS 1034)",
            (unsigned long long)cmd);
        return;
    }
    if (refuse_fd(s->a[0].v)) return;
    long r = syscall(SYS_fcntl, s->a[0].v, cmd, s->a[2].v);
    if (r == -1) outf("err %s", errname(errno));
    else outf("ok 0x%lx", r);
}

static void op_pipe(struct step *s)
{
    if (s->nnames != 0 && s->nnames != 2) { bad("pipe takes 'as R W' or nothing"); return; }
    int fds[2];
    if (syscall(SYS_pipe2, fds, 0) == -1) { outf("err %s", errname(errno)); return; }
    outf("ok fd fd");
    if (s->nnames) { bind(s->names[0], (uint64_t)fds[0], 0); bind(s->names[1], (uint64_t)fds[1], 0); }
}

static void op_reopen(struct step *s)
{
    char path[64];
    if (refuse_fd(s->a[0].v)) return; /* reopening stdin read-write would make us a writer on our input */
    snprintf(path, sizeof path, "/proc/self/fd/%lld", (long long)s->a[0].v);
    long r = syscall(SYS_openat, AT_FDCWD, path, s->a[1].v, 0);
    if (r == -1) { outf("err %s", errname(errno)); return; }
    outf("ok fd");
    if (s->nnames) bind(s->names[0], (uint64_t)r, 0);
}

static unsigned char iobuf[IO_MAX];

/* fds made by `uffd` or `devnew` (a `read` of them prints messages); cleared by `close`. */
static unsigned char is_uffd[MAX_FDS];
static void mark_fd(uint64_t fd, int uffd)
{
    if (fd < MAX_FDS) is_uffd[fd] = (unsigned char)uffd;
}

/* An address in a uffd_msg: relative to the first named mapping that contains it. */
static void put_addr(uint64_t a)
{
    for (int i = 0; i < nbind; i++)
        if (bind_len[i] && a >= bind_val[i] && a - bind_val[i] < bind_len[i]) {
            uint64_t off = a - bind_val[i];
            if (off) outf("$%s+0x%" PRIx64, bind_name[i], off);
            else outf("$%s", bind_name[i]);
            return;
        }
    outf("0x%" PRIx64, a);
}

static void put_ptid(uint32_t ptid);

/* An end address in a uffd_msg (REMOVE / UNMAP): the end of a named mapping is $NAME+len. */
static void put_end(uint64_t a)
{
    for (int i = 0; i < nbind; i++)
        if (bind_len[i] && a > bind_val[i] && a - bind_val[i] <= bind_len[i]) {
            outf("$%s+0x%" PRIx64, bind_name[i], a - bind_val[i]);
            return;
        }
    put_addr(a);
}

/* `read ... as NAME` / `readwait ... as NAME`: the name a FORK message's new userfaultfd is bound to. */
static const char *msg_bind;

/* struct uffd_msg, 32 bytes each, by event. PAGEFAULT: ev=0x12 flags=.. addr=.. ptid=..; FORK:
 * ev=0x13 ufd=fd|bad; REMAP: ev=0x14 from=.. to=.. len=0x..; REMOVE / UNMAP: ev=0x15|0x16 start=..
 * end=..; then zero=1 if the reserved bytes and the union's unused bytes are 0. */
static void put_uffd_msgs(const unsigned char *buf, long r)
{
    for (long o = 0; o + 32 <= r; o += 32) {
        const unsigned char *m = buf + o;
        uint64_t flags, addr, w2;
        uint32_t ptid;
        memcpy(&flags, m + 8, 8);
        memcpy(&addr, m + 16, 8);
        memcpy(&w2, m + 24, 8);
        memcpy(&ptid, m + 24, 4);
        int zero = 1;
        for (int i = 1; i < 8; i++) zero &= m[i] == 0;
        if (m[0] == 0x13) {
            uint32_t ufd;
            memcpy(&ufd, m + 8, 4);
            for (int i = 12; i < 32; i++) zero &= m[i] == 0;
            int ok = fcntl((int)ufd, F_GETFD) >= 0;
            if (ok && msg_bind) { bind(msg_bind, ufd, 0); mark_fd(ufd, 1); }
            outf(" ev=0x13 ufd=%s zero=%d", ok ? "fd" : "bad", zero);
            continue;
        }
        if (m[0] == 0x14) {
            for (int i = 28; i < 32; i++) zero &= m[i] == 0;
            outf(" ev=0x14 from=");
            put_addr(flags);
            outf(" to=");
            put_addr(addr);
            outf(" len=0x%" PRIx64 " zero=%d", w2, zero);
            continue;
        }
        if (m[0] == 0x15 || m[0] == 0x16) {
            for (int i = 24; i < 32; i++) zero &= m[i] == 0;
            outf(" ev=0x%02x start=", m[0]);
            put_addr(flags);
            outf(" end=");
            put_end(addr);
            outf(" zero=%d", zero);
            continue;
        }
        for (int i = 28; i < 32; i++) zero &= m[i] == 0;
        outf(" ev=0x%02x flags=0x%" PRIx64 " addr=", m[0], flags);
        put_addr(addr);
        outf(" ptid=");
        put_ptid(ptid);
        outf(" zero=%d", zero);
    }
}

/* What a read(2) of fd returned after `ok N`: a userfaultfd's messages (`as` binds a FORK message's
 * fd), else the bytes' digest. Shared by read, readwait and tsys read. */
static void put_read_data(int uffd, const unsigned char *buf, long r, const char *as)
{
    if (uffd) {
        msg_bind = as;
        put_uffd_msgs(buf, r);
    } else if (r > 0) {
        uint64_t h = FNV_OFFSET, nz = 0;
        for (long i = 0; i < r; i++) { h = (h ^ buf[i]) * FNV_PRIME; nz += buf[i] != 0; }
        outf(" ");
        put_digest(h, buf[0], nz);
    }
}

/* Shared by write/pwrite (is_write) and read/pread (positional when has_off). */
static void do_io(struct step *s, int is_write, int has_off)
{
    uint64_t fd = s->a[0].v, len = s->a[1].v, off = has_off ? s->a[2].v : 0;
    if (refuse_fd(fd)) return;
    if (len > IO_MAX) { bad("io length must be at most %u", IO_MAX); return; }
    if (is_write) {
        uint64_t byte = s->nargs > (has_off ? 3 : 2) ? s->a[has_off ? 3 : 2].v : 0;
        if (byte > 255) { bad("byte must be 0..255"); return; }
        if (!charge(len)) return;
        memset(iobuf, (int)byte, len);
    }
    long nr = is_write ? (has_off ? SYS_pwrite64 : SYS_write) : (has_off ? SYS_pread64 : SYS_read);
    guard_begin();
    long r = has_off ? syscall(nr, fd, iobuf, len, off) : syscall(nr, fd, iobuf, len);
    int e = errno;
    guard_end();
    if (alarm_fired && (r == -1 ? e == EINTR : (uint64_t)r < len)) {
        out_reset();
        outf("blocked");
        return;
    }
    if (r == -1) { outf("err %s", errname(e)); return; }
    outf("ok %ld", r);
    if (!is_write) put_read_data(!has_off && (uint32_t)fd < MAX_FDS && is_uffd[(uint32_t)fd], iobuf, r, s->nnames ? s->names[0] : NULL);
}

/* writefrom fd addr len / readto fd addr len: write(2) from, read(2) into the scenario's own memory. */
static void do_io_at(struct step *s, int is_write)
{
    uint64_t fd = s->a[0].v, addr = s->a[1].v, len = s->a[2].v;
    if (refuse_fd(fd)) return;
    if (len > IO_MAX) { bad("io length must be at most %u", IO_MAX); return; }
    if (addr + len < addr || bytes_touch_self(addr, addr + len)) { bad("refused: range touches the oracle's own memory"); return; }
    if (!charge(len)) return;
    guard_begin();
    long r = syscall(is_write ? SYS_write : SYS_read, fd, addr, len);
    int e = errno;
    guard_end();
    if (alarm_fired && (r == -1 ? e == EINTR : (uint64_t)r < len)) {
        out_reset();
        outf("blocked");
        return;
    }
    if (r == -1) { outf("err %s", errname(e)); return; }
    outf("ok %ld", r);
}

static void op_writefrom(struct step *s) { do_io_at(s, 1); }
static void op_readto(struct step *s) { do_io_at(s, 0); }
static void op_write(struct step *s) { do_io(s, 1, 0); }
static void op_pwrite(struct step *s) { do_io(s, 1, 1); }
static void op_read(struct step *s) { do_io(s, 0, 0); }
static void op_pread(struct step *s) { do_io(s, 0, 1); }

static void op_load(struct step *s)
{
    uint64_t addr = s->a[0].v, len = s->nargs > 1 ? s->a[1].v : 1;
    if (!access_args_ok(addr, len) || !charge(len)) return;
    put_access_result(do_access(addr, len, 0, 0), &s->a[0], 0);
}

static void op_store(struct step *s)
{
    uint64_t addr = s->a[0].v, byte = s->a[1].v, len = s->nargs > 2 ? s->a[2].v : 1;
    if (byte > 255) { bad("byte must be 0..255"); return; }
    if (!access_args_ok(addr, len) || !charge(len)) return;
    if (bytes_touch_self(addr, addr + len)) { bad("refused: range touches the oracle's own memory"); return; }
    put_access_result(do_access(addr, len, 1, (unsigned char)byte), &s->a[0], 1);
}

/* fill addr len byte: the userfaultfd language's spelling of `store addr byte len`. */
static void op_fill(struct step *s)
{
    struct arg t = s->a[1];
    s->a[1] = s->a[2];
    s->a[2] = t;
    op_store(s);
}

/* fork; the child loads [addr, addr+len) and sends its result line back through a pipe. */
static void op_fork_check(struct step *s)
{
    uint64_t addr = s->a[0].v, len = s->nargs > 1 ? s->a[1].v : 1;
    if (!access_args_ok(addr, len) || !charge(len)) return;
    int p[2];
    if (syscall(SYS_pipe2, p, O_CLOEXEC) == -1) { bad("internal: pipe2 failed: %s", errname(errno)); return; }
    pid_t pid = fork(); /* libc fork (not an mm call under test): it keeps libc's state consistent */
    if (pid == -1) {
        bad("internal: fork failed: %s", errname(errno));
        syscall(SYS_close, p[0]);
        syscall(SYS_close, p[1]);
        return;
    }
    if (pid == 0) {
        signal(SIGALRM, SIG_DFL);
        in_extra_thread = 1; /* no guard timer in the child: the parent's guard decides "blocked" */
        alarm(2 * BLOCK_MS / 1000 + 1); /* the child can never outlive a stuck parent for long */
        syscall(SYS_close, p[0]);
        out_reset();
        put_access_result(do_access(addr, len, 0, 0), &s->a[0], 0);
        write_all(p[1], out, outn);
        _exit(0);
    }
    syscall(SYS_close, p[1]);
    char buf[OUT_MAX];
    size_t n = 0;
    guard_begin();
    for (int tries = 0; tries < 64 && n < sizeof buf - 1; tries++) {
        long r = syscall(SYS_read, p[0], buf + n, sizeof buf - 1 - n);
        if (r <= 0) break; /* EOF, or EINTR from the guard */
        n += (size_t)r;
    }
    int status = 0;
    long w = syscall(SYS_wait4, pid, &status, 0, NULL);
    int timed_out = alarm_fired;
    guard_end();
    syscall(SYS_close, p[0]);
    if (w != pid || timed_out) {
        kill(pid, SIGKILL);
        syscall(SYS_wait4, pid, &status, 0, NULL); /* SIGKILL cannot be ignored: this returns */
        out_reset();
        outf("blocked");
        return;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || n == 0) {
        bad("internal: fork-check child died (status 0x%x)", status);
        return;
    }
    buf[n] = 0;
    out_reset();
    outf("%s", buf);
}

/* ======================================================================================== */
/* Extra threads: `tfault ADDR r|w [BYTE] [as T]` starts one access on thread T; `tjoin [T]`       */
/* ======================================================================================== */

static struct fthread {
    char name[MAX_NAME + 1];
    pthread_t th;
    int started;
    volatile int done;
    uint64_t addr;
    int write;
    unsigned char byte, result;
    struct access_result res;
    struct arg where;
    volatile pid_t tid;
} fts[MAX_THREADS];
static char tstack[MAX_THREADS][THREAD_STACK] __attribute__((aligned(4096)));

static void put_ptid(uint32_t ptid)
{
    for (int i = 0; i < MAX_THREADS; i++)
        if (ptid != 0 && fts[i].name[0] && (pid_t)ptid == fts[i].tid) { outf("%s", fts[i].name); return; }
    outf("%u", ptid);
}

static void *faulter(void *arg)
{
    struct fthread *f = arg;
    in_extra_thread = 1;
    f->tid = (pid_t)syscall(SYS_gettid);
    const struct access_result *r = NULL;
    if (f->write) r = do_access(f->addr, 1, 1, f->byte);
    if (!r || (!r->sig && !r->blocked)) r = do_access(f->addr, 1, 0, 0);
    f->res = *r;
    f->result = (unsigned char)r->first;
    __atomic_store_n(&f->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Start a thread on a static stack with SIGALRM blocked (so the main thread's guard reaches it). */
static int start_thread(struct fthread *f, void *(*fn)(void *))
{
    pthread_attr_t at;
    sigset_t all, old;
    pthread_attr_init(&at);
    pthread_attr_setstack(&at, tstack[f - fts], THREAD_STACK);
    sigemptyset(&all);
    sigaddset(&all, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int e = pthread_create(&f->th, &at, fn, f);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&at);
    return e;
}

/* ======================================================================================== */
/* The userfaultfd and KVM verbs: raw tokens, one `else if` per verb (val, bind, outf, put_word). */
/* ======================================================================================== */

#define PAGE 4096ULL
static const char *ubad; /* set by val(): the step's "bad ..." line */
static int steps_run;    /* steps of this scenario so far, this one included */

static uint64_t val(const char *t)
{
    struct arg a;
    if (ubad) return 0; /* the first bad token decides the line */
    if (parse_value(t, &a) != 0) {
        static char msg[OUT_MAX];
        snprintf(msg, sizeof msg, "%s", out); /* parse_value wrote "bad ..." */
        out_reset();
        ubad = msg;
        return 0;
    }
    return a.v;
}

static const char *ename(int e) { return errname(e); }

static void put_word(uint64_t v)
{
    int64_t sv = (int64_t)v;
    if (sv < 0 && sv >= -4095) outf(" %" PRId64, sv);
    else outf(" 0x%" PRIx64, v);
}

static long ioctl_nr(const char *t)
{
    if (!strcmp(t, "API")) return 0xC018AA3F;
    if (!strcmp(t, "REGISTER")) return 0xC020AA00;
    if (!strcmp(t, "UNREGISTER")) return 0x8010AA01;
    if (!strcmp(t, "WAKE")) return 0x8010AA02;
    if (!strcmp(t, "COPY")) return 0xC028AA03;
    if (!strcmp(t, "ZEROPAGE")) return 0xC020AA04;
    if (!strcmp(t, "MOVE")) return 0xC028AA05;
    if (!strcmp(t, "WRITEPROTECT")) return 0xC018AA06;
    if (!strcmp(t, "CONTINUE")) return 0xC020AA07;
    if (!strcmp(t, "POISON")) return 0xC020AA08;
    return (long)val(t);
}

/* A blocking wait for fd readability, bounded by BLOCK_MS; 0: nothing came. */
static int wait_readable(int fd)
{
    struct pollfd p = { fd, POLLIN, 0 };
    return poll(&p, 1, BLOCK_MS) > 0;
}

/* An `ioctl` result line: ok|ok N|err E, then `=` or the new value of each argument word. */
static void put_ioctl_result(long r, int err, const uint64_t *w, const uint64_t *before, size_t nw)
{
    if (r < 0) outf("err %s", ename(err));
    else if (r == 0) outf("ok");
    else outf("ok %ld", r);
    for (size_t i = 0; i < nw; i++) {
        if (w[i] == before[i]) outf(" =");
        else put_word(w[i]);
    }
}

/* `tioctl`: one ioctl issued by a second thread (it may wait in the kernel), joined by `tioctljoin`.
 * Its thread is named C in uffd messages. */
static struct fthread *ct;
static int ct_fd, ct_errno;
static unsigned long ct_cmd;
static long ct_ret;
static size_t ct_nw;
static uint64_t ct_w[16], ct_before[16];

static void *caller(void *arg)
{
    struct fthread *f = arg;
    in_extra_thread = 1;
    f->tid = (pid_t)syscall(SYS_gettid);
    ct_ret = syscall(SYS_ioctl, ct_fd, ct_cmd, ct_w);
    ct_errno = errno;
    __atomic_store_n(&f->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* `fork`: a child that shares nothing but sleeps until `reap` (or the end of the scenario). */
static pid_t fork_child = -1;
static void reap_child(void)
{
    if (fork_child > 0) {
        kill(fork_child, SIGKILL);
        syscall(SYS_wait4, fork_child, NULL, 0, NULL);
        fork_child = -1;
    }
}

/* `tsys CALL`: a producer thread (named P) makes one mm call that may wait for its userfaultfd event
 * to be read (munmap, madvise, mremap, mmap: the mm verbs' arguments; or fork), or a poll() of 1 to
 * MAX_POLL fds (POLLIN each, no timeout: it sleeps until one is ready), or a read(2) of at most
 * PT_READ_MAX bytes. `tsjoin` prints the call's result line, as the mm verb would (poll: ok N
 * revents=0x.. per fd; read: as the read verb). fork's child waits on a pipe
 * until `childexit`. */
#define MAX_POLL 4
static struct fthread *pt;
static char pt_verb[16], pt_name[MAX_NAME + 1];
static struct arg pt_a[6];
static int pt_nargs;
static long pt_ret;
static int pt_errno;
static short pt_revents[MAX_POLL];
#define PT_READ_MAX 4096 /* longest tsys read */
static unsigned char pt_buf[PT_READ_MAX];
static int pt_uffd; /* tsys read: whether its fd was a userfaultfd when the call began */
static int child_pipe[2] = { -1, -1 };
static pid_t child_pid = -1;

static long producer_call(void)
{
    uint64_t a[6];
    for (int i = 0; i < 6; i++) a[i] = i < pt_nargs ? pt_a[i].v : 0;
    if (!strcmp(pt_verb, "munmap")) return syscall(SYS_munmap, a[0], a[1]);
    if (!strcmp(pt_verb, "madvise")) return syscall(SYS_madvise, a[0], a[1], a[2]);
    if (!strcmp(pt_verb, "mremap")) return syscall(SYS_mremap, a[0], a[1], a[2], a[3], a[4]);
    if (!strcmp(pt_verb, "mmap")) return syscall(SYS_mmap, a[0], a[1], a[2], a[3], a[4], a[5]);
    if (!strcmp(pt_verb, "read")) return syscall(SYS_read, a[0], pt_buf, a[1]);
    if (!strcmp(pt_verb, "write")) return syscall(SYS_write, a[0], a[1], a[2]);
    if (!strcmp(pt_verb, "poll")) {
        struct pollfd p[MAX_POLL];
        for (int i = 0; i < pt_nargs; i++) p[i] = (struct pollfd){ (int)a[i], POLLIN, 0 };
        long r = syscall(SYS_poll, p, pt_nargs, -1); /* ended by a wake, or with the scenario's child */
        for (int i = 0; i < pt_nargs; i++) pt_revents[i] = p[i].revents;
        return r;
    }
    /* fork */
    if (pipe(child_pipe)) return -1;
    pid_t c = fork();
    if (c == 0) {
        char b;
        signal(SIGALRM, SIG_DFL);
        alarm(SCENARIO_SECONDS);
        close(child_pipe[1]);
        while (read(child_pipe[0], &b, 1) < 0 && errno == EINTR) {}
        _exit(0);
    }
    if (c < 0) return -1;
    close(child_pipe[0]);
    child_pid = c;
    return 1;
}

static void *producer(void *arg)
{
    struct fthread *f = arg;
    in_extra_thread = 1;
    f->tid = (pid_t)syscall(SYS_gettid);
    long r = producer_call();
    pt_errno = errno;
    pt_ret = r;
    __atomic_store_n(&f->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Parse `VERB ARGS [as NAME]` at tok[0..n) into the pt_* state; 0, or 1 with a `bad` line in out. */
static int parse_call(int n, char **tok)
{
    static const struct { const char *verb; int min, max, names; } calls[] = {
        { "munmap", 2, 2, 0 }, { "madvise", 3, 3, 0 }, { "mremap", 4, 5, 1 }, { "mmap", 6, 6, 1 }, { "fork", 0, 0, 0 },
        { "poll", 1, MAX_POLL, 0 }, { "read", 2, 2, 0 }, { "write", 3, 3, 0 },
    };
    int k = -1;
    for (int i = 0; i < 8; i++)
        if (!strcmp(tok[0], calls[i].verb)) k = i;
    if (k < 0) { outf("bad tsys takes munmap, madvise, mremap, mmap, fork, poll, read or write"); return 1; }
    int na = 0;
    pt_name[0] = 0;
    for (int i = 1; i < n; i++) {
        if (!strcmp(tok[i], "as")) {
            if (i != n - 2 || !calls[k].names) { outf("bad %s binds at most %d name(s)", calls[k].verb, calls[k].names); return 1; }
            if (!valid_name(tok[i + 1])) { outf("bad invalid name '%s'", clean(tok[i + 1])); return 1; }
            snprintf(pt_name, sizeof pt_name, "%s", tok[i + 1]);
            break;
        }
        if (na == 6) { outf("bad wrong argument count"); return 1; }
        if (parse_value(tok[i], &pt_a[na]) != 0) return 1;
        na++;
    }
    if (na < calls[k].min || na > calls[k].max) { outf("bad wrong argument count"); return 1; }
    snprintf(pt_verb, sizeof pt_verb, "%s", calls[k].verb);
    pt_nargs = na;
    uint64_t a0 = pt_a[0].v, a1 = pt_a[1].v;
    if (k == 0 || k == 1 || k == 2) { if (refuse_self(a0, a1)) return 1; }
    if (k == 1 && (pt_a[2].v == K_MADV_POPULATE_READ || pt_a[2].v == K_MADV_POPULATE_WRITE) && !charge(a1)) return 1;
    if (k == 2) {
        uint64_t fl = pt_a[3].v;
        if ((fl & (K_MREMAP_MAYMOVE | K_MREMAP_FIXED)) == (K_MREMAP_MAYMOVE | K_MREMAP_FIXED) && refuse_self(na > 4 ? pt_a[4].v : 0, pt_a[2].v)) return 1;
        if (pt_a[2].v > a1 && !charge(pt_a[2].v - a1)) return 1;
    }
    if (k == 3) {
        uint64_t fl = pt_a[3].v;
        if ((fl & K_MAP_FIXED) && !(fl & K_MAP_FIXED_NOREPLACE) && refuse_self(a0, a1)) return 1;
        if (!(fl & K_MAP_ANONYMOUS) && refuse_fd(pt_a[4].v)) return 1;
        if ((fl & (K_MAP_POPULATE | K_MAP_LOCKED)) && !charge(a1)) return 1;
    }
    if (k == 5)
        for (int i = 0; i < na; i++)
            if (refuse_fd(pt_a[i].v)) return 1;
    if (k == 6) {
        if (refuse_fd(a0)) return 1;
        if (a1 > PT_READ_MAX) { outf("bad tsys read length must be at most %u", PT_READ_MAX); return 1; }
        pt_uffd = (uint32_t)a0 < MAX_FDS && is_uffd[(uint32_t)a0];
    }
    if (k == 7) {
        uint64_t len = pt_a[2].v;
        if (refuse_fd(a0)) return 1;
        if (len > IO_MAX) { outf("bad io length must be at most %u", IO_MAX); return 1; }
        if (a1 + len < a1 || bytes_touch_self(a1, a1 + len)) { outf("bad refused: range touches the oracle's own memory"); return 1; }
        if (!charge(len)) return 1;
    }
    return 0;
}

/* The KVM and guest_memfd argument structures (x86-64 layout) and ioctl numbers. */
struct k_create_guest_memfd { uint64_t size, flags, reserved[6]; };
struct k_userspace_memory_region2 {
    uint32_t slot, flags; uint64_t guest_phys_addr, memory_size, userspace_addr, guest_memfd_offset;
    uint32_t guest_memfd, pad1; uint64_t pad2[14];
};
struct k_userspace_memory_region { uint32_t slot, flags; uint64_t guest_phys_addr, memory_size, userspace_addr; };
#define K_KVM_CREATE_VM 0xAE01ul
#define K_KVM_CHECK_EXTENSION 0xAE03ul
#define K_KVM_CREATE_GUEST_MEMFD 0xC040AED4ul
#define K_KVM_SET_USER_MEMORY_REGION2 0x40A0AE49ul
#define K_KVM_SET_USER_MEMORY_REGION 0x4020AE46ul

/* Whether any userfaultfd of the scenario has a message to read (poll, no wait). */
static int any_uffd_readable(void)
{
    for (int fd = 3; fd < MAX_FDS; fd++) {
        if (!is_uffd[fd]) continue;
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 0) > 0 && (p.revents & POLLIN)) return 1;
    }
    return 0;
}

/* A timed join of an extra thread (BLOCK_MS); ETIMEDOUT if it still runs. */
static int join_bounded(struct fthread *f)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)(BLOCK_MS % 1000) * 1000000L;
    ts.tv_sec += BLOCK_MS / 1000 + ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return pthread_timedjoin_np(f->th, NULL, &ts);
}

/* Returns 0 if `op` is not a verb of this language. */
static int ustep(int n, char **tok)
{
    const char *op = tok[0];
#define NEED(k) do { if (n < (k)) { outf("bad wrong argument count"); return 1; } } while (0)
#define CHECK() do { if (ubad) { outf("%s", ubad); return 1; } } while (0)
#define SYSRES(r) do { if ((r) < 0) { outf("err %s", ename(errno)); return 1; } } while (0)
    ubad = NULL;
    if (!strcmp(op, "nopriv")) {
        if (steps_run != 1) { outf("bad nopriv must be the first step"); return 1; }
        FILE *f = fopen("/proc/sys/vm/unprivileged_userfaultfd", "r");
        int v = -1;
        if (f) { if (fscanf(f, "%d", &v) != 1) v = -1; fclose(f); }
        if (v != 0) { outf("bad sysctl vm.unprivileged_userfaultfd is %d, not 0", v); return 1; }
        struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
        struct __user_cap_data_struct d[2];
        if (syscall(SYS_capget, &h, d)) { outf("bad capget: %s", ename(errno)); return 1; }
        for (int i = 0; i < 2; i++) {
            unsigned m = i == CAP_SYS_PTRACE / 32 ? 1u << (CAP_SYS_PTRACE % 32) : 0;
            d[i].effective &= ~m; d[i].permitted &= ~m; d[i].inheritable &= ~m;
        }
        if (syscall(SYS_capset, &h, d)) { outf("bad capset: %s", ename(errno)); return 1; }
        outf("ok");
    } else if (!strcmp(op, "uffd")) {
        NEED(3);
        uint64_t fl = val(tok[2]);
        CHECK();
        long r = syscall(SYS_userfaultfd, fl);
        SYSRES(r);
        bind(tok[1], (uint64_t)r, 0);
        mark_fd((uint64_t)r, 1);
        outf("ok fd");
    } else if (!strcmp(op, "devnew")) {
        NEED(4);
        uint64_t cmd = val(tok[2]), fl = val(tok[3]);
        CHECK();
        int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
        if (dev < 0) { outf("bad open /dev/userfaultfd: %s", ename(errno)); return 1; }
        long r = syscall(SYS_ioctl, dev, cmd, fl);
        int e = errno;
        close(dev);
        if (r < 0) { outf("err %s", ename(e)); return 1; }
        bind(tok[1], (uint64_t)r, 0);
        mark_fd((uint64_t)r, 1);
        outf("ok fd");
    } else if (!strcmp(op, "anon") || !strcmp(op, "sanon")) {
        NEED(4);
        uint64_t pages = val(tok[2]), prot = val(tok[3]);
        CHECK();
        if (!charge(pages * PAGE)) return 1;
        int fl = MAP_ANONYMOUS | (op[0] == 's' ? MAP_SHARED : MAP_PRIVATE);
        void *p = mmap(NULL, pages * PAGE, (int)prot, fl, -1, 0);
        if (p == MAP_FAILED) { outf("err %s", ename(errno)); return 1; }
        bind(tok[1], (uint64_t)(uintptr_t)p, pages * PAGE);
        outf("ok");
    } else if (!strcmp(op, "memfd")) {
        NEED(3);
        uint64_t pages = val(tok[2]);
        CHECK();
        int fd = (int)syscall(SYS_memfd_create, "uffd_oracle", 0);
        SYSRES(fd);
        if (ftruncate(fd, (off_t)(pages * PAGE))) { outf("err %s", ename(errno)); return 1; }
        bind(tok[1], (uint64_t)fd, 0);
        mark_fd((uint64_t)fd, 0);
        outf("ok fd");
    } else if (!strcmp(op, "mapfd")) {
        NEED(5);
        uint64_t fd = val(tok[2]), pages = val(tok[3]), prot = val(tok[4]);
        CHECK();
        if (refuse_fd(fd)) return 1;
        int mfd = (int)fd;
        if (n > 5 && !strcmp(tok[5], "ro")) {
            char path[64];
            snprintf(path, sizeof path, "/proc/self/fd/%d", (int)fd);
            mfd = open(path, O_RDONLY);
            SYSRES(mfd);
            mark_fd((uint64_t)mfd, 0);
        }
        void *p = mmap(NULL, pages * PAGE, (int)prot, MAP_SHARED, mfd, 0);
        if (p == MAP_FAILED) { outf("err %s", ename(errno)); return 1; }
        bind(tok[1], (uint64_t)(uintptr_t)p, pages * PAGE);
        outf("ok");
    } else if (!strcmp(op, "ioctl")) {
        NEED(3);
        uint64_t fd = val(tok[1]);
        unsigned long cmd = (unsigned long)ioctl_nr(tok[2]);
        uint64_t w[16] = { 0 }, before[16];
        size_t nw = ((cmd >> 16) & 0x3fff) / 8;
        if (nw > 16 || (size_t)(n - 3) > nw) { outf("bad too many words"); return 1; }
        for (int i = 3; i < n; i++) w[i - 3] = val(tok[i]);
        CHECK();
        if (refuse_fd(fd)) return 1;
        memcpy(before, w, sizeof w);
        guard_begin();
        long r = syscall(SYS_ioctl, (int)fd, cmd, w);
        int e = errno;
        guard_end();
        put_ioctl_result(r, e, w, before, nw);
    } else if (!strcmp(op, "ioctl0")) {
        NEED(3);
        uint64_t fd = val(tok[1]);
        unsigned long cmd = (unsigned long)ioctl_nr(tok[2]);
        CHECK();
        if (refuse_fd(fd)) return 1;
        long r = syscall(SYS_ioctl, (int)fd, cmd, NULL);
        SYSRES(r);
        outf("ok");
    } else if (!strcmp(op, "readwait")) {
        const char *as = NULL;
        if (n >= 5 && !strcmp(tok[n - 2], "as")) { as = tok[n - 1]; n -= 2; }
        if (as && !valid_name(as)) { outf("bad invalid name '%s'", clean(as)); return 1; }
        NEED(3);
        uint64_t fd = val(tok[1]), len = val(tok[2]);
        CHECK();
        if (refuse_fd(fd)) return 1;
        if (len > IO_MAX) { outf("bad read length"); return 1; }
        if (!wait_readable((int)fd)) { outf("blocked"); return 1; }
        memset(iobuf, 0xee, len);
        long r = syscall(SYS_read, (int)fd, iobuf, len);
        SYSRES(r);
        outf("ok %ld", r);
        put_read_data((uint32_t)fd < MAX_FDS && is_uffd[(uint32_t)fd], iobuf, r, as);
    } else if (!strcmp(op, "fdflags")) {
        NEED(2);
        uint64_t fd = val(tok[1]);
        CHECK();
        int fdf = fcntl((int)fd, F_GETFD);
        SYSRES(fdf);
        int fl = fcntl((int)fd, F_GETFL);
        SYSRES(fl);
        outf("ok cloexec=%d acc=%d nonblock=%d", fdf & FD_CLOEXEC ? 1 : 0, fl & O_ACCMODE, fl & O_NONBLOCK ? 1 : 0);
    } else if (!strcmp(op, "setfl")) {
        NEED(3);
        uint64_t fd = val(tok[1]), fl = val(tok[2]);
        CHECK();
        if (refuse_fd(fd)) return 1;
        SYSRES(fcntl((int)fd, F_SETFL, (int)fl));
        outf("ok");
    } else if (!strcmp(op, "poll")) {
        /* poll(FD, POLLIN, MS): MS (an int, default 0) up to BLOCK_MS is waited out; a longer or
         * negative one is cut at BLOCK_MS, and nothing ready by then is "blocked" */
        NEED(2);
        uint64_t fd = val(tok[1]);
        int ms = n > 2 ? (int)(uint32_t)val(tok[2]) : 0;
        CHECK();
        int cut = ms < 0 || ms > BLOCK_MS;
        struct pollfd p = { (int)fd, POLLIN, 0 };
        int r = poll(&p, 1, cut ? BLOCK_MS : ms);
        SYSRES(r);
        if (r == 0 && cut) { outf("blocked"); return 1; }
        outf("ok %d revents=0x%x", r, p.revents);
    } else if (!strcmp(op, "devopen")) {
        NEED(2);
        int dev = open("/dev/userfaultfd", O_RDWR);
        SYSRES(dev);
        bind(tok[1], (uint64_t)dev, 0);
        mark_fd((uint64_t)dev, 0);
        outf("ok fd");
    } else if (!strcmp(op, "tfault")) {
        NEED(3);
        const char *tn = "T";
        if (n >= 5 && !strcmp(tok[n - 2], "as")) { tn = tok[n - 1]; n -= 2; }
        if (!valid_name(tn)) { outf("bad invalid name '%s'", clean(tn)); return 1; }
        if (tok[2][0] != 'r' && tok[2][0] != 'w') { outf("bad tfault takes r or w"); return 1; }
        struct arg where;
        if (parse_value(tok[1], &where) != 0) return 1;
        uint64_t b = n > 3 ? val(tok[3]) : 0;
        CHECK();
        if (b > 255) { outf("bad byte must be 0..255"); return 1; }
        if (tok[2][0] == 'w' && bytes_touch_self(where.v, where.v + 1)) { outf("bad refused: range touches the oracle's own memory"); return 1; }
        struct fthread *f = NULL;
        for (int i = 0; i < MAX_THREADS && !f; i++)
            if (!strcmp(fts[i].name, tn)) f = &fts[i];
        if (f && f->started) { outf("bad thread %s is already running", tn); return 1; }
        for (int i = 0; i < MAX_THREADS && !f; i++)
            if (!fts[i].name[0]) { f = &fts[i]; strcpy(f->name, tn); }
        if (!f) { outf("bad at most %d threads", MAX_THREADS); return 1; }
        f->addr = where.v;
        f->where = where;
        f->write = tok[2][0] == 'w';
        f->byte = (unsigned char)b;
        f->done = 0;
        f->tid = -1;
        int e = start_thread(f, faulter);
        if (e) { outf("bad pthread_create: %s", ename(e)); return 1; }
        f->started = 1;
        outf("ok");
    } else if (!strcmp(op, "tjoin")) {
        const char *tn = n > 1 ? tok[1] : "T";
        struct fthread *f = NULL;
        for (int i = 0; i < MAX_THREADS && !f; i++)
            if (fts[i].started && !strcmp(fts[i].name, tn)) f = &fts[i];
        if (!f) { outf("bad no faulting thread"); return 1; }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)(BLOCK_MS % 1000) * 1000000L;
        ts.tv_sec += BLOCK_MS / 1000 + ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        int e = pthread_timedjoin_np(f->th, NULL, &ts);
        if (e == ETIMEDOUT) { outf("blocked"); return 1; }
        if (e) { outf("bad pthread_join: %s", ename(e)); return 1; }
        f->started = 0;
        if (f->res.sig || f->res.blocked) put_access_result(&f->res, &f->where, 0);
        else outf("ok 0x%02x", f->result);
    } else if (!strcmp(op, "tioctl")) {
        NEED(3);
        if (ct && ct->started) { outf("bad a calling thread is already running"); return 1; }
        uint64_t fd = val(tok[1]);
        unsigned long cmd = (unsigned long)ioctl_nr(tok[2]);
        size_t nw = ((cmd >> 16) & 0x3fff) / 8;
        if (nw > 16 || (size_t)(n - 3) > nw) { outf("bad too many words"); return 1; }
        uint64_t w[16] = { 0 };
        for (int i = 3; i < n; i++) w[i - 3] = val(tok[i]);
        CHECK();
        if (refuse_fd(fd)) return 1;
        if (!ct) {
            for (int i = 0; i < MAX_THREADS && !ct; i++)
                if (!fts[i].name[0]) { ct = &fts[i]; strcpy(ct->name, "C"); }
            if (!ct) { outf("bad at most %d threads", MAX_THREADS); return 1; }
        }
        ct_fd = (int)fd;
        ct_cmd = cmd;
        ct_nw = nw;
        memcpy(ct_w, w, sizeof w);
        memcpy(ct_before, w, sizeof w);
        ct->done = 0;
        int e = start_thread(ct, caller);
        if (e) { outf("bad pthread_create: %s", ename(e)); return 1; }
        ct->started = 1;
        outf("ok");
    } else if (!strcmp(op, "tioctljoin")) {
        if (!ct || !ct->started) { outf("bad no calling thread"); return 1; }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)(BLOCK_MS % 1000) * 1000000L;
        ts.tv_sec += BLOCK_MS / 1000 + ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        int e = pthread_timedjoin_np(ct->th, NULL, &ts);
        if (e == ETIMEDOUT) { outf("blocked"); return 1; }
        if (e) { outf("bad pthread_join: %s", ename(e)); return 1; }
        ct->started = 0;
        put_ioctl_result(ct_ret, ct_errno, ct_w, ct_before, ct_nw);
    } else if (!strcmp(op, "tsys")) {
        NEED(2);
        if (pt && pt->started) { outf("bad a producer thread is already running"); return 1; }
        if (!strcmp(tok[1], "fork") && child_pid > 0) { outf("bad a child is already running"); return 1; }
        if (parse_call(n - 1, tok + 1)) return 1;
        if (!pt) {
            for (int i = 0; i < MAX_THREADS && !pt; i++)
                if (!fts[i].name[0]) { pt = &fts[i]; strcpy(pt->name, "P"); }
            if (!pt) { outf("bad at most %d threads", MAX_THREADS); return 1; }
        }
        pt->done = 0;
        int e = start_thread(pt, producer);
        if (e) { outf("bad pthread_create: %s", ename(e)); return 1; }
        pt->started = 1;
        outf("ok");
    } else if (!strcmp(op, "tsbusy")) {
        if (!pt || !pt->started) { outf("bad no producer thread"); return 1; }
        /* Until the call returned or a userfaultfd has a message (the producer's event: it now
         * waits for the read), at most BLOCK_MS: no fixed sleep a loaded machine could outlast. */
        int done = 0;
        for (int ms = 0; ms < BLOCK_MS; ms++) {
            if ((done = __atomic_load_n(&pt->done, __ATOMIC_ACQUIRE))) break;
            if (any_uffd_readable()) break;
            usleep(1000);
        }
        outf(done ? "ok done" : "ok blocked");
    } else if (!strcmp(op, "tsjoin")) {
        if (!pt || !pt->started) { outf("bad no producer thread"); return 1; }
        int e = join_bounded(pt);
        if (e == ETIMEDOUT) { outf("blocked"); return 1; }
        if (e) { outf("bad pthread_join: %s", ename(e)); return 1; }
        pt->started = 0;
        if (pt_ret == -1) { outf("err %s", ename(pt_errno)); return 1; }
        if (!strcmp(pt_verb, "fork")) outf("ok child");
        else if (!strcmp(pt_verb, "read")) {
            outf("ok %ld", pt_ret);
            put_read_data(pt_uffd, pt_buf, pt_ret, NULL);
        } else if (!strcmp(pt_verb, "poll")) {
            outf("ok %ld revents=", pt_ret);
            for (int i = 0; i < pt_nargs; i++) outf("%s0x%x", i ? " " : "", (unsigned short)pt_revents[i]);
        } else if (!strcmp(pt_verb, "mremap") || !strcmp(pt_verb, "mmap")) {
            int mr = pt_verb[1] == 'r';
            const struct arg *c[] = { &pt_a[0], mr && pt_nargs > 4 ? &pt_a[4] : NULL };
            uint64_t len = mr ? pt_a[2].v : pt_a[1].v;
            outf("ok ");
            put_addr_form((uint64_t)pt_ret, c, 2);
            if (pt_name[0]) bind(pt_name, (uint64_t)pt_ret, (len + page_size - 1) & ~(page_size - 1));
        } else put_status(pt_ret);
    } else if (!strcmp(op, "childexit")) {
        if (child_pid <= 0) { outf("bad no child"); return 1; }
        close(child_pipe[1]);
        int status;
        long w = syscall(SYS_wait4, child_pid, &status, 0, NULL);
        child_pid = -1;
        if (w < 0) { outf("bad waitpid: %s", ename(errno)); return 1; }
        outf("ok");
    } else if (!strcmp(op, "fdinfo")) {
        NEED(2);
        uint64_t fd = val(tok[1]);
        CHECK();
        char path[64], line[256];
        snprintf(path, sizeof path, "/proc/self/fdinfo/%d", (int)fd);
        FILE *f = fopen(path, "r");
        if (!f) { outf("err %s", ename(errno)); return 1; }
        char pend[32] = "?", tot[32] = "?", api[96] = "?";
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = 0;
            if (!strncmp(line, "pending:\t", 9)) snprintf(pend, sizeof pend, "%.30s", line + 9);
            else if (!strncmp(line, "total:\t", 7)) snprintf(tot, sizeof tot, "%.30s", line + 7);
            else if (!strncmp(line, "API:\t", 5)) snprintf(api, sizeof api, "%.90s", line + 5);
        }
        fclose(f);
        outf("ok pending=%s total=%s api=%s", pend, tot, api);
    /* ---- KVM and guest_memfd (the guest_memfd file itself is used with the mm verbs) ---- */
    } else if (!strcmp(op, "kvm")) {
        NEED(2);
        long fd = syscall(SYS_openat, AT_FDCWD, "/dev/kvm", O_RDWR, 0);
        SYSRES(fd);
        bind(tok[1], (uint64_t)fd, 0);
        mark_fd((uint64_t)fd, 0);
        outf("ok fd");
    } else if (!strcmp(op, "vm")) {
        NEED(4);
        uint64_t kfd = val(tok[2]), type = val(tok[3]);
        CHECK();
        if (refuse_fd(kfd)) return 1;
        long r = syscall(SYS_ioctl, (int)kfd, K_KVM_CREATE_VM, type);
        SYSRES(r);
        bind(tok[1], (uint64_t)r, 0);
        mark_fd((uint64_t)r, 0);
        outf("ok fd");
    } else if (!strcmp(op, "cap") || !strcmp(op, "ioctlv")) {
        int cap = op[0] == 'c';
        NEED(cap ? 3 : 4);
        uint64_t fd = val(tok[1]), cmd = cap ? K_KVM_CHECK_EXTENSION : val(tok[2]), arg = val(tok[cap ? 2 : 3]);
        CHECK();
        if (refuse_fd(fd)) return 1;
        long r = syscall(SYS_ioctl, (int)fd, (unsigned long)cmd, arg);
        SYSRES(r);
        outf("ok %ld", r);
    } else if (!strcmp(op, "gmem")) {
        NEED(5);
        struct k_create_guest_memfd g;
        memset(&g, 0, sizeof g);
        uint64_t vfd = val(tok[2]);
        g.size = val(tok[3]);
        g.flags = val(tok[4]);
        if (n > 5) g.reserved[0] = val(tok[5]);
        if (n > 6) g.reserved[5] = val(tok[6]);
        CHECK();
        if (refuse_fd(vfd)) return 1;
        long r = syscall(SYS_ioctl, (int)vfd, K_KVM_CREATE_GUEST_MEMFD, &g);
        SYSRES(r);
        bind(tok[1], (uint64_t)r, 0);
        mark_fd((uint64_t)r, 0);
        outf("ok fd");
    } else if (!strcmp(op, "slot")) {
        NEED(9);
        struct k_userspace_memory_region2 m;
        memset(&m, 0, sizeof m);
        uint64_t vfd = val(tok[1]);
        m.slot = (uint32_t)val(tok[2]);
        m.flags = (uint32_t)val(tok[3]);
        m.guest_phys_addr = val(tok[4]);
        m.memory_size = val(tok[5]);
        m.userspace_addr = val(tok[6]);
        m.guest_memfd = (uint32_t)val(tok[7]);
        m.guest_memfd_offset = val(tok[8]);
        if (n > 9) m.pad1 = (uint32_t)val(tok[9]);
        CHECK();
        if (refuse_fd(vfd)) return 1;
        SYSRES(syscall(SYS_ioctl, (int)vfd, K_KVM_SET_USER_MEMORY_REGION2, &m));
        outf("ok");
    } else if (!strcmp(op, "slot1")) {
        NEED(7);
        struct k_userspace_memory_region m;
        memset(&m, 0, sizeof m);
        uint64_t vfd = val(tok[1]);
        m.slot = (uint32_t)val(tok[2]);
        m.flags = (uint32_t)val(tok[3]);
        m.guest_phys_addr = val(tok[4]);
        m.memory_size = val(tok[5]);
        m.userspace_addr = val(tok[6]);
        CHECK();
        if (refuse_fd(vfd)) return 1;
        SYSRES(syscall(SYS_ioctl, (int)vfd, K_KVM_SET_USER_MEMORY_REGION, &m));
        outf("ok");
    } else if (!strcmp(op, "sameino")) {
        NEED(3);
        uint64_t a = val(tok[1]), b = val(tok[2]);
        CHECK();
        struct stat sa, sb;
        SYSRES(syscall(SYS_fstat, (int)a, &sa));
        SYSRES(syscall(SYS_fstat, (int)b, &sb));
        outf("ok %s", sa.st_ino == sb.st_ino ? "same" : "differ");
    } else if (!strcmp(op, "lseek")) {
        NEED(4);
        uint64_t fd = val(tok[1]), off = val(tok[2]), wh = val(tok[3]);
        CHECK();
        if (refuse_fd(fd)) return 1;
        long r = syscall(SYS_lseek, fd, off, wh); /* whole registers: the kernel narrows fd and whence */
        SYSRES(r);
        outf("ok %ld", r);
    } else if (!strcmp(op, "fork")) {
        if (fork_child > 0) { outf("bad a child is already running"); return 1; }
        fork_child = fork();
        if (fork_child < 0) { outf("bad fork: %s", ename(errno)); return 1; }
        if (fork_child == 0) {
            signal(SIGALRM, SIG_DFL);
            alarm(SCENARIO_SECONDS);
            for (;;) pause();
        }
        outf("ok");
    } else if (!strcmp(op, "reap")) {
        if (fork_child <= 0) { outf("bad no child"); return 1; }
        reap_child();
        outf("ok");
    } else {
        return 0;
    }
    return 1;
#undef NEED
#undef CHECK
#undef SYSRES
}

/* ======================================================================================== */
/* Dispatch                                                                                 */
/* ======================================================================================== */

struct opdef {
    const char *name;
    int min_args, max_args; /* positional arguments before "as" */
    int max_names;          /* names allowed after "as" */
    int first_is_mname;     /* argument 0 is a memfd name token, not a value */
    void (*fn)(struct step *);
};

static const struct opdef ops[] = {
    { "mmap", 6, 6, 1, 0, op_mmap },
    { "munmap", 2, 2, 0, 0, op_munmap },
    { "mprotect", 3, 3, 0, 0, op_mprotect },
    { "mremap", 4, 5, 1, 0, op_mremap },
    { "madvise", 3, 3, 0, 0, op_madvise },
    { "mlock", 2, 2, 0, 0, op_mlock },
    { "munlock", 2, 2, 0, 0, op_munlock },
    { "mlockall", 1, 1, 0, 0, op_mlockall },
    { "munlockall", 0, 0, 0, 0, op_munlockall },
    { "memfd_create", 2, 2, 1, 1, op_memfd_create },
    { "ftruncate", 2, 2, 0, 0, op_ftruncate },
    { "fallocate", 4, 4, 0, 0, op_fallocate },
    { "fstat", 1, 1, 0, 0, op_fstat },
    { "close", 1, 1, 0, 0, op_close },
    { "fcntl", 3, 3, 0, 0, op_fcntl },
    { "pipe", 0, 0, 2, 0, op_pipe },
    { "reopen", 2, 2, 1, 0, op_reopen },
    { "write", 2, 3, 0, 0, op_write },
    { "pwrite", 4, 4, 0, 0, op_pwrite },
    { "read", 2, 2, 1, 0, op_read },
    { "pread", 3, 3, 0, 0, op_pread },
    { "load", 1, 2, 0, 0, op_load },
    { "store", 2, 3, 0, 0, op_store },
    { "fork-check", 1, 2, 0, 0, op_fork_check },
    { "fill", 3, 3, 0, 0, op_fill },
    { "writefrom", 3, 3, 0, 0, op_writefrom },
    { "readto", 3, 3, 0, 0, op_readto },
};

/* Run one non-blank, non-comment line; leaves exactly one result in `out`. */
static void run_line(char *line)
{
    char *tok[MAX_TOKENS + 1];
    int ntok = 0;
    for (char *p = line; *p;) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) break;
        if (ntok == MAX_TOKENS) { bad("too many tokens (at most %d)", MAX_TOKENS); return; }
        tok[ntok++] = p;
        while (*p && *p != ' ' && *p != '\t') p++;
        if (*p) *p++ = 0;
    }
    const struct opdef *op = NULL;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(tok[0], ops[i].name) == 0) op = &ops[i];
    if (!op) {
        if (!ustep(ntok, tok)) bad("unknown op '%s'", clean(tok[0]));
        return;
    }

    struct step s;
    memset(&s, 0, sizeof s);
    int i = 1;
    for (; i < ntok && strcmp(tok[i], "as") != 0; i++) s.tok[s.nargs++] = tok[i];
    if (i < ntok) { /* "as" NAME... */
        for (i++; i < ntok; i++) {
            if (s.nnames == op->max_names) { bad("%s binds at most %d name(s)", op->name, op->max_names); return; }
            s.names[s.nnames++] = tok[i];
        }
        if (s.nnames == 0) { bad("'as' without a name"); return; }
    }
    if (s.nargs < op->min_args || s.nargs > op->max_args) {
        if (op->min_args == op->max_args) bad("%s takes %d argument(s), got %d", op->name, op->min_args, s.nargs);
        else bad("%s takes %d to %d arguments, got %d", op->name, op->min_args, op->max_args, s.nargs);
        return;
    }
    int fresh = 0;
    for (int k = 0; k < s.nnames; k++) {
        uint64_t dummy;
        if (!valid_name(s.names[k])) { bad("invalid name '%s'", clean(s.names[k])); return; }
        if (!lookup(s.names[k], &dummy)) fresh++;
    }
    if (nbind + fresh > MAX_BINDINGS) { bad("too many names (at most %d)", MAX_BINDINGS); return; }
    for (int k = op->first_is_mname ? 1 : 0; k < s.nargs; k++)
        if (parse_value(s.tok[k], &s.a[k]) != 0) return;
    op->fn(&s);
}

/* ---- Input: lines from stdin via read(2) into a fixed buffer ---- */

static char inbuf[1 << 16];
static size_t inpos, inlen;
static int ineof;

static int next_byte(void)
{
    if (inpos == inlen) {
        if (ineof) return -1;
        long r;
        int tries = 0;
        do r = syscall(SYS_read, 0, inbuf, sizeof inbuf);
        while (r < 0 && errno == EINTR && ++tries < 1000);
        if (r <= 0) { ineof = 1; return -1; }
        inpos = 0;
        inlen = (size_t)r;
    }
    return (unsigned char)inbuf[inpos++];
}

/* Read one line (without '\n'); returns 0 at end of input, 1 for a line, 2 for an over-long line. */
static int read_line(char *line, size_t cap)
{
    size_t n = 0;
    int c, too_long = 0;
    while ((c = next_byte()) != -1 && c != '\n') {
        if (n < cap - 1) line[n++] = (char)(c == 0 ? ' ' : c); /* a NUL byte cannot end a token early */
        else too_long = 1;
    }
    line[n] = 0;
    if (c == -1 && n == 0 && !too_long) return 0;
    return too_long ? 2 : 1;
}

/* ---- Scenarios: each runs in a forked child, from a block of lines held in .bss ---- */

static char block[MAX_BLOCK];
static size_t blockn;
static int block_steps;

static void run_block(void)
{
    static char line[MAX_LINE + 1];
    for (size_t pos = 0; pos < blockn;) {
        size_t e = pos;
        while (e < blockn && block[e] != '\n') e++;
        size_t n = e - pos;
        int too_long = n > MAX_LINE;
        if (too_long) n = MAX_LINE;
        memcpy(line, block + pos, n);
        line[n] = 0;
        pos = e + 1;
        if (n > 0 && line[n - 1] == '\r') line[--n] = 0;
        out_reset();
        if (too_long) {
            bad("line too long (at most %d bytes)", MAX_LINE);
        } else {
            const char *p = line;
            while (*p == ' ' || *p == '\t') p++;
            if (*p == 0 || *p == '#') continue; /* not a step: no output */
            steps_run++;
            run_line(line);
        }
        emit_line();
    }
}

/* Run the block in a child; in batch mode, follow its lines with "%end ok" or "%end died ...". */
static void run_scenario(int batch)
{
    pid_t pid = fork();
    if (pid == 0) {
        run_block();
        reap_child();
        _exit(0);
    }
    int status = 0;
    if (pid > 0) {
        alarm_fired = 0;
        alarm(SCENARIO_SECONDS);
        long w;
        while ((w = syscall(SYS_wait4, pid, &status, 0, NULL)) == -1 && errno == EINTR && !alarm_fired) {}
        if (w != pid) {
            kill(pid, SIGKILL);
            syscall(SYS_wait4, pid, &status, 0, NULL);
        }
        alarm(0);
    }
    if (!batch) return;
    out_reset();
    if (pid < 0) outf("%%end died fork failed: %s", errname(errno));
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) outf("%%end ok");
    else if (WIFSIGNALED(status)) outf("%%end died signal %d", WTERMSIG(status));
    else outf("%%end died status %d", WEXITSTATUS(status));
    emit_line();
}

/* A warm-up thread: the first pthread_create allocates what it needs before the snapshot. */
static void *warm(void *arg) { return arg; }

/*
 * --probe-zero-page: whether this kernel maps the shared zero page on a read fault of private
 * anonymous memory. Stock Linux does; a guest booted with the zero page off (pvm_no_zero_page=1)
 * allocates a page and an anon_vma instead, which changes VMA merges. Two read-faulted pages:
 * their PFNs in /proc/self/pagemap are the same frame (when PFNs are visible, CAP_SYS_ADMIN),
 * otherwise their Rss in /proc/self/smaps is 0 (the zero page is never counted). Prints
 * "zero-page 1 HOW", "zero-page 0 HOW" or "zero-page ? REASON".
 */
static int probe_zero_page(void)
{
    long pg = sysconf(_SC_PAGESIZE);
    /* Two pages between PROT_NONE guards: a VMA of their own, merged with no neighbour. */
    unsigned char *g = mmap(NULL, 4 * (size_t)pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g == MAP_FAILED) { printf("zero-page ? mmap: %s\n", strerror(errno)); return 0; }
    volatile unsigned char *p = g + pg;
    if (mprotect(g + pg, 2 * (size_t)pg, PROT_READ | PROT_WRITE) != 0) { printf("zero-page ? mprotect: %s\n", strerror(errno)); return 0; }
    if (p[0] + p[pg] != 0) { printf("zero-page ? fresh anonymous memory is not zero\n"); return 0; }
    uint64_t e[2] = {0, 0};
    int fd = open("/proc/self/pagemap", O_RDONLY);
    if (fd >= 0) {
        off_t off = (off_t)((uintptr_t)p / (uintptr_t)pg) * 8;
        if (pread(fd, e, sizeof e, off) != (ssize_t)sizeof e) e[0] = e[1] = 0;
        close(fd);
    }
    const uint64_t present = 1ull << 63, pfn = (1ull << 55) - 1;
    if ((e[0] & present) && (e[1] & present) && (e[0] & pfn) && (e[1] & pfn)) {
        printf("zero-page %d pagemap\n", (e[0] & pfn) == (e[1] & pfn));
        return 0;
    }
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) { printf("zero-page ? no PFNs in pagemap and no /proc/self/smaps\n"); return 0; }
    char l[256];
    unsigned long s, end, rss = 0;
    int in = 0, found = 0;
    while (fgets(l, sizeof l, f)) {
        if (sscanf(l, "%lx-%lx ", &s, &end) == 2) in = (s == (uintptr_t)p);
        else if (in && sscanf(l, "Rss: %lu kB", &rss) == 1) { found = 1; break; }
    }
    fclose(f);
    if (!found) { printf("zero-page ? the probe's mapping is not in /proc/self/smaps\n"); return 0; }
    printf("zero-page %d smaps-rss\n", rss == 0);
    return 0;
}

/* ======================================================================================== */
/* --mm-host CMD_FIFO RES_FIFO: the mm model's commands on the host kernel                    */
/* ======================================================================================== */
/*
 * Runs the mm model property tests' commands on the host Linux kernel, to check the model
 * (tests/helpers/model.ts) itself against real Linux; driven by tests/property/mm-model-host.test.ts.
 * A mode of the oracle so that one C program makes every host-kernel comparison; it shares
 * errname() and nothing else (its names start with mh_).
 *
 * One command per line on CMD_FIFO, one result line per command on RES_FIFO. Every command starts
 * with the index (0..7) of the process that runs it; process 0 reads the FIFO and forwards commands
 * for other processes through pipes created before any fork, so any process can fork and exit.
 *
 *   P mmap ADDR LEN PROT FLAGS FD OFF     -> ok ADDR | err ENAME | refused
 *   P munmap ADDR LEN / P mprotect ADDR LEN PROT / P madvise ADDR LEN ADVICE
 *   P mremap ADDR OLD NEW FLAGS NEWADDR   -> ok ADDR | err ENAME | refused
 *   P memfd FLAGS                         -> ok FD
 *   P fcntl FD CMD ARG                    -> ok VALUE | err ENAME
 *   P close FD / P ftruncate FD LEN / P fallocate FD MODE OFF LEN
 *   P fstat FD                            -> ok SIZE BLOCKS INO
 *   P pwrite FD OFF B,B,...               -> ok COUNT
 *   P pread FD OFF LEN                    -> ok B,B,... | ok -
 *   P pwritem FD OFF ADDR LEN / P preadm FD OFF ADDR LEN  (the buffer in this process's memory) -> ok COUNT
 *   P load SIZE ADDR                      -> ok VALUE | sig SIGSEGV | sig SIGBUS | refused
 *   P store SIZE ADDR VALUE               -> ok | sig ... | refused
 *   P fork J                              -> ok PID (the child serves as process J)
 *   P exit                                -> ok (then the process exits)
 *   P maps                                -> ok START END PERMS OFFSET INO KIND;...  (KIND a|f)
 *   0 forbid                              -> ok START-END ...
 *
 * Numbers may be decimal or 0x-hex. The harness's own memory (everything mapped when it starts: code,
 * libraries, stack, vdso, the oracle's .bss) is "forbidden": a command whose range touches it is
 * refused and not run, and maps leaves it out. Nothing here allocates memory after start, so that
 * set does not change.
 */

#define MH_MAXP 8
#define MH_PG 4096UL

struct mh_reader { int fd; int len, pos; char buf[1 << 16]; };
static struct mh_reader mh_rd_in, mh_rd_res[MH_MAXP];
static int mh_cmdp[MH_MAXP][2], mh_resp[MH_MAXP][2];
static pid_t mh_pids[MH_MAXP];
static int mh_self, mh_out_fd;
static struct { unsigned long s, e; } mh_forbid[1024];
static int mh_nforbid;
static sigjmp_buf mh_jb;
static volatile sig_atomic_t mh_gotsig;
static char mh_line[1 << 16], mh_out[1 << 17], mh_mapsbuf[1 << 17];

static void mh_die(const char *m) { dprintf(2, "oracle --mm-host: %s: %s\n", m, strerror(errno)); _exit(2); }

static char *mh_readline(struct mh_reader *r) {
  int n = 0;
  for (;;) {
    while (r->pos < r->len) {
      char c = r->buf[r->pos++];
      if (c == '\n') { mh_line[n] = 0; return mh_line; }
      if (n < (int)sizeof mh_line - 1) mh_line[n++] = c;
    }
    ssize_t k = read(r->fd, r->buf, sizeof r->buf);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return NULL;
    r->len = (int)k;
    r->pos = 0;
  }
}

static void mh_writeall(int fd, const char *s, size_t n) {
  while (n > 0) {
    ssize_t k = write(fd, s, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) mh_die("write");
    s += k;
    n -= (size_t)k;
  }
}

static void mh_reply(const char *s) {
  size_t n = strlen(s);
  mh_writeall(mh_out_fd, s, n);
  mh_writeall(mh_out_fd, "\n", 1);
}

static void mh_reply_ret(long r, int hexval) {
  if (r == -1) snprintf(mh_out, sizeof mh_out, "err %s", errname(errno));
  else if (hexval) snprintf(mh_out, sizeof mh_out, "ok 0x%lx", (unsigned long)r);
  else snprintf(mh_out, sizeof mh_out, "ok %ld", r);
  mh_reply(mh_out);
}

/** Whether [a, a + len) (page-rounded) touches the harness's own memory. */
static int mh_forbidden(unsigned long a, unsigned long len) {
  unsigned long s = a & ~(MH_PG - 1), e = (a + len + MH_PG - 1) & ~(MH_PG - 1);
  if (e < s) return 1;
  for (int i = 0; i < mh_nforbid; i++) if (s < mh_forbid[i].e && mh_forbid[i].s < e) return 1;
  return 0;
}

static int mh_read_maps(void) {
  int fd = open("/proc/self/maps", O_RDONLY);
  if (fd < 0) mh_die("open maps");
  int n = 0;
  for (;;) {
    ssize_t k = read(fd, mh_mapsbuf + n, sizeof mh_mapsbuf - 1 - n);
    if (k < 0) mh_die("read maps");
    if (k == 0) break;
    n += (int)k;
  }
  close(fd);
  mh_mapsbuf[n] = 0;
  return n;
}

static void mh_snapshot_forbidden(void) {
  mh_read_maps();
  for (char *p = mh_mapsbuf; *p && mh_nforbid < 1024;) {
    unsigned long s, e;
    if (sscanf(p, "%lx-%lx", &s, &e) == 2) {
      mh_forbid[mh_nforbid].s = s;
      mh_forbid[mh_nforbid].e = e;
      mh_nforbid++;
    }
    char *nl = strchr(p, '\n');
    if (!nl) break;
    p = nl + 1;
  }
}

static int mh_is_internal_fd(long fd) {
  if (fd >= 0 && fd <= 2) return 1;
  for (int i = 0; i < MH_MAXP; i++)
    if (fd == mh_cmdp[i][0] || fd == mh_cmdp[i][1] || fd == mh_resp[i][0] || fd == mh_resp[i][1]) return 1;
  return fd == mh_rd_in.fd || fd == mh_out_fd;
}

static void mh_on_sig(int s) {
  mh_gotsig = s;
  siglongjmp(mh_jb, 1);
}

static void mh_do_access(int store, int size, unsigned long a, unsigned long v) {
  if (mh_forbidden(a, (unsigned long)size)) { mh_reply("refused"); return; }
  mh_gotsig = 0;
  if (sigsetjmp(mh_jb, 1)) {
    mh_reply(mh_gotsig == SIGBUS ? "sig SIGBUS" : "sig SIGSEGV");
    return;
  }
  unsigned long r = 0;
  if (store) {
    if (size == 1) *(volatile uint8_t *)a = (uint8_t)v;
    else *(volatile uint32_t *)a = (uint32_t)v;
  } else {
    r = size == 1 ? *(volatile uint8_t *)a : *(volatile uint32_t *)a;
  }
  if (store) mh_reply("ok 0");
  else { snprintf(mh_out, sizeof mh_out, "ok %lu", r); mh_reply(mh_out); }
}

static void mh_do_maps(void) {
  mh_read_maps();
  int o = snprintf(mh_out, sizeof mh_out, "ok");
  for (char *p = mh_mapsbuf; *p;) {
    unsigned long s, e, off, ino;
    char perms[8], dev[16];
    int pathpos = 0;
    if (sscanf(p, "%lx-%lx %7s %lx %15s %lu %n", &s, &e, perms, &off, dev, &ino, &pathpos) >= 6) {
      char kind = ino == 0 ? 'a' : 'f';
      /* Report the parts of [s, e) outside the forbidden ranges. */
      unsigned long cur = s;
      while (cur < e) {
        unsigned long next = e;
        int inside = 0;
        for (int i = 0; i < mh_nforbid; i++) {
          if (mh_forbid[i].s <= cur && cur < mh_forbid[i].e) { inside = 1; next = mh_forbid[i].e < e ? mh_forbid[i].e : e; break; }
          if (cur < mh_forbid[i].s && mh_forbid[i].s < next) next = mh_forbid[i].s;
        }
        if (!inside && o < (int)sizeof mh_out - 128)
          o += snprintf(mh_out + o, sizeof mh_out - o, "%s0x%lx 0x%lx %s 0x%lx %lu %c", o == 2 ? " " : ";", cur, next, perms, off + (cur - s), ino, kind);
        cur = next;
      }
    }
    char *nl = strchr(p, '\n');
    if (!nl) break;
    p = nl + 1;
  }
  mh_reply(mh_out);
}

static unsigned long mh_num(char **p) {
  while (**p == ' ') (*p)++;
  char *end;
  unsigned long v = strtoul(*p, &end, 0);
  if (**p == '-') v = (unsigned long)strtol(*p, &end, 0);
  *p = end;
  return v;
}

static void mh_serve(char *p) {
  char op[16];
  int n = 0;
  while (*p == ' ') p++;
  while (*p && *p != ' ' && n < 15) op[n++] = *p++;
  op[n] = 0;
  if (!strcmp(op, "mmap")) {
    unsigned long a = mh_num(&p), l = mh_num(&p), prot = mh_num(&p), fl = mh_num(&p), fd = mh_num(&p), off = mh_num(&p);
    if ((fl & MAP_FIXED) && mh_forbidden(a, l)) { mh_reply("refused"); return; }
    mh_reply_ret(syscall(SYS_mmap, a, l, prot, fl, fd, off), 1);
  } else if (!strcmp(op, "munmap")) {
    unsigned long a = mh_num(&p), l = mh_num(&p);
    if (mh_forbidden(a, l)) { mh_reply("refused"); return; }
    mh_reply_ret(syscall(SYS_munmap, a, l), 0);
  } else if (!strcmp(op, "mprotect")) {
    unsigned long a = mh_num(&p), l = mh_num(&p), prot = mh_num(&p);
    if (mh_forbidden(a, l)) { mh_reply("refused"); return; }
    mh_reply_ret(syscall(SYS_mprotect, a, l, prot), 0);
  } else if (!strcmp(op, "madvise")) {
    unsigned long a = mh_num(&p), l = mh_num(&p), adv = mh_num(&p);
    if (mh_forbidden(a, l)) { mh_reply("refused"); return; }
    mh_reply_ret(syscall(SYS_madvise, a, l, adv), 0);
  } else if (!strcmp(op, "mremap")) {
    unsigned long a = mh_num(&p), o = mh_num(&p), nl = mh_num(&p), fl = mh_num(&p), na = mh_num(&p);
    /* The old range as the kernel sees it: a zero old_len (a shared mapping's duplicate) still
     * names the page at a, and growing in place reaches up to a + new_len. */
    unsigned long span = o > nl ? o : nl;
    if (mh_forbidden(a, span ? span : 1) || ((fl & MREMAP_FIXED) && mh_forbidden(na, nl ? nl : 1))) { mh_reply("refused"); return; }
    mh_reply_ret(syscall(SYS_mremap, a, o, nl, fl, na), 1);
  } else if (!strcmp(op, "memfd")) {
    unsigned long fl = mh_num(&p);
    mh_reply_ret(syscall(SYS_memfd_create, "m", fl), 0);
  } else if (!strcmp(op, "fcntl")) {
    long fd = (long)mh_num(&p), cmd = (long)mh_num(&p), arg = (long)mh_num(&p);
    if (mh_is_internal_fd(fd)) { mh_reply("refused"); return; }
    mh_reply_ret(syscall(SYS_fcntl, fd, cmd, arg), 0);
  } else if (!strcmp(op, "close")) {
    long fd = (long)mh_num(&p);
    if (mh_is_internal_fd(fd)) { mh_reply("refused"); return; }
    mh_reply_ret(syscall(SYS_close, fd), 0);
  } else if (!strcmp(op, "ftruncate")) {
    long fd = (long)mh_num(&p), l = (long)mh_num(&p);
    if (mh_is_internal_fd(fd)) { mh_reply("refused"); return; }
    mh_reply_ret(syscall(SYS_ftruncate, fd, l), 0);
  } else if (!strcmp(op, "fallocate")) {
    long fd = (long)mh_num(&p), mode = (long)mh_num(&p), off = (long)mh_num(&p), l = (long)mh_num(&p);
    if (mh_is_internal_fd(fd)) { mh_reply("refused"); return; }
    mh_reply_ret(syscall(SYS_fallocate, fd, mode, off, l), 0);
  } else if (!strcmp(op, "fstat")) {
    long fd = (long)mh_num(&p);
    struct stat st;
    if (syscall(SYS_fstat, fd, &st) == -1) { mh_reply_ret(-1, 0); return; }
    snprintf(mh_out, sizeof mh_out, "ok %ld %ld %lu", (long)st.st_size, (long)st.st_blocks, (unsigned long)st.st_ino);
    mh_reply(mh_out);
  } else if (!strcmp(op, "pwrite")) {
    long fd = (long)mh_num(&p), off = (long)mh_num(&p);
    unsigned char data[64];
    int k = 0;
    while (*p == ' ') p++;
    while (*p && k < 64) {
      data[k++] = (unsigned char)strtoul(p, &p, 0);
      if (*p == ',') p++;
    }
    if (mh_is_internal_fd(fd)) { mh_reply("refused"); return; }
    mh_reply_ret(syscall(SYS_pwrite64, fd, data, k, off), 0);
  } else if (!strcmp(op, "pread")) {
    long fd = (long)mh_num(&p), off = (long)mh_num(&p), l = (long)mh_num(&p);
    unsigned char data[64];
    if (l > 64) l = 64;
    long r = syscall(SYS_pread64, fd, data, l, off);
    if (r == -1) { mh_reply_ret(-1, 0); return; }
    int o = snprintf(mh_out, sizeof mh_out, "ok ");
    if (r == 0) o += snprintf(mh_out + o, sizeof mh_out - o, "-");
    for (long i = 0; i < r; i++) o += snprintf(mh_out + o, sizeof mh_out - o, i ? ",%u" : "%u", data[i]);
    mh_reply(mh_out);
  } else if (!strcmp(op, "pwritem") || !strcmp(op, "preadm")) {
    long fd = (long)mh_num(&p), off = (long)mh_num(&p);
    unsigned long a = mh_num(&p), l = mh_num(&p);
    if (mh_is_internal_fd(fd) || mh_forbidden(a, l)) { mh_reply("refused"); return; }
    mh_reply_ret(syscall(op[1] == 'w' ? SYS_pwrite64 : SYS_pread64, fd, a, l, off), 0);
  } else if (!strcmp(op, "load")) {
    int size = (int)mh_num(&p);
    unsigned long a = mh_num(&p);
    mh_do_access(0, size, a, 0);
  } else if (!strcmp(op, "store")) {
    int size = (int)mh_num(&p);
    unsigned long a = mh_num(&p), v = mh_num(&p);
    mh_do_access(1, size, a, v);
  } else if (!strcmp(op, "maps")) {
    mh_do_maps();
  } else if (!strcmp(op, "forbid")) {
    int o = snprintf(mh_out, sizeof mh_out, "ok");
    for (int i = 0; i < mh_nforbid && o < (int)sizeof mh_out - 64; i++) o += snprintf(mh_out + o, sizeof mh_out - o, " 0x%lx-0x%lx", mh_forbid[i].s, mh_forbid[i].e);
    mh_reply(mh_out);
  } else if (!strcmp(op, "fork")) {
    int j = (int)mh_num(&p);
    if (j <= 0 || j >= MH_MAXP) { mh_reply("err EINVAL"); return; }
    pid_t c = fork();
    if (c < 0) { mh_reply_ret(-1, 0); return; }
    if (c == 0) {
      mh_self = j;
      mh_rd_in.fd = mh_cmdp[j][0];
      mh_rd_in.len = mh_rd_in.pos = 0;
      mh_out_fd = mh_resp[j][1];
      alarm(300);
      return; /* the child answers nothing for the fork itself */
    }
    mh_pids[j] = c;
    snprintf(mh_out, sizeof mh_out, "ok %d", (int)c);
    mh_reply(mh_out);
  } else if (!strcmp(op, "exit")) {
    mh_reply("ok");
    _exit(0);
  } else {
    mh_reply("bad op");
  }
}

static int mm_host_main(int argc, char **argv) {
  if (argc != 3) { dprintf(2, "usage: oracle --mm-host CMD_FIFO RES_FIFO\n"); return 2; }
  alarm(300);
  /* No transparent huge pages (uffdlab has none), whatever the host's THP mode; forks inherit it. */
  (void)prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
  mh_rd_in.fd = open(argv[1], O_RDONLY);
  if (mh_rd_in.fd < 0) mh_die("open command fifo");
  mh_out_fd = open(argv[2], O_WRONLY);
  if (mh_out_fd < 0) mh_die("open result fifo");
  for (int i = 1; i < MH_MAXP; i++) {
    if (pipe(mh_cmdp[i]) || pipe(mh_resp[i])) mh_die("pipe");
    mh_rd_res[i].fd = mh_resp[i][0];
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = mh_on_sig;
  sa.sa_flags = SA_NODEFER;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  mh_snapshot_forbidden();
  for (;;) {
    static char cmdline[sizeof mh_line];
    char *got = mh_readline(&mh_rd_in);
    if (!got) break;
    /* mh_readline's buffer is reused for the forwarded answer below: work on a copy. */
    snprintf(cmdline, sizeof cmdline, "%s", got);
    char *l = cmdline, *p = l;
    int target = (int)strtol(p, &p, 10);
    if (mh_self == 0 && target != 0) {
      /* Forward to process `target` and relay its answer. */
      if (target < 0 || target >= MH_MAXP || !mh_pids[target]) { mh_reply("bad process"); continue; }
      size_t n = strlen(l);
      l[n] = '\n';
      mh_writeall(mh_cmdp[target][1], l, n + 1);
      l[n] = 0;
      int is_fork = strstr(p, "fork") != NULL, is_exit = strstr(p, "exit") != NULL;
      char *r = mh_readline(&mh_rd_res[target]);
      if (!r) mh_die("child gone");
      if (is_fork) {
        int j = 0;
        sscanf(p, " fork %d", &j);
        if (j > 0 && j < MH_MAXP && !strncmp(r, "ok ", 3)) mh_pids[j] = (pid_t)atoi(r + 3);
      }
      if (is_exit) mh_pids[target] = 0;
      static char copy[sizeof mh_line];
      snprintf(copy, sizeof copy, "%s", r);
      mh_reply(copy);
      continue;
    }
    mh_serve(p);
  }
  if (mh_self == 0) {
    for (int i = 1; i < MH_MAXP; i++) if (mh_pids[i]) kill(mh_pids[i], SIGKILL);
    while (wait(NULL) > 0 || errno == EINTR) {}
  }
  return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--probe-zero-page") == 0) return probe_zero_page();
    if (argc > 1 && strcmp(argv[1], "--mm-host") == 0) return mm_host_main(argc - 1, argv + 1);
    static char line[MAX_LINE + 1];
    struct sigaction sa;

    long ps = sysconf(_SC_PAGESIZE);
    if (ps > 0) page_size = (uint64_t)ps;

    /*
     * No transparent huge pages in this process or its forks, whatever
     * /sys/kernel/mm/transparent_hugepage/enabled and MADV_HUGEPAGE say: uffdlab has none, and a THP
     * changes what steps see (a first write fills 512 pages, so a later UFFDIO_COPY there is EEXIST).
     * The one visible cost: MADV_COLLAPSE of anonymous memory is EINVAL here (KNOWN-DIFFERENCES.json).
     */
    (void)prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);

    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fault_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, NULL) != 0 || sigaction(SIGBUS, &sa, NULL) != 0) return 2;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = alarm_handler; /* no SA_RESTART: a blocked call returns EINTR */
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGALRM, &sa, NULL) != 0) return 2;
    signal(SIGPIPE, SIG_IGN);

    /* Everything the oracle will ever map must exist before the snapshot: malloc's heap, a thread. */
    free(malloc(64));
    FILE *f = fopen("/proc/self/maps", "r");
    if (f) fclose(f);
    struct fthread *w0 = &fts[0];
    if (start_thread(w0, warm) == 0) pthread_join(w0->th, NULL);
    memset(w0, 0, sizeof *w0);

    /* Last: after this no memory is mapped by the oracle itself (no new heap, no stdio buffers). */
    if (snapshot_self() != 0) {
        static const char msg[] = "oracle: cannot read /proc/self/maps\n";
        write_all(2, msg, sizeof msg - 1);
        return 2;
    }

    int batch = 0, in_scenario = 0;
    for (;;) {
        int k = read_line(line, sizeof line);
        if (k == 0) break;
        if (!strncmp(line, "%scenario", 9)) {
            batch = 1;
            in_scenario = 1;
            blockn = 0;
            block_steps = 0;
            continue;
        }
        if (!strncmp(line, "%end", 4) && batch) {
            if (in_scenario) run_scenario(1);
            in_scenario = 0;
            continue;
        }
        if (batch && !in_scenario) continue; /* between scenarios: ignored */
        size_t n = k == 2 ? MAX_LINE + 1 : strlen(line); /* an over-long line stays over-long */
        if (blockn + n + 1 > sizeof block) {
            static const char msg[] = "oracle: scenario too long\n";
            write_all(2, msg, sizeof msg - 1);
            return 2;
        }
        if (k == 2) memset(block + blockn, 'x', n);
        else memcpy(block + blockn, line, n);
        blockn += n;
        block[blockn++] = '\n';
        block_steps++;
    }
    if (!batch && blockn > 0) run_scenario(0);
    return 0;
}
