// SPDX-License-Identifier: GPL-2.0
/*
 * The real-guest benchmark (make bench; not part of make check).  Host b
 * runs the patched QEMU with Debian's kernel as the guest, whose init runs
 * wl (selftests/guest/wl.c, the workload of the COLO figures in
 * Documentation/bench.rst): work units of fixed computation, and a number
 * of 4 KiB pages dirtied per second of guest time (0, 1000, 5000: the
 * variants).  wl prints, each second of guest time, the units done since
 * it started; this test reads those lines as they come and timestamps
 * them on the test host's clock, so that the pauses of the epochs (which
 * stop the guest's clock too) show in the rate.
 *
 * Per variant, in the same QEMU and the same run: the work rate with fault
 * tolerance off, then paired with host a (on), and their ratio; epochs per
 * second, pauses (p50, p99, max: upper bounds from the engine's histogram
 * of powers of two), pages and bytes per epoch, bytes per page sent and
 * per second, and the size of the device state; then, in the same pairing,
 * the same window with epochs that follow the output (epoch_min_us 1 ms,
 * epoch_max_us 100 ms, COLO's checkpoint delay).  Then, once, the failover
 * time: host b's link is cut; on host a, the silence (failover_timeout_ms)
 * and then from the backup's verdict to the guest's first line there.
 *
 * Each variant passes when it measured something; the figures are
 * reported, never asserted (speed is not a test).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "counters.h"
#include "guest.h"
#include "pair.h"
#include "run.h"
#include "test.h"

#define VM		"qb"
#define PORT		"7923"
#define WAIT_S		300
#define WARMUP_S	5
#define MEASURE_S	30
#define FAILOVER_MS	2000
#define GUEST_MIB	256		/* as COLO's guest: wl's 64 MiB fit */
#define HMP		"/run/qbench.hmp"
#define ADAPT_MIN_US	1000		/* epochs that follow the output: */
#define ADAPT_MAX_US	100000		/* at most COLO's checkpoint delay */

FIXTURE(qbench) {
	struct guest_host h;
	struct ft_counters counters;
};

FIXTURE_VARIANT(qbench) {
	const char *job;	/* the guest's kernel command line */
	unsigned int rate;	/* pages dirtied per second */
};

FIXTURE_VARIANT_ADD(qbench, rate0) { .job = "cuju_job=wl wl.rate=0", .rate = 0 };
FIXTURE_VARIANT_ADD(qbench, rate1000) { .job = "cuju_job=wl wl.rate=1000", .rate = 1000 };
FIXTURE_VARIANT_ADD(qbench, rate5000) { .job = "cuju_job=wl wl.rate=5000", .rate = 5000 };

FIXTURE_SETUP(qbench)
{
	ASSERT_TRUE(guest_host_setup(&self->h));
	knob_set("failover_timeout_ms", FAILOVER_MS);
	ASSERT_TRUE(ft_counters_open(&self->counters));
}

FIXTURE_TEARDOWN(qbench)
{
	ft_counters_close(&self->counters);
	guest_host_teardown(&self->h, VM);
}

#define EVENT(want) ASSERT_TRUE(monitor_next(&self->h.mon, want, WAIT_S)) \
	TH_LOG("expected event '%s', got '%s'", want, self->h.mon.event)

static void report(const FIXTURE_VARIANT(qbench) *v, double off, double on,
		   const struct ft_sample *a, const struct ft_sample *b)
{
	double dt = b->t - a->t, n = b->epochs - a->epochs;

	printf("# qbench %4u pages/s: work off %.0f units/s, on %.0f units/s, ratio %.2f\n",
	       v->rate, off, on, off ? on / off : 0);
	printf("# qbench %4u pages/s: epochs %.1f/s, pause p50 <= %llu us, p99 <= %llu us, "
	       "max <= %llu us, mean %.0f us\n", v->rate, n / dt,
	       ft_pause_percentile(a, b, 0.5), ft_pause_percentile(a, b, 0.99),
	       ft_pause_percentile(a, b, 1.0), n ? (b->pause_ns - a->pause_ns) / n / 1000 : 0);
	printf("# qbench %4u pages/s: pages/epoch %.1f, bytes/epoch %.0f, bytes/page %.0f, "
	       "%.2f MB/s; device state %llu bytes, as its changes in %.0f%% of epochs; "
	       "stalls %llu\n", v->rate,
	       n ? (b->pages - a->pages) / n : 0, n ? (b->bytes - a->bytes) / n : 0,
	       b->pages > a->pages ? (double)(b->bytes - a->bytes) / (b->pages - a->pages) : 0,
	       (b->bytes - a->bytes) / dt / 1e6, b->device_len,
	       n ? 100.0 * (b->device_deltas - a->device_deltas) / n : 0, b->stalls - a->stalls);
}

/* QEMU's own account of its captures (info cuju), so far in this pairing. */
static void report_capture(const FIXTURE_VARIANT(qbench) *v)
{
	char out[4096], *line, *end;

	if (!guest_hmp(HMP, "info cuju\n", out, sizeof(out)) ||
	    !(line = strstr(out, "capture ("))) {
		printf("# qbench %4u pages/s: no capture times from QEMU (info cuju)\n", v->rate);
		return;
	}
	end = strpbrk(line, "\r\n");
	if (end)
		*end = 0;
	printf("# qbench %4u pages/s: QEMU's %s\n", v->rate, line);
}

