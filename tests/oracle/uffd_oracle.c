/*
 * uffd_oracle: runs a userfaultfd scenario on the host kernel and prints one normalised line per step.
 * Used by tests/conformance/uffd-errno.test.ts, uffd-events.test.ts and kvm-errno.test.ts, which run the
 * same steps on uffdlab (tests/conformance/uffd-runner.ts) and compare the lines. Build: cc -O1 -Wall -pthread.
 *
 * Input: one step per line on stdin (whitespace tokens). VALUE = integer (decimal, 0x-hex, may be
 * negative: two's complement) or $NAME / $NAME+OFF / $NAME-OFF (a mapping's address or an fd).
 *
 *   nopriv                        drop CAP_SYS_PTRACE (effective, permitted, inheritable) → ok
 *                                 (`bad sysctl …` if vm.unprivileged_userfaultfd is not 0)
 *   uffd NAME FLAGS               userfaultfd(FLAGS)                                 → ok fd | err E
 *   devnew NAME CMD FLAGS         open("/dev/userfaultfd"), ioctl(dev, CMD, FLAGS), close(dev)
 *   anon NAME PAGES PROT          mmap MAP_PRIVATE|MAP_ANONYMOUS                      → ok
 *   sanon NAME PAGES PROT         mmap MAP_SHARED|MAP_ANONYMOUS                       → ok
 *   memfd NAME PAGES              memfd_create + ftruncate(PAGES*4096)                → ok fd
 *   pipe R W                      pipe2(0): R the read end, W the write end           → ok fd fd
 *   mapfd NAME FD PAGES PROT [ro] mmap MAP_SHARED of FD (ro: of a reopen O_RDONLY)    → ok
 *   munmap ADDR PAGES             → ok | err E
 *   fill ADDR LEN BYTE            memset by the main thread                           → ok
 *   load ADDR LEN                 → ok digest=… first=0x.. nonzero=N
 *   ioctl FD CMD W0 W1 …          the argument is the words W0…; its size is _IOC_SIZE(CMD) (missing
 *                                 words are 0). CMD: API REGISTER UNREGISTER WAKE COPY ZEROPAGE MOVE
 *                                 WRITEPROTECT CONTINUE POISON or a number. → ok|err E, then one token
 *                                 per word after the call:
 *                                 `=` if unchanged, else the value (-N for -4095..-1, else 0x-hex)
 *   read FD LEN [NAME]            read(FD, buf, LEN) → ok N {msg} | err E
 *                                 msg = ev=0x.. flags=0x.. addr=$NAME+0x.. ptid=N zero=0|1
 *                                 (zero=1: bytes 1..7 and 28..31 are 0; ptid=T: the tfault thread's tid)
 *   ioctl0 FD CMD                 ioctl(FD, CMD, NULL)                                 → ok | err E
 *   readwait FD LEN [NAME]        poll(FD, POLLIN, 3 s) first (`bad timeout` if nothing), then read
 *   write FD LEN                  → ok N | err E
 *   fdflags FD                    → ok cloexec=0|1 acc=N nonblock=0|1
 *   setfl FD FLAGS                fcntl(FD, F_SETFL, FLAGS)                           → ok | err E
 *   poll FD                       poll(FD, POLLIN, 0) → ok N revents=0x..
 *   devopen NAME                  open("/dev/userfaultfd", O_RDWR) kept open as NAME  → ok fd
 *   close FD                      → ok | err E
 *   tfault ADDR r|w [BYTE]        a second thread (pthread) loads / stores one byte at ADDR → ok
 *   tjoin                         wait (≤ 3 s) for it → ok 0xHH (the byte it read, or read back) |
 *                                 bad timeout
 *   madvise ADDR PAGES ADV        madvise(ADDR, PAGES*4096, ADV) by the main thread    → ok | err E
 *   mremap NAME ADDR OLD NEW FL [TO]  mremap(ADDR, OLD*4096, NEW*4096, FL, TO) by the main thread;
 *                                 NAME is bound to the result (NEW pages)            → ok | err E
 *   mmapfix ADDR PAGES PROT       mmap(ADDR, …, MAP_FIXED|MAP_PRIVATE|MAP_ANONYMOUS)    → ok | err E
 *   tsys munmap ADDR PAGES | tsys madvise ADDR PAGES ADV | tsys mremap NAME ADDR OLD NEW FL [TO] |
 *   tsys mmapfix ADDR PAGES PROT | tsys fork | tsys poll FD1 FD2
 *                                 the same call in a third thread (a producer that may block on
 *                                 its event) → ok. fork: the child blocks on a pipe until
 *                                 `childexit` (or the oracle's end), then _exit(0)s. poll:
 *                                 poll({FD1, POLLIN}, {FD2, POLLIN}, 3 s), whose tsjoin line is
 *                                 ok N revents=0x.. 0x..
 *   tsbusy                        after 100 ms: → ok blocked (the call has not returned) | ok done
 *   tsjoin                        wait (≤ 3 s) for the call → ok | ok child (fork) | err E |
 *                                 bad timeout; mremap binds NAME here
 *   childexit                     the forked child exits; waitpid                       → ok
 *   fdinfo FD                     the userfaultfd lines of /proc/self/fdinfo/FD
 *                                 → ok pending=N total=N api=aa:…:…
 *
 * read prints non-pagefault messages by event: ev=0x13 ufd=fd (bound to NAME if `read FD LEN
 * NAME` gave one), ev=0x14 from=… to=… len=0x…, ev=0x15/0x16 start=… end=…; addresses as names
 * (an end address may be $NAME+len); zero=1 when the reserved bytes and the unused union bytes
 * are 0.
 *
 * For UFFDIO_MOVE and the COPY source-fault path (and `madvise` above):
 *   mprotect ADDR PAGES PROT      → ok | err E
 *   mlock ADDR PAGES              → ok | err E
 *   fork                          fork() by the main thread (unlike `tsys fork`); the child
 *                                 sleeps until `reap` (≤ 8 s)                        → ok
 *   reap                          kill the child and wait for it                      → ok
 *   tioctl FD CMD W0 …            another thread (pthread) issues the ioctl (as `ioctl`)  → ok
 *   tioctljoin                    wait (≤ 3 s) for it → its `ioctl` result line | bad timeout
 *
 * KVM and guest_memfd verbs (their own block below, `kvm_step`; for tests/conformance/kvm-errno.test.ts):
 *
 *   kvm NAME                      open("/dev/kvm", O_RDWR)                            → ok fd | err E
 *   vm NAME KVMFD TYPE            ioctl(KVMFD, KVM_CREATE_VM, TYPE)                    → ok fd | err E
 *   cap FD CAP                    ioctl(FD, KVM_CHECK_EXTENSION, CAP)                  → ok N | err E
 *   ioctlv FD CMD ARG             ioctl(FD, CMD, ARG) with a plain value               → ok N | err E
 *   gmem NAME VMFD SIZE FLAGS [R0 [R5]]   KVM_CREATE_GUEST_MEMFD, reserved[0] = R0, reserved[5] = R5
 *                                                                                      → ok fd | err E
 *   slot VMFD SLOT FLAGS GPA SIZE UADDR GMEMFD OFF [PAD1]   KVM_SET_USER_MEMORY_REGION2 → ok | err E
 *   slot1 VMFD SLOT FLAGS GPA SIZE UADDR                 KVM_SET_USER_MEMORY_REGION    → ok | err E
 *   fallocate FD MODE OFF LEN     → ok | err E
 *   ftruncate FD LEN              → ok | err E
 *   fstat FD                      → ok size=N blksize=N blocks=N mode=0OCT nlink=N | err E
 *   sameino FD1 FD2               → ok same|differ (st_ino)
 *   pread FD LEN OFF / pwrite FD LEN OFF   → ok N | err E
 *   lseek FD OFF WHENCE           → ok N | err E
 *   getfl FD                      fcntl(F_GETFL) → ok 0x..
 *   mapgmem NAME FD PAGES PROT FLAGS OFFPAGES   mmap(NULL, PAGES*4096, PROT, FLAGS, FD, OFFPAGES*4096)
 *                                                                                      → ok | err E
 *   touch ADDR r|w [BYTE]         one load / store by the main thread → ok 0xHH | sig SIGBUS|SIGSEGV
 *   memset ADDR LEN BYTE          memset that may fault → ok | sig SIGBUS at +0xOFF (bytes before it written)
 *
 * Malformed steps give `bad …`. Every wait is bounded; an alarm ends the whole run after 8 s.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096ULL
#define MAXTOK 24
#define MAXNAMES 64

static char out[8192];
static size_t outlen;
static void outf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + outlen, sizeof out - outlen, fmt, ap);
    va_end(ap);
    if (n > 0) outlen += (size_t)n < sizeof out - outlen ? (size_t)n : sizeof out - outlen - 1;
}

static struct { char name[40]; uint64_t val; uint64_t len; } names[MAXNAMES];
static int nnames;

static void bind(const char *name, uint64_t val, uint64_t len)
{
    for (int i = 0; i < nnames; i++)
        if (!strcmp(names[i].name, name)) { names[i].val = val; names[i].len = len; return; }
    if (nnames < MAXNAMES) {
        snprintf(names[nnames].name, sizeof names[nnames].name, "%s", name);
        names[nnames].val = val;
        names[nnames].len = len;
        nnames++;
    }
}

static const char *bad;
static uint64_t val(const char *t)
{
    if (t[0] == '$') {
        char nm[40];
        size_t n = strcspn(t + 1, "+-");
        if (n >= sizeof nm) { bad = "bad name"; return 0; }
        memcpy(nm, t + 1, n);
        nm[n] = 0;
        uint64_t off = 0;
        int neg = 0;
        if (t[1 + n]) { neg = t[1 + n] == '-'; off = strtoull(t + 2 + n, NULL, 0); }
        for (int i = 0; i < nnames; i++)
            if (!strcmp(names[i].name, nm)) return neg ? names[i].val - off : names[i].val + off;
        bad = "bad unbound name";
        return 0;
    }
    char *end;
    errno = 0;
    uint64_t v = t[0] == '-' ? (uint64_t)strtoll(t, &end, 0) : strtoull(t, &end, 0);
    if (*end || errno) bad = "bad malformed value";
    return v;
}

static const char *ename(int e)
{
    switch (e) {
    case EPERM: return "EPERM"; case ENOENT: return "ENOENT"; case ESRCH: return "ESRCH";
    case EINTR: return "EINTR"; case EBADF: return "EBADF"; case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM"; case EACCES: return "EACCES"; case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY"; case EEXIST: return "EEXIST"; case ENODEV: return "ENODEV";
    case EINVAL: return "EINVAL"; case ENOTTY: return "ENOTTY"; case ENOSYS: return "ENOSYS";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EIO: return "EIO"; case ENXIO: return "ENXIO"; case ESPIPE: return "ESPIPE"; case EFBIG: return "EFBIG";
    }
    static char b[16];
    snprintf(b, sizeof b, "E%d", e);
    return b;
}

static void put_word(uint64_t v)
{
    int64_t s = (int64_t)v;
    if (s < 0 && s >= -4095) outf(" %" PRId64, s);
    else outf(" 0x%" PRIx64, v);
}

static void put_addr(uint64_t a)
{
    for (int i = 0; i < nnames; i++)
        if (names[i].len && a >= names[i].val && a - names[i].val < names[i].len) {
            uint64_t off = a - names[i].val;
            if (off) outf("$%s+0x%" PRIx64, names[i].name, off);
            else outf("$%s", names[i].name);
            return;
        }
    outf("0x%" PRIx64, a);
}

/* An end address: like put_addr, but the end of a mapping is $NAME+len. */
static void put_end(uint64_t a)
{
    for (int i = 0; i < nnames; i++)
        if (names[i].len && a > names[i].val && a - names[i].val <= names[i].len) {
            outf("$%s+0x%" PRIx64, names[i].name, a - names[i].val);
            return;
        }
    put_addr(a);
}

