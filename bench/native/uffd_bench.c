// The host kernel's userfaultfd round trip, for bench/uffd-roundtrip.ts (bench/native.ts
// compiles this with `cc -O2 -pthread` at run time and parses what it prints).
//
// One operation = one round trip: a faulter pthread reads one byte of a never-touched page
// of a MISSING-registered private anonymous region (MADV_NOHUGEPAGE) → the kernel queues a
// uffd_msg and puts the faulter to sleep → the main thread read()s the message → UFFDIO_COPY
// of one page from a prepared source buffer (or UFFDIO_ZEROPAGE), which wakes the faulter →
// the faulter's load completes. The faulter times its own batches (`batch` faults in a row);
// mmap, UFFDIO_REGISTER and munmap happen between batches, outside the timer. The fd is
// created with UFFD_USER_MODE_ONLY (userfaultfd(2), else /dev/userfaultfd's
// USERFAULTFD_IOC_NEW), so no privilege is needed.
//
// Modes (each a key of the JSON output):
//   copy_same_cpu      faulter and handler pinned to one CPU, blocking read(): the
//                      kernel's own minimum (a context switch each way, no IPI, no idle wake)
//   zeropage_same_cpu  the same with UFFDIO_ZEROPAGE instead of UFFDIO_COPY
//   copy_cross_cpu     faulter and handler on two CPUs, O_NONBLOCK fd, the handler spinning
//                      on read() (EAGAIN): the set-up of uffdlab's worker row (a worker
//                      faulting, the main thread polling); skipped with one CPU
//   shmem_copy_same_cpu      as copy_same_cpu on a memfd mapped MAP_SHARED (MISSING + COPY)
//   shmem_continue_same_cpu  a memfd mapped twice: the whole region written through the
//                      unregistered alias first (untimed), the other mapping registered MINOR;
//                      each fault is a MINOR message resolved by UFFDIO_CONTINUE. These two are
//                      the host's comparison for uffdlab's guest_memfd rows: 6.18 cannot
//                      register a guest_memfd mapping (MISSING/MINOR need the series).
//
//   bulk_copy_64k, bulk_copy_2m   throughput of UFFDIO_COPY itself: a MISSING-registered
//                      private anonymous region of <bulk_region_pages> is filled by UFFDIO_COPY in
//                      chunks of 64 KiB / 2 MiB from a resident source; one operation = one chunk
//                      (no faults: nothing touches the region). mmap, register and munmap are
//                      outside the timer.
//
// If no userfaultfd can be created, prints {"skipped":"<reason>"} and exits 0.
//
// usage: uffd_bench <region_pages> <batch> <samples> <warmup_ms> <bulk_region_pages> <bulk_samples>
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif

#define PATTERN 0x5a

/** Memory kinds of a mode's regions. */
enum kind { ANON, SHMEM_MISSING, SHMEM_MINOR };

static long page;
static long region_pages, batch, samples;
static uint64_t warmup_ns;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "uffd_bench: %s: %s\n", what, strerror(errno));
  exit(1);
}

static long arg(char **argv, int i) {
  char *end;
  long v = strtol(argv[i], &end, 10);
  if (*end || v <= 0) {
    fprintf(stderr, "uffd_bench: bad argument %d: %s\n", i, argv[i]);
    exit(2);
  }
  return v;
}

/** A userfaultfd with UFFDIO_API done, or -1 with *why set. */
static int new_uffd(int flags, const char **why) {
  static char buf[200];
  int fd = (int)syscall(SYS_userfaultfd, flags | UFFD_USER_MODE_ONLY);
  if (fd < 0) {
    int e1 = errno;
    int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
    if (dev < 0) {
      snprintf(buf, sizeof buf, "userfaultfd(UFFD_USER_MODE_ONLY): %s; /dev/userfaultfd: %s", strerror(e1), strerror(errno));
      *why = buf;
      return -1;
    }
    fd = ioctl(dev, USERFAULTFD_IOC_NEW, flags | UFFD_USER_MODE_ONLY);
    int e2 = errno;
    close(dev);
    if (fd < 0) {
      snprintf(buf, sizeof buf, "userfaultfd(UFFD_USER_MODE_ONLY): %s; USERFAULTFD_IOC_NEW: %s", strerror(e1), strerror(e2));
      *why = buf;
      return -1;
    }
  }
  struct uffdio_api api = { .api = UFFD_API, .features = 0 };
  if (ioctl(fd, UFFDIO_API, &api)) {
    snprintf(buf, sizeof buf, "UFFDIO_API: %s", strerror(errno));
    *why = buf;
    close(fd);
    return -1;
  }
  return fd;
}