/* The same window with epochs that follow the output (one line). */
static void report_adaptive(const FIXTURE_VARIANT(qbench) *v, double off, double on,
			    const struct ft_sample *a, const struct ft_sample *b)
{
	double dt = b->t - a->t, n = b->epochs - a->epochs;

	printf("# qbench %4u pages/s adaptive: work on %.0f units/s, ratio %.2f; epochs %.1f/s, "
	       "pause mean %.0f us, p99 <= %llu us; %.2f MB/s\n", v->rate, on, off ? on / off : 0,
	       n / dt, n ? (b->pause_ns - a->pause_ns) / n / 1000 : 0,
	       ft_pause_percentile(a, b, 0.99), (b->bytes - a->bytes) / dt / 1e6);
}

/*
 * QEMU for this host's role, registered; a backup listening, a primary's
 * workload started.
 */
static void qemu_up(struct __test_metadata *_metadata, FIXTURE_DATA(qbench) *self,
		    const FIXTURE_VARIANT(qbench) *variant)
{
	bool backup = !strcmp(self->h.role, "a");
	char line[256];

	ASSERT_TRUE(guest_host_qemu(&self->h, VM, backup ? "backup" : "primary", variant->job,
				    GUEST_MIB, HMP));
	if (backup) {
		ASSERT_EQ(0, FTNL(self->h.out, "listen", VM, "0.0.0.0", PORT, TEST_KEY)) TH_LOG("%s", self->h.out);
	} else {
		ASSERT_TRUE(guest_line("WL start", 120, line, sizeof(line))) TH_LOG("no workload");
	}
}

TEST_F_TIMEOUT(qbench, work_rate_off_and_on, 2 * WAIT_S)
{
	struct ft_sample a, b;
	double off, on;

	qemu_up(_metadata, self, variant);
	if (!strcmp(self->h.role, "a")) {
		EVENT(VM ": linked");
		EVENT(VM ": peer lost (closed)");	/* b is done */
		return;
	}
	sleep(WARMUP_S);
	off = guest_wl_rate(MEASURE_S);

	ASSERT_EQ(0, FTNL(self->h.out, "pair", VM, self->h.peer, PORT, TEST_KEY)) TH_LOG("%s", self->h.out);
	EVENT(VM ": linked");
	EVENT(VM ": synced");
	sleep(WARMUP_S);
	ASSERT_EQ(0, ft_sample(&self->counters, VM, &a));
	on = guest_wl_rate(MEASURE_S);
	ASSERT_EQ(0, ft_sample(&self->counters, VM, &b));
	report(variant, off, on, &a, &b);
	report_capture(variant);
	EXPECT_LT(0, b.epochs - a.epochs);
	EXPECT_LT(0, off);
	EXPECT_LT(0, on);

	/*
	 * The same pairing with epochs that follow the output: one ends
	 * early when the guest's output waits and the link is idle, and
	 * stretches up to ADAPT_MAX_US (COLO's 100 ms) while nothing waits
	 * and little was dirtied.  The knobs are host-wide: put back after.
	 */
	ASSERT_TRUE(knob_set("epoch_min_us", ADAPT_MIN_US));
	ASSERT_TRUE(knob_set("epoch_max_us", ADAPT_MAX_US));
	sleep(WARMUP_S);
	ASSERT_EQ(0, ft_sample(&self->counters, VM, &a));
	on = guest_wl_rate(MEASURE_S);
	ASSERT_EQ(0, ft_sample(&self->counters, VM, &b));
	EXPECT_TRUE(knob_set("epoch_min_us", 0));
	EXPECT_TRUE(knob_set("epoch_max_us", 0));
	report_adaptive(variant, off, on, &a, &b);
	EXPECT_LT(0, b.epochs - a.epochs);
	EXPECT_LT(0, on);
	EXPECT_EQ(0, FTNL(self->h.out, "stop", VM)) TH_LOG("%s", self->h.out);
}

TEST_F_TIMEOUT(qbench, failover_time, 2 * WAIT_S)
{
	double lost, took, running;
	char line[256];

	if (variant->rate != 1000)
		return;		/* once is enough */
	qemu_up(_metadata, self, variant);
	if (!strcmp(self->h.role, "a")) {
		EVENT(VM ": linked");
		EVENT(VM ": peer lost (silence)");
		lost = ft_now();
		EVENT(VM ": failover started at epoch");
		EVENT(VM ": took over at epoch");
		took = ft_now();
		ASSERT_TRUE(guest_line("WL seq=", 60, line, sizeof(line)));
		running = ft_now();
		printf("# qbench failover: silence %u ms (failover_timeout_ms), then taken over "
		       "after %.0f ms, the guest's first line after %.0f ms (it prints one a "
		       "second)\n", FAILOVER_MS, (took - lost) * 1000, (running - lost) * 1000);
		return;
	}
	ASSERT_EQ(0, FTNL(self->h.out, "pair", VM, self->h.peer, PORT, TEST_KEY)) TH_LOG("%s", self->h.out);
	EVENT(VM ": linked");
	EVENT(VM ": synced");
	ASSERT_TRUE(ftnl_counter_reaches(VM, "\"epochs\":", 20, WAIT_S)) TH_LOG("%s", ftnl_last());
	ASSERT_EQ(0, IP(self->h.out, "link", "set", "eth0", "down")) TH_LOG("%s", self->h.out);
	EVENT(VM ": peer lost (silence)");
	sleep(FAILOVER_MS / 1000 + 5);	/* a takes over before the link is back */
}

TEST_HARNESS_MAIN
