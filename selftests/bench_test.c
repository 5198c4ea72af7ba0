// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmark (make bench; not part of make check).  On two test hosts,
 * host b runs a guest that does units of work, each unit a fixed amount of
 * computation plus writes to a number of pages (its dirty rate), first
 * with fault tolerance off, then on (paired with host a), in the same hosts
 * and the same run.  Work is counted by the guest in its memory and read
 * by the host on the outer machine's clock: a guest's own clock stops
 * while it is paused, so it would over-report its speed.
 *
 * It prints, per dirty rate: work rate off and on and their ratio, epochs
 * per second, the pause per epoch (p50, p99 from the engine's histogram of
 * powers of two, so each an upper bound, as is the max), pages and bytes per
 * epoch, replication throughput, and KVM's page faults of the guest (most
 * of them, with FT on, write faults on pages re-protected at each epoch,
 * which cost much on this testbed: KVM itself runs under TCG) per second
 * with FT off and on, and per epoch.  Then failover time: on host a, from the
 * backup's verdict (failover_timeout_ms of silence) to the guest running
 * again; the silence itself is the configured timeout.
 *
 * Each variant "passes" when it measured something; the figures are
 * reported, never asserted (speed is not a test).
 */
#include <dirent.h>
#include <linux/kvm_ft.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "counters.h"
#include "pair.h"
#include "run.h"
#include "test.h"
#include "ucall.h"
#include "vmm.h"

#define PORT		"7903"
#define WAIT_S		120
#define MEASURE_S	4
#define WARMUP_S	1
#define FAILOVER_MS	2000
#define EPOCH_MS	10	/* the engine's default epoch_ms */
#define AREA_PAGES	2048	/* 8 MiB the guest writes over, in turn */
#define WORK_ROUNDS	2000	/* xorshift rounds per unit of work */

/* ---- the guest ------------------------------------------------------------ */

static uint8_t area[AREA_PAGES][VMM_PAGE_SIZE] __attribute__((aligned(VMM_PAGE_SIZE)));
static volatile uint64_t units;		/* work done; read by the host */
static volatile uint64_t stop;		/* set by the host */
static volatile uint64_t whole;		/* set by the host: see guest_work() */

/* The next of xorshift64's numbers after @x. */
static uint64_t xorshift(uint64_t x)
{
	x ^= x << 13;
	x ^= x >> 7;
	return x ^ (x << 17);
}

/* All of @page in new numbers: nothing of it is as it was, nothing shrinks. */
static uint64_t fill(volatile uint64_t *page, uint64_t x)
{
	int i;

	for (i = 0; i < VMM_PAGE_SIZE / 8; i++)
		page[i] = x = xorshift(x);
	return x;
}

/*
 * A unit of work; every @every units, it writes @pages pages (in turn),
 * one word of each, or with whole set all of each with numbers of no
 * pattern.
 */
static void guest_work(uint64_t every, uint64_t pages)
{
	uint64_t x = 0x9e3779b97f4a7c15UL, page = 0, k = 0;
	int i;

	while (!stop) {
		for (i = 0; i < WORK_ROUNDS; i++)
			x = xorshift(x);
		if (++k == every) {
			k = 0;
			for (i = 0; i < pages; i++, page++) {
				if (whole)
					x = fill((volatile uint64_t *)area[page % AREA_PAGES], x);
				else
					*(volatile uint64_t *)area[page % AREA_PAGES] = x;
			}
		}
		units = units + 1;
	}
	GUEST_DONE();
}

/* ---- the host ------------------------------------------------------------- */

struct runner {
	struct vcpu *vcpu;
	pthread_t thread;
	pid_t tid;
	bool done;
};

static void *run_guest(void *arg)
{
	struct runner *r = arg;
	struct ucall uc;

	r->tid = gettid();
	r->done = vcpu_run_ucall(r->vcpu, &uc) == UCALL_DONE;
	return NULL;
}

FIXTURE(bench) {
	const char *role, *peer;
	struct vm *vm;
	struct vcpu *vcpu;
	struct monitor mon;
	struct runner run;
	struct ft_counters counters;	/* the engine's */
	int stats;		/* the vCPU's KVM statistics */
	char out[4096];
};

FIXTURE_VARIANT(bench) {
	const char *name;
	uint64_t every, pages;	/* pages written every so many units */
	bool whole;		/* all of each page, in random numbers */
	bool insecure;		/* the link unsealed: what the seal costs */
};

