/*
 * The workload of the real-guest benchmark (qemu_bench_test), the same
 * as the one behind the COLO figures in Documentation/bench.rst (the
 * team's measurements of COLO on this testbed).  Static, in the guest's
 * initramfs (selftests/testbed/guest.sh); init runs it for cuju_job=wl.
 */
/*
 * wl - guest workload for peer measurements (innermost guest, static binary).
 *
 * Does CPU work in fixed-size units and dirties memory at a controlled rate:
 *   wl [rate=PAGES_PER_S] [wss=MIB] [unit=ITERS] [secs=N] [stride=BYTES]
 *     rate   pages (4 KiB) dirtied per second of guest time; 0 = pure CPU
 *     wss    working set in MiB that the dirtying walks cyclically
 *     unit   xorshift iterations per work unit (default 2000)
 *     secs   stop after N seconds (0 = run forever)
 * Arguments may also come from /proc/cmdline as wl.rate=... etc (when the
 * program is /init's job, see ../build.sh); command-line args win.
 *
 * Once a second (guest CLOCK_MONOTONIC) it prints one line:
 *   WL seq=<n> t=<guest s> units=<units this interval> ups=<units/s>
 *      dirty=<pages this interval> dps=<pages/s> total=<units since start>
 * "total" lets an observer with a wall clock (the test host timestamps each
 * line) compute the rate over wall time, which matters because kvmclock does
 * not advance while QEMU has the VM stopped (migration downtime, COLO
 * checkpoints): guest-time rates hide pauses, wall-time rates show them.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/mman.h>

#define PAGE 4096UL

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t rate = 0, wss_mib = 64, unit = 2000, secs = 0;

static void parse_kv(const char *s)
{
	if (!strncmp(s, "wl.", 3))
		s += 3;
	if (!strncmp(s, "rate=", 5)) rate = strtoull(s + 5, NULL, 0);
	else if (!strncmp(s, "wss=", 4)) wss_mib = strtoull(s + 4, NULL, 0);
	else if (!strncmp(s, "unit=", 5)) unit = strtoull(s + 5, NULL, 0);
	else if (!strncmp(s, "secs=", 5)) secs = strtoull(s + 5, NULL, 0);
}

static void parse_cmdline(void)
{
	char buf[4096];
	int fd = open("/proc/cmdline", O_RDONLY);
	ssize_t n;
	char *tok, *save;

	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		if (!strncmp(tok, "wl.", 3))
			parse_kv(tok);
}

int main(int argc, char **argv)
{
	volatile uint64_t sink = 0;
	uint64_t x = 88172645463325252ULL;
	uint64_t npages, pidx = 0, dirtied = 0, units = 0, total = 0;
	uint64_t last_units = 0, last_dirtied = 0, seq = 0;
	uint64_t t0, tnext, tlast, t;
	unsigned char *mem;
	char line[256];
	int i;

	parse_cmdline();
	for (i = 1; i < argc; i++)
		parse_kv(argv[i]);
	if (wss_mib == 0)
		wss_mib = 1;
	npages = wss_mib * 1024 * 1024 / PAGE;
	mem = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (mem == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (uint64_t p = 0; p < npages; p++)
		mem[p * PAGE] = (unsigned char)p;	/* fault everything in */

	snprintf(line, sizeof(line),
		 "WL start rate=%llu wss=%llu unit=%llu secs=%llu\n",
		 (unsigned long long)rate, (unsigned long long)wss_mib,
		 (unsigned long long)unit, (unsigned long long)secs);
	write(1, line, strlen(line));

	t0 = tlast = now_ns();
	tnext = t0 + 1000000000ULL;
	for (;;) {
		t = now_ns();
		if (rate) {
			/* pages owed since start; never more than 1 s backlog */
			uint64_t owed = (t - t0) / 1000 * rate / 1000000;
			if (owed > dirtied + rate)
				dirtied = owed - rate;
			while (dirtied < owed) {
				/* one 8-byte write per page, different offset each lap */
				uint64_t off = pidx % npages * PAGE + (pidx / npages * 64) % PAGE;
				*(volatile uint64_t *)(mem + off) = x + pidx;
				pidx++;
				dirtied++;
			}
		}
		/* one work unit: pure register arithmetic */
		for (uint64_t k = 0; k < unit; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
		sink = x;
		units++;
		total++;
		if (t >= tnext) {
			double dt = (t - tlast) / 1e9;
			uint64_t du = units - last_units, dd = dirtied - last_dirtied;
			int len = snprintf(line, sizeof(line),
				"WL seq=%llu t=%.3f units=%llu ups=%.0f dirty=%llu dps=%.0f total=%llu\n",
				(unsigned long long)++seq, (t - t0) / 1e9,
				(unsigned long long)du, du / dt,
				(unsigned long long)dd, dd / dt,
				(unsigned long long)total);
			write(1, line, len);
			last_units = units;
			last_dirtied = dirtied;
			tlast = t;
			tnext += 1000000000ULL;
			if (tnext < t)
				tnext = t + 1000000000ULL;
			if (secs && t - t0 >= secs * 1000000000ULL)
				break;
		}
	}
	(void)sink;
	return 0;
}
