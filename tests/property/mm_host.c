/*
 * mm_host: runs the mm model property tests' commands on the host Linux kernel, to check the model
 * (tests/helpers/model.ts) itself against real Linux. Driven by tests/property/mm-model-host.test.ts.
 *
 *   mm_host CMD_FIFO RES_FIFO
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
 * libraries, stack, vdso) is "forbidden": a command whose range touches it is refused and not run,
 * and maps leaves it out. Nothing here allocates memory after start, so that set does not change.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXP 8
#define PG 4096UL

struct reader { int fd; int len, pos; char buf[1 << 16]; };
static struct reader rd_in, rd_res[MAXP];
static int cmdp[MAXP][2], resp[MAXP][2];
static pid_t pids[MAXP];
static int self, out_fd;
static struct { unsigned long s, e; } forbid[1024];
static int nforbid;
static sigjmp_buf jb;
static volatile sig_atomic_t gotsig;
static char line[1 << 16], out[1 << 17], mapsbuf[1 << 17];

static void die(const char *m) { dprintf(2, "mm_host: %s: %s\n", m, strerror(errno)); _exit(2); }

static char *readline(struct reader *r) {
  int n = 0;
  for (;;) {
    while (r->pos < r->len) {
      char c = r->buf[r->pos++];
      if (c == '\n') { line[n] = 0; return line; }
      if (n < (int)sizeof line - 1) line[n++] = c;
    }
    ssize_t k = read(r->fd, r->buf, sizeof r->buf);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return NULL;
    r->len = (int)k;
    r->pos = 0;
  }
}

static void writeall(int fd, const char *s, size_t n) {
  while (n > 0) {
    ssize_t k = write(fd, s, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) die("write");
    s += k;
    n -= (size_t)k;
  }
}

static void reply(const char *s) {
  size_t n = strlen(s);
  writeall(out_fd, s, n);
  writeall(out_fd, "\n", 1);
}

static const char *ename(int e) {
  static char b[16];
  switch (e) {
    case EPERM: return "EPERM"; case ENOENT: return "ENOENT"; case EBADF: return "EBADF"; case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM"; case EACCES: return "EACCES"; case EFAULT: return "EFAULT"; case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST"; case ENODEV: return "ENODEV"; case EINVAL: return "EINVAL"; case EFBIG: return "EFBIG";
    case ENOSPC: return "ENOSPC"; case ESPIPE: return "ESPIPE"; case EOVERFLOW: return "EOVERFLOW"; case EOPNOTSUPP: return "EOPNOTSUPP";
  }
  snprintf(b, sizeof b, "E%d", e);
  return b;
}

static void reply_ret(long r, int hexval) {
  if (r == -1) snprintf(out, sizeof out, "err %s", ename(errno));
  else if (hexval) snprintf(out, sizeof out, "ok 0x%lx", (unsigned long)r);
  else snprintf(out, sizeof out, "ok %ld", r);
  reply(out);
}

/** Whether [a, a + len) (page-rounded) touches the harness's own memory. */
static int forbidden(unsigned long a, unsigned long len) {
  unsigned long s = a & ~(PG - 1), e = (a + len + PG - 1) & ~(PG - 1);
  if (e < s) return 1;
  for (int i = 0; i < nforbid; i++) if (s < forbid[i].e && forbid[i].s < e) return 1;
  return 0;
}

static int read_maps(void) {
  int fd = open("/proc/self/maps", O_RDONLY);
  if (fd < 0) die("open maps");
  int n = 0;
  for (;;) {
    ssize_t k = read(fd, mapsbuf + n, sizeof mapsbuf - 1 - n);
    if (k < 0) die("read maps");
    if (k == 0) break;
    n += (int)k;
  }
  close(fd);
  mapsbuf[n] = 0;
  return n;
}

