/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The engine's counters of one VM at one instant, read straight from the
 * kernel (KVM_FT_CMD_GET_VM, libnl) on a netlink socket opened before a
 * measurement: running ftnl in the window would hold up epochs itself (its
 * start, read over 9p, competes with the vCPUs for the test host's CPU)
 * and so add to the very pauses measured.  For the benchmarks only.
 */
#ifndef CUJU_SELFTEST_COUNTERS_H
#define CUJU_SELFTEST_COUNTERS_H

#include <linux/kvm_ft.h>
#include <stdbool.h>

struct ft_sample {
	double t;			/* CLOCK_MONOTONIC, seconds */
	unsigned long long epochs, pages, bytes, pause_ns, stalls, device_len, device_deltas;
	unsigned long long hist[KVM_FT_HIST_BUCKETS];
	bool ok;
};

struct ft_counters {
	struct nl_sock *sk;
	int family;
};

/* Now, in seconds (CLOCK_MONOTONIC). */
double ft_now(void);
bool ft_counters_open(struct ft_counters *c);
void ft_counters_close(struct ft_counters *c);
/* @vm's counters into @s: 0, or libnl's error. */
int ft_sample(struct ft_counters *c, const char *vm, struct ft_sample *s);
/* The upper end (us) of the pause bucket holding fraction @q from @a to @b. */
unsigned long long ft_pause_percentile(const struct ft_sample *a, const struct ft_sample *b,
				       double q);

#endif /* CUJU_SELFTEST_COUNTERS_H */
