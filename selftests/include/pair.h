/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the tests on two test hosts share: the engine's knobs, ftnl's
 * counters, and its event monitor.  The two hosts hand over by events (they
 * queue up in the monitor's socket, so a host stalled for seconds still
 * sees each one), never by how long a state lasted.
 */
#ifndef CUJU_SELFTEST_PAIR_H
#define CUJU_SELFTEST_PAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Write a /sys/kernel/kvm_ft knob; false if it could not be written. */
bool knob_set(const char *name, unsigned int v);

/* The counter @key (e.g. "\"epochs\":") of ftnl -j show @vm; 0 if none. */
unsigned long long ftnl_counter(const char *vm, const char *key);
/* Poll until it reaches @min, for up to @wait_s seconds. */
bool ftnl_counter_reaches(const char *vm, const char *key, unsigned long long min,
			  int wait_s);
/*
 * On a primary whose guest has stopped writing: wait until an epoch whose
 * snapshot began after this call is acknowledged (the newest begun now,
 * plus two: one may be under way, taken before), so that the backup holds
 * every write made before the call.  Within @wait_s seconds.
 */
bool ftnl_epochs_settle(const char *vm, int wait_s);
/* ftnl -j show @vm's last output, for a test's log. */
const char *ftnl_last(void);
/* The counter @key in that output, without running ftnl again; 0 if none. */
unsigned long long ftnl_last_counter(const char *key);

/*
 * @n 32-bit values (e.g. checksums to compare) from one test host to the
 * other, over TCP port @port of the test link, in one connection: the
 * taker listens, the giver connects.  Each waits up to @wait_s seconds;
 * false on failure.  One exchange per direction and port at a time: a
 * second one on the heels of the first could connect to the listener
 * the taker is closing.
 */
bool take_values(unsigned short port, uint32_t *v, int n, int wait_s);
bool give_values(const char *peer, unsigned short port, const uint32_t *v, int n, int wait_s);

struct monitor {
	pid_t pid;
	int fd;
	char event[128];	/* the last event line read */
};

/* ftnl monitor in the background, once it is subscribed; false if not. */
bool monitor_start(struct monitor *m);
/*
 * The next event line starts with @want (within @wait_s seconds).
 * COMMITTED events are progress reports, skipped.
 */
bool monitor_next(struct monitor *m, const char *want, int wait_s);
void monitor_stop(struct monitor *m);

/*
 * The end of a test on either host: the monitor stopped, the link up, @vm
 * stopped, the knobs tests change back to their defaults.
 */
void pair_teardown(struct monitor *m, const char *vm);

#endif /* CUJU_SELFTEST_PAIR_H */
