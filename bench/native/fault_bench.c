// The host kernel's side of uffdlab's benchmarks (bench/native.ts compiles this with
// `cc -O2` at run time and parses what it prints).
//
// Two scenarios, measured the same way as bench/anon-write-fault.ts and bench/translate.ts:
//
//   anon_write_fault  first-touch write fault on private anonymous memory: mmap a region
//                     (MAP_PRIVATE | MAP_ANONYMOUS, MADV_NOHUGEPAGE so every 4 KiB page
//                     faults), write one byte per page, `batch` pages per timed sample,
//                     munmap when the region is used up. mmap/munmap are outside the timer.
//   resident_load     a load from a page that is already mapped and written: a dependent
//                     pointer chase through `chase_pages` pages, read through a volatile
//                     pointer so the compiler can neither hoist nor drop a load.
//
// Calibration (the same basics on every machine, so figures from different machines compare):
//   getpid_ns         one getpid(2) through syscall(2): the cost of entering the kernel
//   memcpy_4k_ns      one 4 KiB memcpy between resident pages
// each the median of 101 batches of 1000, per operation.
//
// Each sample is one clock_gettime(CLOCK_MONOTONIC) pair around one batch. The output is one
// JSON object on stdout with the raw per-batch nanoseconds; the statistics are computed on
// the TypeScript side with the same code as uffdlab's own samples.
//
// Before each scenario's timed loop the same work runs untimed for at least <warmup_ms>.
//
// usage: fault_bench <region_pages> <fault_batch> <fault_samples> <chase_pages> <load_batch> <load_samples> <warmup_ms>
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/** Where the pointer chase's last value goes, so the chase is observable. */
volatile uintptr_t chase_sink;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long minflt(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_minflt;
}

static void die(const char *what) {
  fprintf(stderr, "fault_bench: %s: %s\n", what, strerror(errno));
  exit(1);
}

static long arg(char **argv, int i) {
  char *end;
  long v = strtol(argv[i], &end, 10);
  if (*end || v <= 0) {
    fprintf(stderr, "fault_bench: bad argument %d: %s\n", i, argv[i]);
    exit(2);
  }
  return v;
}