FIXTURE_VARIANT_ADD(bench, light) { .name = "light", .every = 1000, .pages = 1 };
FIXTURE_VARIANT_ADD(bench, medium) { .name = "medium", .every = 10, .pages = 1 };
FIXTURE_VARIANT_ADD(bench, heavy) { .name = "heavy", .every = 1, .pages = 16 };
/* Medium's rate, every page all new: what sending less costs where it cannot. */
FIXTURE_VARIANT_ADD(bench, random) { .name = "random", .every = 10, .pages = 1, .whole = true };
/* The same without the seal (ftnl ... insecure), in the same run. */
FIXTURE_VARIANT_ADD(bench, light_insecure) {
	.name = "light-i", .every = 1000, .pages = 1, .insecure = true,
};
FIXTURE_VARIANT_ADD(bench, medium_insecure) {
	.name = "medium-i", .every = 10, .pages = 1, .insecure = true,
};
FIXTURE_VARIANT_ADD(bench, heavy_insecure) {
	.name = "heavy-i", .every = 1, .pages = 16, .insecure = true,
};

/* The variant's keying, as ftnl's last options (insecure: a NULL ends them). */
#define KEYING(variant)	(variant)->insecure ? "insecure" : "key", \
			(variant)->insecure ? NULL : test_key()

FIXTURE_SETUP(bench)
{
	struct kvm_ft_register r = { .name = "bench", .flags = KVM_FT_F_NO_DEVICE_STATE };

	self->role = getenv("CUJU_ROLE");
	self->peer = getenv("CUJU_PEER");
	ASSERT_NE(NULL, self->role) TH_LOG("run by the test runner on two hosts");
	knob_set("failover_timeout_ms", FAILOVER_MS);
	r.role = strcmp(self->role, "a") ? KVM_FT_ROLE_PRIMARY : KVM_FT_ROLE_BACKUP;
	self->vm = vm_create_with(KVM_MEM_LOG_DIRTY_PAGES);
	self->vcpu = vcpu_add(self->vm, 0, guest_work, variant->every, variant->pages);
	GUEST_VAR(self->vm, whole) = variant->whole;
	self->stats = vcpu_stats_fd(self->vcpu);
	ASSERT_LE(0, self->stats);
	ASSERT_EQ(0, ioctl(self->vm->fd, KVM_FT_REGISTER, &r));
	ASSERT_TRUE(monitor_start(&self->mon));
	ASSERT_TRUE(ft_counters_open(&self->counters));
}

FIXTURE_TEARDOWN(bench)
{
	ft_counters_close(&self->counters);
	pair_teardown(&self->mon, "bench");
	close(self->stats);
	vm_destroy(self->vm);
}

#define EVENT(want) ASSERT_TRUE(monitor_next(&self->mon, want, WAIT_S)) \
	TH_LOG("expected event '%s', got '%s'", want, self->mon.event)

static void guest_start(FIXTURE_DATA(bench) *self)
{
	self->run.vcpu = self->vcpu;
	pthread_create(&self->run.thread, NULL, run_guest, &self->run);
}

static void guest_stop(FIXTURE_DATA(bench) *self)
{
	GUEST_VAR(self->vm, stop) = 1;
	pthread_join(self->run.thread, NULL);
}

/*
 * Units of work per second over MEASURE_S, on the host's clock; and the
 * vCPU's page faults (KVM's pf_taken, and those fixed on its fast path,
 * pf_fast) over the same time, in @pf.
 */
static double work_rate(FIXTURE_DATA(bench) *self, uint64_t pf[2])
{
	uint64_t u0 = GUEST_VAR(self->vm, units);
	uint64_t taken = stats_read(self->stats, "pf_taken");
	uint64_t fast = stats_read(self->stats, "pf_fast");
	double t0 = ft_now();

	sleep(MEASURE_S);
	pf[0] = stats_read(self->stats, "pf_taken") - taken;
	pf[1] = stats_read(self->stats, "pf_fast") - fast;
	return (GUEST_VAR(self->vm, units) - u0) / (ft_now() - t0);
}

/*
 * Where the host's CPU goes over a window: the run time the scheduler
 * counted (schedstat, exact) of the vCPU's thread (the guest's time and
 * its exits), the engine's threads, the softirq threads, the kworkers;
 * the rest is interrupts, other tasks and idle.  One CPU per test host
 * here, so these add up to at most the window.
 */
#define CPU_TASKS	64

struct cpu_use {
	int n;
	pid_t tid[CPU_TASKS];
	char comm[CPU_TASKS][32];
	unsigned long long ns[CPU_TASKS];
	double t;
};

static unsigned long long run_ns(pid_t tid)
{
	unsigned long long ns = 0;
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", tid);
	f = fopen(path, "r");
	if (f && fscanf(f, "%llu", &ns) != 1)
		ns = 0;
	if (f)
		fclose(f);
	return ns;
}

static void cpu_task(struct cpu_use *c, pid_t tid, const char *comm)
{
	if (c->n == CPU_TASKS)
		return;
	c->tid[c->n] = tid;
	snprintf(c->comm[c->n], sizeof(c->comm[0]), "%s", comm);
	c->ns[c->n++] = run_ns(tid);
}