static void pin(int cpu) {
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  if (pthread_setaffinity_np(pthread_self(), sizeof s, &s)) die("pthread_setaffinity_np");
}

// ---- one mode's run: the main thread handles, a faulter pthread touches ----

enum cmd { CMD_NONE, CMD_WARM, CMD_TIMED, CMD_STOP };

struct run {
  int uffd, zeropage, spin, faulter_cpu;
  enum kind kind;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  enum cmd cmd;      // set by main, cleared by the faulter when it took it
  char *region;      // the region of the current command
  int region_done;   // set by the faulter when it touched the whole region
  uint64_t *ns;      // per timed batch
  long n;            // timed batches done
  long bad_values;   // bytes read that were not what the fill put there
};

static void *faulter(void *p) {
  struct run *r = p;
  pin(r->faulter_cpu);
  const char want = r->zeropage ? 0 : PATTERN;
  for (;;) {
    pthread_mutex_lock(&r->mu);
    while (r->cmd == CMD_NONE) pthread_cond_wait(&r->cv, &r->mu);
    enum cmd c = r->cmd;
    r->cmd = CMD_NONE;
    volatile char *region = r->region;
    pthread_mutex_unlock(&r->mu);
    if (c == CMD_STOP) return NULL;
    for (long b = 0; b < region_pages; b += batch) {
      volatile char *q = region + b * page;
      long bad = 0;
      uint64_t t0 = now_ns();
      for (long i = 0; i < batch; i++) bad += q[i * page] != want;
      uint64_t t1 = now_ns();
      if (c == CMD_TIMED && r->n < samples) r->ns[r->n++] = t1 - t0;
      r->bad_values += bad;
    }
    pthread_mutex_lock(&r->mu);
    r->region_done = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
  }
}

/** Serve region_pages faults on `region`, then wait for the faulter to finish it. Returns messages read. */
static long serve(struct run *r, char *region, const char *src) {
  struct uffd_msg msgs[16];
  long handled = 0, nmsg = 0;
  while (handled < region_pages) {
    ssize_t got = read(r->uffd, msgs, sizeof msgs);
    if (got < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      die("read(userfaultfd)");
    }
    for (long i = 0; i < got / (ssize_t)sizeof msgs[0]; i++) {
      nmsg++;
      if (msgs[i].event != UFFD_EVENT_PAGEFAULT) continue;
      unsigned long addr = (unsigned long)msgs[i].arg.pagefault.address & ~(unsigned long)(page - 1);
      int rc;
      if (r->kind == SHMEM_MINOR) {
        struct uffdio_continue c = { .range = { .start = addr, .len = (unsigned long)page }, .mode = 0 };
        rc = ioctl(r->uffd, UFFDIO_CONTINUE, &c);
      } else if (r->zeropage) {
        struct uffdio_zeropage z = { .range = { .start = addr, .len = (unsigned long)page }, .mode = 0 };
        rc = ioctl(r->uffd, UFFDIO_ZEROPAGE, &z);
      } else {
        struct uffdio_copy c = { .dst = addr, .src = (unsigned long)src, .len = (unsigned long)page, .mode = 0 };
        rc = ioctl(r->uffd, UFFDIO_COPY, &c);
      }
      if (rc && errno != EEXIST) die(r->kind == SHMEM_MINOR ? "UFFDIO_CONTINUE" : r->zeropage ? "UFFDIO_ZEROPAGE" : "UFFDIO_COPY");
      handled++;
    }
  }
  pthread_mutex_lock(&r->mu);
  while (!r->region_done) pthread_cond_wait(&r->cv, &r->mu);
  pthread_mutex_unlock(&r->mu);
  (void)region;
  return nmsg;
}