static void snapshot_forbidden(void) {
  read_maps();
  for (char *p = mapsbuf; *p && nforbid < 1024;) {
    unsigned long s, e;
    if (sscanf(p, "%lx-%lx", &s, &e) == 2) {
      forbid[nforbid].s = s;
      forbid[nforbid].e = e;
      nforbid++;
    }
    char *nl = strchr(p, '\n');
    if (!nl) break;
    p = nl + 1;
  }
}

static int is_internal_fd(long fd) {
  if (fd >= 0 && fd <= 2) return 1;
  for (int i = 0; i < MAXP; i++)
    if (fd == cmdp[i][0] || fd == cmdp[i][1] || fd == resp[i][0] || fd == resp[i][1]) return 1;
  return fd == rd_in.fd || fd == out_fd;
}

static void on_sig(int s) {
  gotsig = s;
  siglongjmp(jb, 1);
}

static void do_access(int store, int size, unsigned long a, unsigned long v) {
  if (forbidden(a, (unsigned long)size)) { reply("refused"); return; }
  gotsig = 0;
  if (sigsetjmp(jb, 1)) {
    reply(gotsig == SIGBUS ? "sig SIGBUS" : "sig SIGSEGV");
    return;
  }
  unsigned long r = 0;
  if (store) {
    if (size == 1) *(volatile uint8_t *)a = (uint8_t)v;
    else *(volatile uint32_t *)a = (uint32_t)v;
  } else {
    r = size == 1 ? *(volatile uint8_t *)a : *(volatile uint32_t *)a;
  }
  if (store) reply("ok 0");
  else { snprintf(out, sizeof out, "ok %lu", r); reply(out); }
}

static void do_maps(void) {
  read_maps();
  int o = snprintf(out, sizeof out, "ok");
  for (char *p = mapsbuf; *p;) {
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
        for (int i = 0; i < nforbid; i++) {
          if (forbid[i].s <= cur && cur < forbid[i].e) { inside = 1; next = forbid[i].e < e ? forbid[i].e : e; break; }
          if (cur < forbid[i].s && forbid[i].s < next) next = forbid[i].s;
        }
        if (!inside && o < (int)sizeof out - 128)
          o += snprintf(out + o, sizeof out - o, "%s0x%lx 0x%lx %s 0x%lx %lu %c", o == 2 ? " " : ";", cur, next, perms, off + (cur - s), ino, kind);
        cur = next;
      }
    }
    char *nl = strchr(p, '\n');
    if (!nl) break;
    p = nl + 1;
  }
  reply(out);
}

static unsigned long num(char **p) {
  while (**p == ' ') (*p)++;
  char *end;
  unsigned long v = strtoul(*p, &end, 0);
  if (**p == '-') v = (unsigned long)strtol(*p, &end, 0);
  *p = end;
  return v;
}