/* The engine's kthreads, the softirq threads and kworkers, and the vCPU's thread. */
static void cpu_start(struct cpu_use *c, pid_t vcpu)
{
	char path[300], comm[32];
	struct dirent *d;
	DIR *dir = opendir("/proc");
	FILE *f;

	c->n = 0;
	cpu_task(c, vcpu, "vCPU");
	while (dir && (d = readdir(dir))) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f)) {
			comm[strcspn(comm, "\n")] = 0;
			if (!strncmp(comm, "kvm_ft", 6) || !strncmp(comm, "ksoftirqd", 9) ||
			    !strncmp(comm, "kworker", 7))
				cpu_task(c, atoi(d->d_name), comm);
		}
		fclose(f);
	}
	if (dir)
		closedir(dir);
	c->t = ft_now();
}

/* Their run time since cpu_start(), in ms: the engine's each, the rest summed. */
static void cpu_report(const char *name, const struct cpu_use *c)
{
	double dt = ft_now() - c->t, ms, kworkers = 0, all = 0;
	int i;

	printf("# bench %-6s cpu over %.1f s:", name, dt);
	for (i = 0; i < c->n; i++) {
		ms = (run_ns(c->tid[i]) - c->ns[i]) / 1e6;
		all += ms;
		if (!strncmp(c->comm[i], "kworker", 7))
			kworkers += ms;
		else
			printf(" %s %.0f ms,", c->comm[i], ms);
	}
	printf(" kworkers %.0f ms; other and idle %.0f ms\n", kworkers, dt * 1000 - all);
}

/*
 * CUJU_BENCH_ONLY="<variant> ..." runs those variants' work rates alone:
 * for a developer's wrapper script in the tests directory (the runner
 * passes no such variable), to measure one change quickly.
 */
static bool left_out(const char *variant)
{
	const char *only = getenv("CUJU_BENCH_ONLY"), *p;
	size_t n = variant ? strlen(variant) : 0;

	if (!only)
		return false;
	for (p = only; variant && (p = strstr(p, variant)); p += n)
		if ((p == only || p[-1] == ' ') && (!p[n] || p[n] == ' '))
			return false;
	return true;
}

/*
 * The floor under any epoch: KVM's dirty log alone, no engine.  The VMM
 * takes it every epoch length (KVM_GET_DIRTY_LOG, which write-protects the
 * pages again), so each page the guest dirties faults once an epoch, as it
 * does under the engine.
 */
struct harvester {
	struct vm *vm;
	pthread_t thread;
	volatile bool stop;
	uint64_t rounds, pages;
};

static void *harvest(void *arg)
{
	struct harvester *h = arg;
	struct vmm_slot *slot = &h->vm->slots[0];
	size_t words = (slot->size / VMM_PAGE_SIZE + 63) / 64, i;
	uint64_t *bitmap = calloc(words, sizeof(*bitmap));

	while (bitmap && !h->stop) {
		usleep(EPOCH_MS * 1000);
		vm_get_dirty_log(h->vm, slot->id, bitmap);
		for (i = 0; i < words; i++)
			h->pages += __builtin_popcountll(bitmap[i]);
		h->rounds++;
	}
	free(bitmap);
	return NULL;
}

/* Units of work per second with the dirty log taken every EPOCH_MS. */
static double log_rate(FIXTURE_DATA(bench) *self, const char *name, double off)
{
	struct harvester h = { .vm = self->vm };
	uint64_t pf[2];
	double rate;

	pthread_create(&h.thread, NULL, harvest, &h);
	sleep(WARMUP_S);
	h.pages = h.rounds = 0;
	rate = work_rate(self, pf);
	h.stop = true;
	pthread_join(h.thread, NULL);
	printf("# bench %-6s dirty log alone, taken every %d ms: %.0f units/s, ratio %.2f, "
	       "%.1f pages a take, %.0f faults/s\n", name, EPOCH_MS, rate, off ? rate / off : 0,
	       h.rounds ? (double)h.pages / h.rounds : 0, pf[0] / (double)MEASURE_S);
	return rate;
}