static void command(struct run *r, enum cmd c, char *region) {
  pthread_mutex_lock(&r->mu);
  r->cmd = c;
  r->region = region;
  r->region_done = 0;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

/** Runs one mode and prints `"name":{...}`. */
static void run_mode(const char *name, enum kind kind, int zeropage, int spin, int handler_cpu, int faulter_cpu, const char *src, int first) {
  const char *why = NULL;
  struct run r = { .zeropage = zeropage, .spin = spin, .faulter_cpu = faulter_cpu, .cmd = CMD_NONE, .kind = kind };
  r.uffd = new_uffd(O_CLOEXEC | (spin ? O_NONBLOCK : 0), &why);
  if (r.uffd < 0) {
    fprintf(stderr, "uffd_bench: %s\n", why);
    exit(1);
  }
  r.ns = calloc((size_t)samples, sizeof *r.ns);
  if (!r.ns) die("calloc");
  memset(r.ns, 0xff, (size_t)samples * sizeof *r.ns);
  pthread_mutex_init(&r.mu, NULL);
  pthread_cond_init(&r.cv, NULL);
  pin(handler_cpu);
  pthread_t th;
  if (pthread_create(&th, NULL, faulter, &r)) die("pthread_create");

  size_t len = (size_t)region_pages * (size_t)page;
  long timed_msgs = 0, timed_pages = 0;
  uint64_t warm_end = now_ns() + warmup_ns;
  for (int warm = 1;;) {
    if (warm && now_ns() >= warm_end) warm = 0;
    if (!warm && r.n >= samples) break;
    char *p, *alias = NULL;
    int mfd = -1;
    if (kind == ANON) {
      p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    } else {
      mfd = (int)syscall(SYS_memfd_create, "uffd_bench", 0);
      if (mfd < 0 || ftruncate(mfd, (off_t)len)) die("memfd");
      p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
      if (kind == SHMEM_MINOR) {
        alias = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
        if (alias == MAP_FAILED) die("mmap alias");
        memset(alias, PATTERN, len);
      }
    }
    if (p == MAP_FAILED) die("mmap");
#ifdef MADV_NOHUGEPAGE
    madvise(p, len, MADV_NOHUGEPAGE);
#endif
    struct uffdio_register reg = { .range = { .start = (unsigned long)p, .len = len },
                                   .mode = kind == SHMEM_MINOR ? UFFDIO_REGISTER_MODE_MINOR : UFFDIO_REGISTER_MODE_MISSING };
    if (ioctl(r.uffd, UFFDIO_REGISTER, &reg)) die("UFFDIO_REGISTER");
    command(&r, warm ? CMD_WARM : CMD_TIMED, p);
    long m = serve(&r, p, src);
    if (!warm) {
      timed_msgs += m;
      timed_pages += region_pages;
    }
    if (munmap(p, len)) die("munmap");
    if (alias && munmap(alias, len)) die("munmap alias");
    if (mfd >= 0) close(mfd);
  }
  command(&r, CMD_STOP, NULL);
  pthread_join(th, NULL);
  close(r.uffd);

  // pages: pages of the regions used for timed batches (all touched); messages: read for them.
  printf("%s\"%s\":{\"batch\":%ld,\"same_cpu\":%s,\"handler\":\"%s\",\"pages\":%ld,\"messages\":%ld,\"bad_values\":%ld,\"batch_ns\":[",
         first ? "" : ",", name, batch, handler_cpu == faulter_cpu ? "true" : "false",
         spin ? "O_NONBLOCK read() spin" : "blocking read()", timed_pages, timed_msgs, r.bad_values);
  for (long i = 0; i < samples; i++) printf(i ? ",%llu" : "%llu", (unsigned long long)r.ns[i]);
  printf("]}");
  free(r.ns);
}

/** bulk_copy_*: UFFDIO_COPY of `chunk` bytes at a time into a MISSING-registered region; prints `,"name":{...}`. */
static void run_bulk(const char *name, size_t chunk, long bulk_pages, long bulk_samples) {
  const char *why = NULL;
  int uffd = new_uffd(O_CLOEXEC, &why);
  if (uffd < 0) {
    fprintf(stderr, "uffd_bench: %s\n", why);
    exit(1);
  }
  size_t len = (size_t)bulk_pages * (size_t)page;
  if (len % chunk) {
    fprintf(stderr, "uffd_bench: bulk_region_pages must be a multiple of the chunk\n");
    exit(2);
  }
  char *src = mmap(NULL, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (src == MAP_FAILED) die("mmap bulk source");
  memset(src, PATTERN, chunk);
  uint64_t *ns = calloc((size_t)bulk_samples, sizeof *ns);
  if (!ns) die("calloc");
  memset(ns, 0xff, (size_t)bulk_samples * sizeof *ns);
  long n = 0, bad = 0;
  uint64_t warm_end = now_ns() + warmup_ns;
  for (int warm = 1; warm || n < bulk_samples;) {
    if (warm && now_ns() >= warm_end) warm = 0;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) die("mmap bulk region");
#ifdef MADV_NOHUGEPAGE
    madvise(p, len, MADV_NOHUGEPAGE);
#endif
    struct uffdio_register reg = { .range = { .start = (unsigned long)p, .len = len }, .mode = UFFDIO_REGISTER_MODE_MISSING };
    if (ioctl(uffd, UFFDIO_REGISTER, &reg)) die("UFFDIO_REGISTER");
    for (size_t off = 0; off < len && (warm || n < bulk_samples); off += chunk) {
      struct uffdio_copy c = { .dst = (unsigned long)(p + off), .src = (unsigned long)src, .len = chunk, .mode = 0 };
      uint64_t t0 = now_ns();
      if (ioctl(uffd, UFFDIO_COPY, &c)) die("UFFDIO_COPY");
      uint64_t t1 = now_ns();
      if (!warm) {
        ns[n++] = t1 - t0;
        if (p[off] != PATTERN || p[off + chunk - 1] != PATTERN) bad++;
      }
    }
    if (munmap(p, len)) die("munmap");
  }
  close(uffd);
  munmap(src, chunk);
  printf(",\"%s\":{\"chunk\":%zu,\"bad_values\":%ld,\"batch_ns\":[", name, chunk, bad);
  for (long i = 0; i < bulk_samples; i++) printf(i ? ",%llu" : "%llu", (unsigned long long)ns[i]);
  printf("]}");
  free(ns);
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: %s region_pages batch samples warmup_ms bulk_region_pages bulk_samples\n", argv[0]);
    return 2;
  }
  region_pages = arg(argv, 1);
  batch = arg(argv, 2);
  samples = arg(argv, 3);
  warmup_ns = (uint64_t)arg(argv, 4) * 1000000u;
  long bulk_pages = arg(argv, 5), bulk_samples = arg(argv, 6);
  page = sysconf(_SC_PAGESIZE);
  if (region_pages % batch) {
    fprintf(stderr, "uffd_bench: region_pages must be a multiple of batch\n");
    return 2;
  }
  const char *why = NULL;
  int probe = new_uffd(O_CLOEXEC, &why);
  if (probe < 0) {
    printf("{\"skipped\":\"");
    for (const char *c = why; *c; c++) putchar(*c == '"' ? '\'' : *c);
    printf("\"}\n");
    return 0;
  }
  close(probe);

  char *src = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (src == MAP_FAILED) die("mmap");
  memset(src, PATTERN, (size_t)page);

  // The CPUs this process may run on: the first two.
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed)) die("sched_getaffinity");
  int cpus[2] = { -1, -1 }, ncpu = 0;
  for (int c = 0; c < CPU_SETSIZE && ncpu < 2; c++) if (CPU_ISSET(c, &allowed)) cpus[ncpu++] = c;

  printf("{\"page_size\":%ld,\"region_pages\":%ld,", page, region_pages);
  run_mode("copy_same_cpu", ANON, 0, 0, cpus[0], cpus[0], src, 1);
  run_mode("zeropage_same_cpu", ANON, 1, 0, cpus[0], cpus[0], src, 0);
  if (ncpu >= 2) run_mode("copy_cross_cpu", ANON, 0, 1, cpus[0], cpus[1], src, 0);
  else printf(",\"copy_cross_cpu\":{\"skipped\":\"only one CPU available\"}");
  run_mode("shmem_copy_same_cpu", SHMEM_MISSING, 0, 0, cpus[0], cpus[0], src, 0);
  run_mode("shmem_continue_same_cpu", SHMEM_MINOR, 0, 0, cpus[0], cpus[0], src, 0);
  pin(cpus[0]);
  run_bulk("bulk_copy_64k", 64 << 10, bulk_pages, bulk_samples);
  run_bulk("bulk_copy_2m", 2 << 20, bulk_pages, bulk_samples);
  printf("}\n");
  return 0;
}