static void serve(char *p) {
  char op[16];
  int n = 0;
  while (*p == ' ') p++;
  while (*p && *p != ' ' && n < 15) op[n++] = *p++;
  op[n] = 0;
  if (!strcmp(op, "mmap")) {
    unsigned long a = num(&p), l = num(&p), prot = num(&p), fl = num(&p), fd = num(&p), off = num(&p);
    if ((fl & MAP_FIXED) && forbidden(a, l)) { reply("refused"); return; }
    reply_ret(syscall(SYS_mmap, a, l, prot, fl, fd, off), 1);
  } else if (!strcmp(op, "munmap")) {
    unsigned long a = num(&p), l = num(&p);
    if (forbidden(a, l)) { reply("refused"); return; }
    reply_ret(syscall(SYS_munmap, a, l), 0);
  } else if (!strcmp(op, "mprotect")) {
    unsigned long a = num(&p), l = num(&p), prot = num(&p);
    if (forbidden(a, l)) { reply("refused"); return; }
    reply_ret(syscall(SYS_mprotect, a, l, prot), 0);
  } else if (!strcmp(op, "madvise")) {
    unsigned long a = num(&p), l = num(&p), adv = num(&p);
    if (forbidden(a, l)) { reply("refused"); return; }
    reply_ret(syscall(SYS_madvise, a, l, adv), 0);
  } else if (!strcmp(op, "mremap")) {
    unsigned long a = num(&p), o = num(&p), nl = num(&p), fl = num(&p), na = num(&p);
    /* The old range as the kernel sees it: a zero old_len (a shared mapping's duplicate) still
     * names the page at a, and growing in place reaches up to a + new_len. */
    unsigned long span = o > nl ? o : nl;
    if (forbidden(a, span ? span : 1) || ((fl & MREMAP_FIXED) && forbidden(na, nl ? nl : 1))) { reply("refused"); return; }
    reply_ret(syscall(SYS_mremap, a, o, nl, fl, na), 1);
  } else if (!strcmp(op, "memfd")) {
    unsigned long fl = num(&p);
    reply_ret(syscall(SYS_memfd_create, "m", fl), 0);
  } else if (!strcmp(op, "fcntl")) {
    long fd = (long)num(&p), cmd = (long)num(&p), arg = (long)num(&p);
    if (is_internal_fd(fd)) { reply("refused"); return; }
    reply_ret(syscall(SYS_fcntl, fd, cmd, arg), 0);
  } else if (!strcmp(op, "close")) {
    long fd = (long)num(&p);
    if (is_internal_fd(fd)) { reply("refused"); return; }
    reply_ret(syscall(SYS_close, fd), 0);
  } else if (!strcmp(op, "ftruncate")) {
    long fd = (long)num(&p), l = (long)num(&p);
    if (is_internal_fd(fd)) { reply("refused"); return; }
    reply_ret(syscall(SYS_ftruncate, fd, l), 0);
  } else if (!strcmp(op, "fallocate")) {
    long fd = (long)num(&p), mode = (long)num(&p), off = (long)num(&p), l = (long)num(&p);
    if (is_internal_fd(fd)) { reply("refused"); return; }
    reply_ret(syscall(SYS_fallocate, fd, mode, off, l), 0);
  } else if (!strcmp(op, "fstat")) {
    long fd = (long)num(&p);
    struct stat st;
    if (syscall(SYS_fstat, fd, &st) == -1) { reply_ret(-1, 0); return; }
    snprintf(out, sizeof out, "ok %ld %ld %lu", (long)st.st_size, (long)st.st_blocks, (unsigned long)st.st_ino);
    reply(out);
  } else if (!strcmp(op, "pwrite")) {
    long fd = (long)num(&p), off = (long)num(&p);
    unsigned char data[64];
    int k = 0;
    while (*p == ' ') p++;
    while (*p && k < 64) {
      data[k++] = (unsigned char)strtoul(p, &p, 0);
      if (*p == ',') p++;
    }
    if (is_internal_fd(fd)) { reply("refused"); return; }
    reply_ret(syscall(SYS_pwrite64, fd, data, k, off), 0);
  } else if (!strcmp(op, "pread")) {
    long fd = (long)num(&p), off = (long)num(&p), l = (long)num(&p);
    unsigned char data[64];
    if (l > 64) l = 64;
    long r = syscall(SYS_pread64, fd, data, l, off);
    if (r == -1) { reply_ret(-1, 0); return; }
    int o = snprintf(out, sizeof out, "ok ");
    if (r == 0) o += snprintf(out + o, sizeof out - o, "-");
    for (long i = 0; i < r; i++) o += snprintf(out + o, sizeof out - o, i ? ",%u" : "%u", data[i]);
    reply(out);
  } else if (!strcmp(op, "pwritem") || !strcmp(op, "preadm")) {
    long fd = (long)num(&p), off = (long)num(&p);
    unsigned long a = num(&p), l = num(&p);
    if (is_internal_fd(fd) || forbidden(a, l)) { reply("refused"); return; }
    reply_ret(syscall(op[1] == 'w' ? SYS_pwrite64 : SYS_pread64, fd, a, l, off), 0);
  } else if (!strcmp(op, "load")) {
    int size = (int)num(&p);
    unsigned long a = num(&p);
    do_access(0, size, a, 0);
  } else if (!strcmp(op, "store")) {
    int size = (int)num(&p);
    unsigned long a = num(&p), v = num(&p);
    do_access(1, size, a, v);
  } else if (!strcmp(op, "maps")) {
    do_maps();
  } else if (!strcmp(op, "forbid")) {
    int o = snprintf(out, sizeof out, "ok");
    for (int i = 0; i < nforbid && o < (int)sizeof out - 64; i++) o += snprintf(out + o, sizeof out - o, " 0x%lx-0x%lx", forbid[i].s, forbid[i].e);
    reply(out);
  } else if (!strcmp(op, "fork")) {
    int j = (int)num(&p);
    if (j <= 0 || j >= MAXP) { reply("err EINVAL"); return; }
    pid_t c = fork();
    if (c < 0) { reply_ret(-1, 0); return; }
    if (c == 0) {
      self = j;
      rd_in.fd = cmdp[j][0];
      rd_in.len = rd_in.pos = 0;
      out_fd = resp[j][1];
      alarm(300);
      return; /* the child answers nothing for the fork itself */
    }
    pids[j] = c;
    snprintf(out, sizeof out, "ok %d", (int)c);
    reply(out);
  } else if (!strcmp(op, "exit")) {
    reply("ok");
    _exit(0);
  } else {
    reply("bad op");
  }
}