static char *map_region(size_t len) {
  char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("mmap");
#ifdef MADV_NOHUGEPAGE
  // One fault per 4 KiB page, as in uffdlab (which has no huge pages): keep THP out even
  // when /sys/kernel/mm/transparent_hugepage/enabled is "always".
  madvise(p, len, MADV_NOHUGEPAGE);
#endif
  return p;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/** Median over 101 batches of `fn` run 1000 times, in ns per call (fractional). */
static double calibrate(void (*fn)(void)) {
  enum { BATCHES = 101, OPS = 1000 };
  uint64_t t[BATCHES];
  for (int i = 0; i < OPS; i++) fn(); // warm
  for (int b = 0; b < BATCHES; b++) {
    uint64_t t0 = now_ns();
    for (int i = 0; i < OPS; i++) fn();
    t[b] = now_ns() - t0;
  }
  qsort(t, BATCHES, sizeof t[0], cmp_u64);
  return (double)t[BATCHES / 2] / OPS;
}

static void call_getpid(void) { (void)syscall(SYS_getpid); }
static char copy_src[4096] __attribute__((aligned(64))), copy_dst[4096] __attribute__((aligned(64)));
static void call_memcpy(void) {
  memcpy(copy_dst, copy_src, sizeof copy_dst);
  __asm__ volatile("" : : "r"(copy_dst) : "memory"); // the copy is observable
}

static void print_samples(const char *name, const uint64_t *s, long n) {
  printf("\"%s\":[", name);
  for (long i = 0; i < n; i++) printf(i ? ",%llu" : "%llu", (unsigned long long)s[i]);
  printf("]");
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: %s region_pages fault_batch fault_samples chase_pages load_batch load_samples warmup_ms\n", argv[0]);
    return 2;
  }
  long region_pages = arg(argv, 1), fault_batch = arg(argv, 2), fault_samples = arg(argv, 3);
  long chase_pages = arg(argv, 4), load_batch = arg(argv, 5), load_samples = arg(argv, 6);
  uint64_t warmup_ns = (uint64_t)arg(argv, 7) * 1000000u;
  long page = sysconf(_SC_PAGESIZE);
  if (region_pages % fault_batch) {
    fprintf(stderr, "fault_bench: region_pages must be a multiple of fault_batch\n");
    return 2;
  }
  size_t region_len = (size_t)region_pages * (size_t)page;
  uint64_t *fs = calloc((size_t)fault_samples, sizeof *fs);
  uint64_t *ls = calloc((size_t)load_samples, sizeof *ls);
  if (!fs || !ls) die("calloc");
  memset(fs, 0xff, (size_t)fault_samples * sizeof *fs); // fault the sample arrays in now,
  memset(ls, 0xff, (size_t)load_samples * sizeof *ls);  // not inside the measured loops

  // Timer cost: the smallest of many back-to-back clock reads.
  uint64_t clock_ns = UINT64_MAX;
  for (int i = 0; i < 1000; i++) {
    uint64_t a = now_ns(), b = now_ns();
    if (b - a < clock_ns) clock_ns = b - a;
  }

  memset(copy_src, 1, sizeof copy_src);
  memset(copy_dst, 2, sizeof copy_dst);
  double getpid_ns = calibrate(call_getpid), memcpy_ns = calibrate(call_memcpy);

  // ---- anon_write_fault ----
  // Warm-up: whole regions, untimed, for at least warmup_ms (so the measured faults get
  // pages the allocator has handed out before, as in a process that has been running).
  for (uint64_t end = now_ns() + warmup_ns; now_ns() < end;) {
    volatile char *p = map_region(region_len);
    for (long i = 0; i < region_pages; i++) p[i * page] = 1;
    if (munmap((void *)p, region_len)) die("munmap");
  }
  long flt0 = minflt(), touched = 0;
  for (long n = 0; n < fault_samples;) {
    volatile char *p = map_region(region_len);
    for (long b = 0; b < region_pages && n < fault_samples; b += fault_batch, n++) {
      volatile char *q = p + b * page;
      uint64_t t0 = now_ns();
      for (long i = 0; i < fault_batch; i++) q[i * page] = 1;
      uint64_t t1 = now_ns();
      fs[n] = t1 - t0;
      touched += fault_batch;
    }
    if (munmap((void *)p, region_len)) die("munmap");
  }
  long faults = minflt() - flt0;

  // ---- resident_load ----
  // A cycle through chase_pages pages in a fixed shuffled order, one pointer per page at a
  // different cache line in each (the same layout bench/translate.ts builds in uffdlab).
  char *c = map_region((size_t)chase_pages * (size_t)page);
  memset(c, 0, (size_t)chase_pages * (size_t)page);
  long *order = calloc((size_t)chase_pages, sizeof *order);
  if (!order) die("calloc");
  for (long i = 0; i < chase_pages; i++) order[i] = i;
  uint32_t seed = 12345;
  for (long i = chase_pages - 1; i > 0; i--) {
    seed = seed * 1103515245u + 12345u;
    long j = (long)((seed >> 8) % (uint32_t)(i + 1));
    long t = order[i]; order[i] = order[j]; order[j] = t;
  }
#define SLOT(k) ((void **)(c + order[k] * page + ((order[k] * 64) % page)))
  for (long k = 0; k < chase_pages; k++) *SLOT(k) = (void *)SLOT((k + 1) % chase_pages);
  void *volatile *cur = (void *volatile *)SLOT(0);
  for (uint64_t end = now_ns() + warmup_ns; now_ns() < end;)
    for (long i = 0; i < load_batch; i++) cur = (void *volatile *)*cur; // warm-up
  for (long n = 0; n < load_samples; n++) {
    uint64_t t0 = now_ns();
    for (long i = 0; i < load_batch; i++) cur = (void *volatile *)*cur;
    uint64_t t1 = now_ns();
    ls[n] = t1 - t0;
  }
  chase_sink = (uintptr_t)cur;

  printf("{\"page_size\":%ld,\"clock_overhead_ns\":%llu,", page, (unsigned long long)clock_ns);
  printf("\"calibration\":{\"getpid_ns\":%.2f,\"memcpy_4k_ns\":%.2f},", getpid_ns, memcpy_ns);
  printf("\"anon_write_fault\":{\"region_pages\":%ld,\"batch\":%ld,\"pages_touched\":%ld,\"minor_faults\":%ld,",
         region_pages, fault_batch, touched, faults);
  print_samples("batch_ns", fs, fault_samples);
  printf("},\"resident_load\":{\"chase_pages\":%ld,\"batch\":%ld,", chase_pages, load_batch);
  print_samples("batch_ns", ls, load_samples);
  printf("}}\n");
  return 0;
}