static void put_digest(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL, nz = 0;
    for (size_t i = 0; i < n; i++) { h = (h ^ p[i]) * 0x100000001b3ULL; nz += p[i] != 0; }
    outf(" digest=%016" PRIx64 " first=0x%02x nonzero=%" PRIu64, h, p[0], nz);
}

static long ioctl_nr(const char *t)
{
    if (!strcmp(t, "WRITEPROTECT")) return 0xC018AA06;
    if (!strcmp(t, "CONTINUE")) return 0xC020AA07;
    if (!strcmp(t, "POISON")) return 0xC020AA08;
    if (!strcmp(t, "MOVE")) return 0xC028AA05;
    if (!strcmp(t, "API")) return 0xC018AA3F;
    if (!strcmp(t, "REGISTER")) return 0xC020AA00;
    if (!strcmp(t, "UNREGISTER")) return 0x8010AA01;
    if (!strcmp(t, "WAKE")) return 0x8010AA02;
    if (!strcmp(t, "COPY")) return 0xC028AA03;
    if (!strcmp(t, "ZEROPAGE")) return 0xC020AA04;
    return (long)val(t);
}

/* ---- the second thread ---- */
static pthread_t ft;
static int ft_started;
static volatile unsigned char *ft_addr;
static int ft_write;
static unsigned char ft_byte, ft_result;
static volatile pid_t ft_tid = -1;