int main(int argc, char **argv) {
  if (argc != 3) { dprintf(2, "usage: mm_host CMD_FIFO RES_FIFO\n"); return 2; }
  alarm(300);
  /* No transparent huge pages (uffdlab has none), whatever the host's THP mode; forks inherit it. */
  (void)prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
  rd_in.fd = open(argv[1], O_RDONLY);
  if (rd_in.fd < 0) die("open command fifo");
  out_fd = open(argv[2], O_WRONLY);
  if (out_fd < 0) die("open result fifo");
  for (int i = 1; i < MAXP; i++) {
    if (pipe(cmdp[i]) || pipe(resp[i])) die("pipe");
    rd_res[i].fd = resp[i][0];
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sig;
  sa.sa_flags = SA_NODEFER;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  snapshot_forbidden();
  for (;;) {
    static char cmdline[sizeof line];
    char *got = readline(&rd_in);
    if (!got) break;
    /* readline's buffer is reused for the forwarded answer below: work on a copy. */
    snprintf(cmdline, sizeof cmdline, "%s", got);
    char *l = cmdline, *p = l;
    int target = (int)strtol(p, &p, 10);
    if (self == 0 && target != 0) {
      /* Forward to process `target` and relay its answer. */
      if (target < 0 || target >= MAXP || !pids[target]) { reply("bad process"); continue; }
      size_t n = strlen(l);
      l[n] = '\n';
      writeall(cmdp[target][1], l, n + 1);
      l[n] = 0;
      int is_fork = strstr(p, "fork") != NULL, is_exit = strstr(p, "exit") != NULL;
      char *r = readline(&rd_res[target]);
      if (!r) die("child gone");
      if (is_fork) {
        int j = 0;
        sscanf(p, " fork %d", &j);
        if (j > 0 && j < MAXP && !strncmp(r, "ok ", 3)) pids[j] = (pid_t)atoi(r + 3);
      }
      if (is_exit) pids[target] = 0;
      static char copy[sizeof line];
      snprintf(copy, sizeof copy, "%s", r);
      reply(copy);
      continue;
    }
    serve(p);
  }
  if (self == 0) {
    for (int i = 1; i < MAXP; i++) if (pids[i]) kill(pids[i], SIGKILL);
    while (wait(NULL) > 0 || errno == EINTR) {}
  }
  return 0;
}