static void report(const FIXTURE_VARIANT(bench) *variant, double off, double on,
		   const struct ft_sample *a, const struct ft_sample *b,
		   const uint64_t pf_off[2], const uint64_t pf_on[2])
{
	double dt = b->t - a->t, n = b->epochs - a->epochs;

	printf("# bench %-6s %lu page(s) every %lu units: work off %.0f units/s, "
	       "on %.0f units/s, ratio %.2f\n", variant->name, (unsigned long)variant->pages,
	       (unsigned long)variant->every, off, on, off ? on / off : 0);
	printf("# bench %-6s epochs %.1f/s, pause p50 <= %llu us, p99 <= %llu us, "
	       "max <= %llu us, mean %.0f us\n", variant->name, n / dt,
	       ft_pause_percentile(a, b, 0.5), ft_pause_percentile(a, b, 0.99),
	       ft_pause_percentile(a, b, 1.0),
	       n ? (b->pause_ns - a->pause_ns) / n / 1000 : 0);
	printf("# bench %-6s pages/epoch %.1f, bytes/epoch %.0f, throughput %.2f MB/s, "
	       "stalls %llu\n", variant->name, n ? (b->pages - a->pages) / n : 0,
	       n ? (b->bytes - a->bytes) / n : 0, (b->bytes - a->bytes) / dt / 1e6,
	       b->stalls - a->stalls);
	printf("# bench %-6s page faults off %.0f/s, on %.0f/s (%.0f%% fast path), "
	       "%.1f per epoch\n", variant->name, pf_off[0] / (double)MEASURE_S,
	       pf_on[0] / (double)MEASURE_S, pf_on[0] ? 100.0 * pf_on[1] / pf_on[0] : 0,
	       n ? pf_on[0] / n : 0);
}

TEST_F(bench, work_rate_off_and_on)
{
	uint64_t pf_off[2], pf_on[2];
	struct ft_sample a, b;
	struct cpu_use cpu;
	double off, on;

	if (left_out(variant->name))
		return;
	if (!strcmp(self->role, "a")) {
		ASSERT_EQ(0, FTNL(self->out, "listen", "bench", "0.0.0.0", PORT, KEYING(variant)))
			TH_LOG("%s", self->out);
		EVENT("bench: linked");
		EVENT("bench: peer lost (closed)");	/* b is done */
		ASSERT_EQ(0, FTNL(self->out, "stop", "bench"));
		return;
	}
	guest_start(self);
	sleep(WARMUP_S);
	cpu_start(&cpu, self->run.tid);
	off = work_rate(self, pf_off);
	cpu_report(variant->name, &cpu);
	if (!variant->insecure)
		EXPECT_LT(0, log_rate(self, variant->name, off));

	ASSERT_EQ(0, FTNL(self->out, "pair", "bench", self->peer, PORT, KEYING(variant)))
		TH_LOG("%s", self->out);
	EVENT("bench: linked");
	EVENT("bench: synced");
	sleep(WARMUP_S);
	cpu_start(&cpu, self->run.tid);
	ASSERT_EQ(0, ft_sample(&self->counters, "bench", &a));
	on = work_rate(self, pf_on);
	ASSERT_EQ(0, ft_sample(&self->counters, "bench", &b));
	report(variant, off, on, &a, &b, pf_off, pf_on);
	cpu_report(variant->name, &cpu);
	EXPECT_LT(0, b.epochs - a.epochs);
	EXPECT_LT(0, on);
	EXPECT_EQ(0, FTNL(self->out, "stop", "bench")) TH_LOG("%s", self->out);
	guest_stop(self);
	EXPECT_TRUE(self->run.done);
}

TEST_F(bench, failover_time)
{
	double lost, running;
	uint64_t u0;

	if (strcmp(variant->name, "light") || left_out(NULL))
		return;		/* once is enough, sealed */
	if (!strcmp(self->role, "a")) {
		ASSERT_EQ(0, FTNL(self->out, "listen", "bench", "0.0.0.0", PORT, TEST_KEY))
			TH_LOG("%s", self->out);
		EVENT("bench: linked");
		EVENT("bench: peer lost (silence)");
		lost = ft_now();
		EVENT("bench: failover started at epoch");
		EVENT("bench: took over at epoch");
		u0 = GUEST_VAR(self->vm, units);
		guest_start(self);
		while (GUEST_VAR(self->vm, units) == u0 && ft_now() - lost < WAIT_S)
			usleep(100);
		running = ft_now();
		printf("# bench failover: silence %u ms (failover_timeout_ms), then guest "
		       "running again after %.1f ms\n", FAILOVER_MS, (running - lost) * 1000);
		guest_stop(self);
		EXPECT_TRUE(self->run.done);
		return;
	}
	guest_start(self);
	ASSERT_EQ(0, FTNL(self->out, "pair", "bench", self->peer, PORT, TEST_KEY)) TH_LOG("%s", self->out);
	EVENT("bench: linked");
	EVENT("bench: synced");
	ASSERT_TRUE(ftnl_counter_reaches("bench", "\"epochs\":", 20, WAIT_S)) TH_LOG("%s", ftnl_last());
	ASSERT_EQ(0, IP(self->out, "link", "set", "eth0", "down")) TH_LOG("%s", self->out);
	EVENT("bench: peer lost (silence)");
	guest_stop(self);
	sleep(FAILOVER_MS / 1000 + 3);	/* a takes over before the link is back */
}

TEST_HARNESS_MAIN