static void *faulter(void *arg)
{
    (void)arg;
    ft_tid = (pid_t)syscall(SYS_gettid);
    if (ft_write) { *ft_addr = ft_byte; ft_result = *ft_addr; }
    else ft_result = *ft_addr;
    return NULL;
}

/* ---- the producer thread (tsys) ---- */
static pthread_t st;
static int st_started;
static volatile int st_done;
static char st_verb[16], st_name[40];
static uint64_t st_a[6];
static long st_ret;
static int st_errno;
static short st_revents[2];
static int child_pipe[2] = { -1, -1 };
static pid_t child_pid = -1;

static long do_verb(const char *verb, const uint64_t *a)
{
    if (!strcmp(verb, "munmap")) return munmap((void *)(uintptr_t)a[0], a[1] * PAGE);
    if (!strcmp(verb, "madvise")) return madvise((void *)(uintptr_t)a[0], a[1] * PAGE, (int)a[2]);
    if (!strcmp(verb, "mremap")) {
        void *r = mremap((void *)(uintptr_t)a[0], a[1] * PAGE, a[2] * PAGE, (int)a[3], (void *)(uintptr_t)a[4]);
        return r == MAP_FAILED ? -1 : (long)(uintptr_t)r;
    }
    if (!strcmp(verb, "mmapfix")) {
        void *r = mmap((void *)(uintptr_t)a[0], a[1] * PAGE, (int)a[2], MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return r == MAP_FAILED ? -1 : 0;
    }
    if (!strcmp(verb, "poll")) {
        struct pollfd p[2] = { { (int)a[0], POLLIN, 0 }, { (int)a[1], POLLIN, 0 } };
        int r = poll(p, 2, 3000);
        st_revents[0] = p[0].revents;
        st_revents[1] = p[1].revents;
        return r;
    }
    if (!strcmp(verb, "fork")) {
        if (pipe(child_pipe)) return -1;
        pid_t c = fork();
        if (c == 0) {
            char b;
            close(child_pipe[1]);
            while (read(child_pipe[0], &b, 1) < 0 && errno == EINTR) {}
            _exit(0);
        }
        if (c < 0) return -1;
        close(child_pipe[0]);
        child_pid = c;
        return 1;
    }
    errno = EINVAL;
    return -1;
}

static void *producer(void *arg)
{
    (void)arg;
    long r = do_verb(st_verb, st_a);
    st_errno = errno;
    st_ret = r;
    __atomic_store_n(&st_done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* Parse "VERB ARGS" at tok[0..n): fills verb, name (mremap) and a[]. 0 or -1 (bad set). */
static int parse_verb(int n, char **tok, char *verb, char *name, uint64_t *a)
{
    memset(a, 0, 6 * sizeof *a);
    snprintf(verb, 16, "%s", tok[0]);
    name[0] = 0;
    int first = 1, need = 0;
    if (!strcmp(verb, "munmap")) need = 2;
    else if (!strcmp(verb, "madvise") || !strcmp(verb, "mmapfix")) need = 3;
    else if (!strcmp(verb, "mremap")) { need = 4; if (n > 1) snprintf(name, 40, "%s", tok[1]); first = 2; }
    else if (!strcmp(verb, "fork")) need = 0;
    else if (!strcmp(verb, "poll")) need = 2;
    else { bad = "bad unknown call"; return -1; }
    if (n - first < need) { bad = "bad wrong argument count"; return -1; }
    for (int i = first; i < n && i - first < 6; i++) a[i - first] = val(tok[i]);
    return bad ? -1 : 0;
}

static void put_call_result(const char *verb, const char *name, uint64_t *a, long r, int e)
{
    if (r == -1) { outf("err %s", ename(e)); return; }
    if (!strcmp(verb, "mremap")) bind(name, (uint64_t)r, a[2] * PAGE);
    if (!strcmp(verb, "poll")) { outf("ok %ld revents=0x%x 0x%x", r, st_revents[0], st_revents[1]); return; }
    outf(!strcmp(verb, "fork") ? "ok child" : "ok");
}

static unsigned char iobuf[8192];

#define NEED(k) do { if (n < (k)) { outf("bad wrong argument count"); return 1; } } while (0)
#define CHECK() do { if (bad) { outf("%s", bad); return 1; } } while (0)
#define SYSRES(r) do { if ((r) < 0) { outf("err %s", ename(errno)); return 1; } } while (0)

/* ==== KVM and guest_memfd verbs (see the header); kept apart from the userfaultfd verbs ==== */
struct kvm_create_guest_memfd_o { uint64_t size, flags, reserved[6]; };
struct kvm_userspace_memory_region2_o {
    uint32_t slot, flags; uint64_t guest_phys_addr, memory_size, userspace_addr, guest_memfd_offset;
    uint32_t guest_memfd, pad1; uint64_t pad2[14];
};
struct kvm_userspace_memory_region_o { uint32_t slot, flags; uint64_t guest_phys_addr, memory_size, userspace_addr; };
#define KVM_CREATE_VM_O 0xAE01
#define KVM_CHECK_EXTENSION_O 0xAE03
#define KVM_CREATE_GUEST_MEMFD_O 0xC040AED4
#define KVM_SET_USER_MEMORY_REGION2_O 0x40A0AE49
#define KVM_SET_USER_MEMORY_REGION_O 0x4020AE46

static sigjmp_buf kvm_jb;
static volatile int kvm_sig;
static void kvm_on_signal(int sig) { kvm_sig = sig; siglongjmp(kvm_jb, 1); }
static void kvm_catch(int on)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on ? kvm_on_signal : SIG_DFL;
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);
}
static volatile uint64_t kvm_progress;

static int kvm_step(int n, char **tok)
{
    const char *op = tok[0];
    if (!strcmp(op, "kvm")) {
        NEED(2);
        int fd = open("/dev/kvm", O_RDWR);
        SYSRES(fd);
        bind(tok[1], (uint64_t)fd, 0);
        outf("ok fd");
    } else if (!strcmp(op, "vm")) {
        NEED(4);
        uint64_t kfd = val(tok[2]), type = val(tok[3]);
        CHECK();
        long r = syscall(SYS_ioctl, (int)kfd, KVM_CREATE_VM_O, type);
        SYSRES(r);
        bind(tok[1], (uint64_t)r, 0);
        outf("ok fd");
    } else if (!strcmp(op, "cap")) {
        NEED(3);
        uint64_t fd = val(tok[1]), cap = val(tok[2]);
        CHECK();
        long r = syscall(SYS_ioctl, (int)fd, KVM_CHECK_EXTENSION_O, cap);
        SYSRES(r);
        outf("ok %ld", r);
    } else if (!strcmp(op, "ioctlv")) {
        NEED(4);
        uint64_t fd = val(tok[1]), cmd = val(tok[2]), arg = val(tok[3]);
        CHECK();
        long r = syscall(SYS_ioctl, (int)fd, (unsigned long)cmd, arg);
        SYSRES(r);
        outf("ok %ld", r);
    } else if (!strcmp(op, "gmem")) {
        NEED(5);
        struct kvm_create_guest_memfd_o g = { 0 };
        uint64_t vfd = val(tok[2]);
        g.size = val(tok[3]);
        g.flags = val(tok[4]);
        if (n > 5) g.reserved[0] = val(tok[5]);
        if (n > 6) g.reserved[5] = val(tok[6]);
        CHECK();
        long r = syscall(SYS_ioctl, (int)vfd, KVM_CREATE_GUEST_MEMFD_O, &g);
        SYSRES(r);
        bind(tok[1], (uint64_t)r, 0);
        outf("ok fd");
    } else if (!strcmp(op, "slot")) {
        NEED(9);
        struct kvm_userspace_memory_region2_o m = { 0 };
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
        SYSRES(syscall(SYS_ioctl, (int)vfd, KVM_SET_USER_MEMORY_REGION2_O, &m));
        outf("ok");
    } else if (!strcmp(op, "slot1")) {
        NEED(7);
        struct kvm_userspace_memory_region_o m = { 0 };
        uint64_t vfd = val(tok[1]);
        m.slot = (uint32_t)val(tok[2]);
        m.flags = (uint32_t)val(tok[3]);
        m.guest_phys_addr = val(tok[4]);
        m.memory_size = val(tok[5]);
        m.userspace_addr = val(tok[6]);
        CHECK();
        SYSRES(syscall(SYS_ioctl, (int)vfd, KVM_SET_USER_MEMORY_REGION_O, &m));
        outf("ok");
    } else if (!strcmp(op, "fallocate")) {
        NEED(5);
        uint64_t fd = val(tok[1]), mode = val(tok[2]), off = val(tok[3]), len = val(tok[4]);
        CHECK();
        SYSRES(syscall(SYS_fallocate, (int)fd, (int)mode, (int64_t)off, (int64_t)len));
        outf("ok");
    } else if (!strcmp(op, "ftruncate")) {
        NEED(3);
        uint64_t fd = val(tok[1]), len = val(tok[2]);
        CHECK();
        SYSRES(syscall(SYS_ftruncate, (int)fd, (int64_t)len));
        outf("ok");
    } else if (!strcmp(op, "fstat")) {
        NEED(2);
        uint64_t fd = val(tok[1]);
        CHECK();
        struct stat st;
        SYSRES(fstat((int)fd, &st));
        outf("ok size=%lld blksize=%ld blocks=%lld mode=0%o nlink=%lu", (long long)st.st_size, (long)st.st_blksize,
             (long long)st.st_blocks, st.st_mode, (unsigned long)st.st_nlink);
    } else if (!strcmp(op, "sameino")) {
        NEED(3);
        uint64_t a = val(tok[1]), b = val(tok[2]);
        CHECK();
        struct stat sa, sb;
        SYSRES(fstat((int)a, &sa));
        SYSRES(fstat((int)b, &sb));
        outf("ok %s", sa.st_ino == sb.st_ino ? "same" : "differ");
    } else if (!strcmp(op, "pread") || !strcmp(op, "pwrite")) {
        NEED(4);
        uint64_t fd = val(tok[1]), len = val(tok[2]), off = val(tok[3]);
        CHECK();
        if (len > sizeof iobuf) { outf("bad length"); return 1; }
        long r = op[1] == 'r' ? syscall(SYS_pread64, (int)fd, iobuf, len, (int64_t)off) : syscall(SYS_pwrite64, (int)fd, iobuf, len, (int64_t)off);
        SYSRES(r);
        outf("ok %ld", r);
    } else if (!strcmp(op, "lseek")) {
        NEED(4);
        uint64_t fd = val(tok[1]), off = val(tok[2]), wh = val(tok[3]);
        CHECK();
        long r = syscall(SYS_lseek, (int)fd, (int64_t)off, (unsigned)wh);
        SYSRES(r);
        outf("ok %ld", r);
    } else if (!strcmp(op, "getfl")) {
        NEED(2);
        uint64_t fd = val(tok[1]);
        CHECK();
        int fl = fcntl((int)fd, F_GETFL);
        SYSRES(fl);
        outf("ok 0x%x", fl);
    } else if (!strcmp(op, "mapgmem")) {
        NEED(7);
        uint64_t fd = val(tok[2]), pages = val(tok[3]), prot = val(tok[4]), fl = val(tok[5]), offp = val(tok[6]);
        CHECK();
        void *p = mmap(NULL, pages * PAGE, (int)prot, (int)fl, (int)fd, (off_t)(offp * PAGE));
        if (p == MAP_FAILED) { outf("err %s", ename(errno)); return 1; }
        bind(tok[1], (uint64_t)(uintptr_t)p, pages * PAGE);
        outf("ok");
    } else if (!strcmp(op, "touch")) {
        NEED(3);
        uint64_t a = val(tok[1]), b = n > 3 ? val(tok[3]) : 0;
        CHECK();
        volatile unsigned char *q = (volatile unsigned char *)(uintptr_t)a;
        kvm_catch(1);
        if (sigsetjmp(kvm_jb, 1)) {
            kvm_catch(0);
            outf("sig %s", kvm_sig == SIGBUS ? "SIGBUS" : "SIGSEGV");
            return 1;
        }
        unsigned char v;
        if (tok[2][0] == 'w') { *q = (unsigned char)b; v = *q; }
        else v = *q;
        kvm_catch(0);
        outf("ok 0x%02x", v);
    } else if (!strcmp(op, "memset")) {
        NEED(4);
        uint64_t a = val(tok[1]), len = val(tok[2]), b = val(tok[3]);
        CHECK();
        volatile unsigned char *q = (volatile unsigned char *)(uintptr_t)a;
        kvm_progress = 0;
        kvm_catch(1);
        if (sigsetjmp(kvm_jb, 1)) {
            kvm_catch(0);
            outf("sig %s at +0x%" PRIx64, kvm_sig == SIGBUS ? "SIGBUS" : "SIGSEGV", kvm_progress);
            return 1;
        }
        for (uint64_t i = 0; i < len; i++) { kvm_progress = i; q[i] = (unsigned char)b; }
        kvm_catch(0);
        outf("ok");
    } else {
        return 0;
    }
    return 1;
}
/* ==== end of the KVM verbs ==== */
#undef NEED
#undef CHECK
#undef SYSRES

/* ---- verbs for UFFDIO_MOVE (protections, mlock, a forked child sharing the pages) and for the
 * COPY source-fault path (an ioctl issued by a second thread, which may wait in the kernel) ---- */
static pid_t child = -1;

static pthread_t ct;
static int ct_started;
static int ct_fd, ct_errno;
static unsigned long ct_cmd;
static long ct_ret;
static size_t ct_nw;
static uint64_t ct_w[16], ct_before[16];

static void *caller(void *arg)
{
    (void)arg;
    ct_ret = syscall(SYS_ioctl, ct_fd, ct_cmd, ct_w);
    ct_errno = errno;
    return NULL;
}

static long ioctl_nr(const char *t);

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

static int move_copy_verb(int n, char **tok)
{
    const char *op = tok[0];
    if (!strcmp(op, "tioctl")) {
        if (n < 3) { outf("bad wrong argument count"); return 1; }
        if (ct_started) { outf("bad a calling thread is already running"); return 1; }
        ct_fd = (int)val(tok[1]);
        ct_cmd = (unsigned long)ioctl_nr(tok[2]);
        ct_nw = ((ct_cmd >> 16) & 0x3fff) / 8;
        if (ct_nw > 16 || (size_t)(n - 3) > ct_nw) { outf("bad too many words"); return 1; }
        memset(ct_w, 0, sizeof ct_w);
        for (int i = 3; i < n; i++) ct_w[i - 3] = val(tok[i]);
        if (bad) { outf("%s", bad); return 1; }
        memcpy(ct_before, ct_w, sizeof ct_w);
        int e = pthread_create(&ct, NULL, caller, NULL);
        if (e) { outf("bad pthread_create: %s", ename(e)); return 1; }
        ct_started = 1;
        outf("ok");
    } else if (!strcmp(op, "tioctljoin")) {
        if (!ct_started) { outf("bad no calling thread"); return 1; }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 3;
        int e = pthread_timedjoin_np(ct, NULL, &ts);
        if (e == ETIMEDOUT) { outf("bad timeout"); return 1; }
        if (e) { outf("bad pthread_join: %s", ename(e)); return 1; }
        ct_started = 0;
        put_ioctl_result(ct_ret, ct_errno, ct_w, ct_before, ct_nw);
    } else if (!strcmp(op, "mprotect")) {
        if (n < 4) { outf("bad wrong argument count"); return 1; }
        uint64_t a = val(tok[1]), pages = val(tok[2]), prot = val(tok[3]);
        if (bad) { outf("%s", bad); return 1; }
        if (mprotect((void *)(uintptr_t)a, pages * PAGE, (int)prot)) outf("err %s", ename(errno)); else outf("ok");
    } else if (!strcmp(op, "mlock")) {
        if (n < 3) { outf("bad wrong argument count"); return 1; }
        uint64_t a = val(tok[1]), pages = val(tok[2]);
        if (bad) { outf("%s", bad); return 1; }
        if (mlock((void *)(uintptr_t)a, pages * PAGE)) outf("err %s", ename(errno)); else outf("ok");
    } else if (!strcmp(op, "fork")) {
        if (child > 0) { outf("bad a child is already running"); return 1; }
        fflush(stdout);
        child = fork();
        if (child < 0) { outf("bad fork: %s", ename(errno)); return 1; }
        if (child == 0) { alarm(8); for (;;) pause(); }
        outf("ok");
    } else if (!strcmp(op, "reap")) {
        if (child <= 0) { outf("bad no child"); return 1; }
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        child = -1;
        outf("ok");
    } else {
        return 0;
    }
    return 1;
}

static void step(int n, char **tok)
{
    const char *op = tok[0];
#define NEED(k) do { if (n < (k)) { outf("bad wrong argument count"); return; } } while (0)
#define CHECK() do { if (bad) { outf("%s", bad); return; } } while (0)
#define SYSRES(r) do { if ((r) < 0) { outf("err %s", ename(errno)); return; } } while (0)
    if (move_copy_verb(n, tok)) return;
    if (!strcmp(op, "nopriv")) {
        FILE *f = fopen("/proc/sys/vm/unprivileged_userfaultfd", "r");
        int v = -1;
        if (f) { if (fscanf(f, "%d", &v) != 1) v = -1; fclose(f); }
        if (v != 0) { outf("bad sysctl vm.unprivileged_userfaultfd is %d, not 0", v); return; }
        struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
        struct __user_cap_data_struct d[2];
        if (syscall(SYS_capget, &h, d)) { outf("bad capget: %s", ename(errno)); return; }
        for (int i = 0; i < 2; i++) {
            unsigned m = i == CAP_SYS_PTRACE / 32 ? 1u << (CAP_SYS_PTRACE % 32) : 0;
            d[i].effective &= ~m; d[i].permitted &= ~m; d[i].inheritable &= ~m;
        }
        if (syscall(SYS_capset, &h, d)) { outf("bad capset: %s", ename(errno)); return; }
        outf("ok");
    } else if (!strcmp(op, "uffd")) {
        NEED(3);
        uint64_t fl = val(tok[2]);
        CHECK();
        long r = syscall(SYS_userfaultfd, fl);
        SYSRES(r);
        bind(tok[1], (uint64_t)r, 0);
        outf("ok fd");
    } else if (!strcmp(op, "devnew")) {
        NEED(4);
        uint64_t cmd = val(tok[2]), fl = val(tok[3]);
        CHECK();
        int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
        if (dev < 0) { outf("bad open /dev/userfaultfd: %s", ename(errno)); return; }
        long r = syscall(SYS_ioctl, dev, cmd, fl);
        int e = errno;
        close(dev);
        if (r < 0) { outf("err %s", ename(e)); return; }
        bind(tok[1], (uint64_t)r, 0);
        outf("ok fd");
    } else if (!strcmp(op, "anon") || !strcmp(op, "sanon")) {
        NEED(4);
        uint64_t pages = val(tok[2]), prot = val(tok[3]);
        CHECK();
        int fl = MAP_ANONYMOUS | (op[0] == 's' ? MAP_SHARED : MAP_PRIVATE);
        void *p = mmap(NULL, pages * PAGE, (int)prot, fl, -1, 0);
        if (p == MAP_FAILED) { outf("err %s", ename(errno)); return; }
        bind(tok[1], (uint64_t)(uintptr_t)p, pages * PAGE);
        outf("ok");
    } else if (!strcmp(op, "memfd")) {
        NEED(3);
        uint64_t pages = val(tok[2]);
        CHECK();
        int fd = (int)syscall(SYS_memfd_create, "uffd_oracle", 0);
        SYSRES(fd);
        if (ftruncate(fd, (off_t)(pages * PAGE))) { outf("err %s", ename(errno)); return; }
        bind(tok[1], (uint64_t)fd, 0);
        outf("ok fd");
    } else if (!strcmp(op, "pipe")) {
        NEED(3);
        int fds[2];
        if (pipe2(fds, 0)) { outf("err %s", ename(errno)); return; }
        bind(tok[1], (uint64_t)fds[0], 0);
        bind(tok[2], (uint64_t)fds[1], 0);
        outf("ok fd fd");
    } else if (!strcmp(op, "mapfd")) {
        NEED(5);
        uint64_t fd = val(tok[2]), pages = val(tok[3]), prot = val(tok[4]);
        CHECK();
        int mfd = (int)fd;
        if (n > 5 && !strcmp(tok[5], "ro")) {
            char path[64];
            snprintf(path, sizeof path, "/proc/self/fd/%d", (int)fd);
            mfd = open(path, O_RDONLY);
            SYSRES(mfd);
        }
        void *p = mmap(NULL, pages * PAGE, (int)prot, MAP_SHARED, mfd, 0);
        if (p == MAP_FAILED) { outf("err %s", ename(errno)); return; }
        bind(tok[1], (uint64_t)(uintptr_t)p, pages * PAGE);
        outf("ok");
    } else if (!strcmp(op, "munmap")) {
        NEED(3);
        uint64_t a = val(tok[1]), pages = val(tok[2]);
        CHECK();
        SYSRES(munmap((void *)(uintptr_t)a, pages * PAGE));
        outf("ok");
    } else if (!strcmp(op, "fill")) {
        NEED(4);
        uint64_t a = val(tok[1]), len = val(tok[2]), b = val(tok[3]);
        CHECK();
        memset((void *)(uintptr_t)a, (int)b, len);
        outf("ok");
    } else if (!strcmp(op, "load")) {
        NEED(3);
        uint64_t a = val(tok[1]), len = val(tok[2]);
        CHECK();
        if (len == 0 || len > sizeof iobuf) { outf("bad load length"); return; }
        memcpy(iobuf, (void *)(uintptr_t)a, len);
        outf("ok");
        put_digest(iobuf, len);
    } else if (!strcmp(op, "ioctl")) {
        NEED(3);
        uint64_t fd = val(tok[1]);
        unsigned long cmd = (unsigned long)ioctl_nr(tok[2]);
        uint64_t w[16] = { 0 }, before[16];
        size_t nw = ((cmd >> 16) & 0x3fff) / 8;
        if (nw > 16 || (size_t)(n - 3) > nw) { outf("bad too many words"); return; }
        for (int i = 3; i < n; i++) w[i - 3] = val(tok[i]);
        CHECK();
        memcpy(before, w, sizeof w);
        long r = syscall(SYS_ioctl, (int)fd, cmd, w);
        put_ioctl_result(r, errno, w, before, nw);
    } else if (!strcmp(op, "ioctl0")) {
        NEED(3);
        uint64_t fd = val(tok[1]);
        unsigned long cmd = (unsigned long)ioctl_nr(tok[2]);
        CHECK();
        long r = syscall(SYS_ioctl, (int)fd, cmd, NULL);
        SYSRES(r);
        outf("ok");
    } else if (!strcmp(op, "read") || !strcmp(op, "readwait")) {
        NEED(3);
        uint64_t fd = val(tok[1]), len = val(tok[2]);
        CHECK();
        if (len > sizeof iobuf) { outf("bad read length"); return; }
        if (op[4] == 'w') {
            struct pollfd p = { (int)fd, POLLIN, 0 };
            int pr = poll(&p, 1, 3000);
            if (pr == 0) { outf("bad timeout"); return; }
        }
        memset(iobuf, 0xee, sizeof iobuf);
        long r = read((int)fd, iobuf, len);
        SYSRES(r);
        outf("ok %ld", r);
        for (long o = 0; o + 32 <= r; o += 32) {
            unsigned char *m = iobuf + o;
            uint64_t flags, addr;
            uint32_t ptid;
            memcpy(&flags, m + 8, 8);
            memcpy(&addr, m + 16, 8);
            memcpy(&ptid, m + 24, 4);
            int zero = 1;
            for (int i = 1; i < 8; i++) zero &= m[i] == 0;
            for (int i = 28; i < 32; i++) zero &= m[i] == 0;
            if (m[0] != 0x12) {
                uint64_t w2;
                memcpy(&w2, m + 24, 8);
                if (m[0] == 0x13) {
                    uint32_t ufd;
                    memcpy(&ufd, m + 8, 4);
                    for (int i = 12; i < 32; i++) zero &= m[i] == 0;
                    int ok = fcntl((int)ufd, F_GETFD) >= 0;
                    if (n > 3) bind(tok[3], ufd, 0);
                    outf(" ev=0x13 ufd=%s zero=%d", ok ? "fd" : "bad", zero);
                } else if (m[0] == 0x14) {
                    outf(" ev=0x14 from=");
                    put_addr(flags);
                    outf(" to=");
                    put_addr(addr);
                    outf(" len=0x%" PRIx64 " zero=%d", w2, zero);
                } else {
                    for (int i = 24; i < 32; i++) zero &= m[i] == 0;
                    outf(" ev=0x%02x start=", m[0]);
                    put_addr(flags);
                    outf(" end=");
                    put_end(addr);
                    outf(" zero=%d", zero);
                }
                continue;
            }
            outf(" ev=0x%02x flags=0x%" PRIx64 " addr=", m[0], flags);
            put_addr(addr);
            if (ptid != 0 && (pid_t)ptid == ft_tid) outf(" ptid=T zero=%d", zero);
            else outf(" ptid=%u zero=%d", ptid, zero);
        }
    } else if (!strcmp(op, "write")) {
        NEED(3);
        uint64_t fd = val(tok[1]), len = val(tok[2]);
        CHECK();
        if (len > sizeof iobuf) { outf("bad write length"); return; }
        long r = write((int)fd, iobuf, len);
        SYSRES(r);
        outf("ok %ld", r);
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
        SYSRES(fcntl((int)fd, F_SETFL, (int)fl));
        outf("ok");
    } else if (!strcmp(op, "poll")) {
        NEED(2);
        uint64_t fd = val(tok[1]);
        CHECK();
        struct pollfd p = { (int)fd, POLLIN, 0 };
        int r = poll(&p, 1, 0);
        SYSRES(r);
        outf("ok %d revents=0x%x", r, p.revents);
    } else if (!strcmp(op, "devopen")) {
        NEED(2);
        int dev = open("/dev/userfaultfd", O_RDWR);
        SYSRES(dev);
        bind(tok[1], (uint64_t)dev, 0);
        outf("ok fd");
    } else if (!strcmp(op, "close")) {
        NEED(2);
        uint64_t fd = val(tok[1]);
        CHECK();
        SYSRES(close((int)fd));
        outf("ok");
    } else if (!strcmp(op, "tfault")) {
        NEED(3);
        uint64_t a = val(tok[1]);
        uint64_t b = n > 3 ? val(tok[3]) : 0;
        CHECK();
        if (ft_started) { outf("bad a faulting thread is already running"); return; }
        ft_addr = (volatile unsigned char *)(uintptr_t)a;
        ft_write = tok[2][0] == 'w';
        ft_byte = (unsigned char)b;
        int e = pthread_create(&ft, NULL, faulter, NULL);
        if (e) { outf("bad pthread_create: %s", ename(e)); return; }
        ft_started = 1;
        outf("ok");
    } else if (!strcmp(op, "tjoin")) {
        if (!ft_started) { outf("bad no faulting thread"); return; }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 3;
        int e = pthread_timedjoin_np(ft, NULL, &ts);
        if (e == ETIMEDOUT) { outf("bad timeout"); return; }
        if (e) { outf("bad pthread_join: %s", ename(e)); return; }
        ft_started = 0;
        outf("ok 0x%02x", ft_result);
    } else if (!strcmp(op, "madvise") || !strcmp(op, "mremap") || !strcmp(op, "mmapfix")) {
        char verb[16], name[40];
        uint64_t a[6];
        if (parse_verb(n, tok, verb, name, a)) { outf("%s", bad); return; }
        long r = do_verb(verb, a);
        put_call_result(verb, name, a, r, errno);
    } else if (!strcmp(op, "tsys")) {
        NEED(2);
        if (st_started) { outf("bad a producer thread is already running"); return; }
        if (parse_verb(n - 1, tok + 1, st_verb, st_name, st_a)) { outf("%s", bad); return; }
        st_done = 0;
        int e = pthread_create(&st, NULL, producer, NULL);
        if (e) { outf("bad pthread_create: %s", ename(e)); return; }
        st_started = 1;
        outf("ok");
    } else if (!strcmp(op, "tsbusy")) {
        if (!st_started) { outf("bad no producer thread"); return; }
        usleep(100000);
        outf(__atomic_load_n(&st_done, __ATOMIC_SEQ_CST) ? "ok done" : "ok blocked");
    } else if (!strcmp(op, "tsjoin")) {
        if (!st_started) { outf("bad no producer thread"); return; }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 3;
        int e = pthread_timedjoin_np(st, NULL, &ts);
        if (e == ETIMEDOUT) { outf("bad timeout"); return; }
        if (e) { outf("bad pthread_join: %s", ename(e)); return; }
        st_started = 0;
        put_call_result(st_verb, st_name, st_a, st_ret, st_errno);
    } else if (!strcmp(op, "childexit")) {
        if (child_pid < 0) { outf("bad no child"); return; }
        close(child_pipe[1]);
        int status;
        if (waitpid(child_pid, &status, 0) < 0) { outf("bad waitpid: %s", ename(errno)); return; }
        child_pid = -1;
        outf("ok");
    } else if (!strcmp(op, "fdinfo")) {
        NEED(2);
        uint64_t fd = val(tok[1]);
        CHECK();
        char path[64], line[256];
        snprintf(path, sizeof path, "/proc/self/fdinfo/%d", (int)fd);
        FILE *f = fopen(path, "r");
        if (!f) { outf("err %s", ename(errno)); return; }
        char pend[32] = "?", tot[32] = "?", api[96] = "?";
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = 0;
            if (!strncmp(line, "pending:\t", 9)) snprintf(pend, sizeof pend, "%.30s", line + 9);
            else if (!strncmp(line, "total:\t", 7)) snprintf(tot, sizeof tot, "%.30s", line + 7);
            else if (!strncmp(line, "API:\t", 5)) snprintf(api, sizeof api, "%.90s", line + 5);
        }
        fclose(f);
        outf("ok pending=%s total=%s api=%s", pend, tot, api);
    } else if (!kvm_step(n, tok)) {
        outf("bad unknown op '%s'", op);
    }
}

int main(void)
{
    alarm(8);
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        char *tok[MAXTOK];
        int n = 0;
        for (char *s = strtok(line, " \t\r\n"); s && n < MAXTOK; s = strtok(NULL, " \t\r\n")) tok[n++] = s;
        if (n == 0 || tok[0][0] == '#') continue;
        outlen = 0;
        out[0] = 0;
        bad = NULL;
        step(n, tok);
        printf("%s\n", out);
        fflush(stdout);
    }
    if (child > 0) { kill(child, SIGKILL); waitpid(child, NULL, 0); }
    return 0;
}
