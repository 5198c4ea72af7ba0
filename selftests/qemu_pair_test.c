// SPDX-License-Identifier: GPL-2.0
/*
 * A real guest under the patched QEMU (include/guest.h), paired, without a
 * host dying: what an administrator does by hand.
 *
 * verified_then_quit: host b's QEMU (primary) with verify_memory on; its
 *   guest computes and is pinged through its NIC (QEMU writes the packets
 *   into guest RAM, which must be marked); host a's backup checks every
 *   commit point against the primary's checksum.  Then `quit` on b's
 *   monitor: QEMU unregisters the VM first, the backup sees the link
 *   closed and does not take over; its guest never runs.
 * failover_by_hand: `ftnl failover` on host a: its QEMU takes over, the
 *   guest finishes its computation there and answers pings; b's VM is
 *   left unprotected.
 * qemu_killed: host b's QEMU killed (SIGKILL) while paired, its host
 *   alive: the kernel sees the VM destroyed while registered, resets the
 *   link, and host a takes over; the guest finishes there.
 * other_machine_refused: host a's backup QEMU has a device more than the
 *   primary's (a watchdog): the backup refuses the primary's HELLO as
 *   "machine" (their QEMUs' digests of their devices differ), counts it,
 *   and listens again; it never holds a checkpoint it could not load.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"
#include "pair.h"
#include "run.h"
#include "test.h"

#define VM		"qp"
#define PORT		"7922"
#define WAIT_S		600
#define STEPS		200000
#define EPOCHS		10		/* verified before the quit (each a CRC of all memory: seconds under TCG) */
#define HMP		"/run/qemu_pair.hmp"

FIXTURE(qpair) {
	struct guest_host h;
};

FIXTURE_SETUP(qpair)
{
	ASSERT_TRUE(guest_host_setup(&self->h));
}

FIXTURE_TEARDOWN(qpair)
{
	knob_set("verify_memory", 0);
	guest_host_teardown(&self->h, VM);
}

#define EVENT(want) ASSERT_TRUE(monitor_next(&self->h.mon, want, WAIT_S)) \
	TH_LOG("expected event '%s', got '%s'", want, self->h.mon.event)

/* QEMU for @role, registered; the primary's guest up with its NIC. */
static void qemu_up(struct __test_metadata *_metadata, FIXTURE_DATA(qpair) *self,
		    const char *role)
{
	char line[256];

	ASSERT_TRUE(guest_host_qemu(&self->h, VM, role, GUEST_COMPUTE(STEPS), 128, HMP));
	if (strcmp(role, "primary"))
		return;
	ASSERT_TRUE(guest_line("guest: up", 120, line, sizeof(line))) TH_LOG("no guest");
	ASSERT_TRUE(guest_line("guest: net eth0", 0, line, sizeof(line)));
}

TEST_F_TIMEOUT(qpair, verified_then_quit, 2 * WAIT_S)
{
	unsigned long long verified;
	bool closed;
	int status, i;

	if (!strcmp(self->h.role, "a")) {
		qemu_up(_metadata, self, "backup");
		ASSERT_EQ(0, FTNL(self->h.out, "listen", VM, "0.0.0.0", PORT, TEST_KEY)) TH_LOG("%s", self->h.out);
		EVENT(VM ": linked");
		closed = monitor_next(&self->h.mon, VM ": peer lost (closed)", WAIT_S);
		if (!closed)
			FTNL(self->h.out, "show", VM);
		ASSERT_TRUE(closed) TH_LOG("no close: last event '%s'; %s",
					   self->h.mon.event, self->h.out);
		verified = ftnl_counter(VM, "\"verified\":");
		printf("# %llu epochs checked equal to the primary's memory\n", verified);
		EXPECT_LE(EPOCHS, verified) TH_LOG("%s", ftnl_last());
		EXPECT_EQ(0, ftnl_last_counter("\"verify\":")) TH_LOG("%s", ftnl_last());
		/* A clean stop: no takeover, the guest never runs here. */
		EXPECT_FALSE(monitor_next(&self->h.mon, VM ": failover started", 10));
		EXPECT_STREQ("", self->h.mon.event) TH_LOG("an event after the close");
		EXPECT_EQ(0, guest_step(0)) TH_LOG("the backup's guest ran");
		return;
	}
	ASSERT_TRUE(knob_set("verify_memory", 1));
	qemu_up(_metadata, self, "primary");
	ASSERT_EQ(0, FTNL(self->h.out, "pair", VM, self->h.peer, PORT, TEST_KEY)) TH_LOG("%s", self->h.out);
	EVENT(VM ": linked");
	EVENT(VM ": synced");
	/* Packets QEMU writes into the guest, checked at the commit points. */
	EXPECT_LT(0, guest_ping(300, 30, "1000"));
	/* In steps, each followed by the counters, so that a stall shows how. */
	for (i = 0; i < WAIT_S / 60; i++) {
		if (ftnl_counter_reaches(VM, "\"epochs\":", EPOCHS + 5, 60))
			break;
		printf("# after %d s: %s\n", 60 * (i + 1), ftnl_last());
		fflush(stdout);
	}
	ASSERT_GT(WAIT_S / 60, i) TH_LOG("%s", ftnl_last());
	ASSERT_TRUE(guest_hmp(HMP, "quit\n", NULL, 0));
	ASSERT_EQ(self->h.qemu, waitpid(self->h.qemu, &status, 0));
	self->h.qemu = -1;
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status)) TH_LOG("status %#x", status);
	EXPECT_NE(0, FTNL(self->h.out, "show", VM)) TH_LOG("still registered: %s", self->h.out);
}

TEST_F_TIMEOUT(qpair, failover_by_hand, 2 * WAIT_S)
{
	unsigned long long n = 0, h = 0;
	char line[256];

	if (!strcmp(self->h.role, "a")) {
		qemu_up(_metadata, self, "backup");
		ASSERT_EQ(0, FTNL(self->h.out, "listen", VM, "0.0.0.0", PORT, TEST_KEY)) TH_LOG("%s", self->h.out);
		EVENT(VM ": linked");
		ASSERT_TRUE(ftnl_counter_reaches(VM, "\"epochs\":", 20, WAIT_S))
			TH_LOG("%s", ftnl_last());
		EXPECT_EQ(0, FTNL(self->h.out, "failover", VM)) TH_LOG("%s", self->h.out);
		EVENT(VM ": failover started at epoch");
		EVENT(VM ": took over at epoch");
		printf("# %s\n", self->h.mon.event);
		if (!guest_line("guest: result ", 300, line, sizeof(line))) {
			FTNL(self->h.out, "show", VM);
			printf("# %s\n", self->h.out);
			guest_qemu_dump(self->h.qemu);
		}
		ASSERT_TRUE(guest_line("guest: result ", 0, line, sizeof(line)))
			TH_LOG("the guest did not finish here (at step %llu)", guest_step(0));
		ASSERT_EQ(2, sscanf(line, "guest: result %llu %llu", &n, &h));
		EXPECT_EQ(STEPS, n);
		EXPECT_EQ(guest_chain(n), h);
		EXPECT_LT(0, guest_ping(5, 30, "56")) TH_LOG("no answer from the guest here");
		return;
	}
	qemu_up(_metadata, self, "primary");
	ASSERT_EQ(0, FTNL(self->h.out, "pair", VM, self->h.peer, PORT, TEST_KEY)) TH_LOG("%s", self->h.out);
	EVENT(VM ": linked");
	EVENT(VM ": synced");
	EVENT(VM ": peer lost");
	ASSERT_TRUE(ftnl_counter_reaches(VM, "\"peer_lost\":", 1, 30)) TH_LOG("%s", ftnl_last());
	EXPECT_NE(NULL, strstr(ftnl_last(), "\"state\":\"unprotected\"")) TH_LOG("%s", ftnl_last());
}

TEST_F_TIMEOUT(qpair, qemu_killed, 2 * WAIT_S)
{
	unsigned long long n = 0, h = 0;
	char line[256];
	int status;

	if (!strcmp(self->h.role, "a")) {
		qemu_up(_metadata, self, "backup");
		ASSERT_EQ(0, FTNL(self->h.out, "listen", VM, "0.0.0.0", PORT, TEST_KEY)) TH_LOG("%s", self->h.out);
		EVENT(VM ": linked");
		EVENT(VM ": peer lost");
		EXPECT_EQ(NULL, strstr(self->h.mon.event, "(closed)")) TH_LOG("%s", self->h.mon.event);
		EVENT(VM ": failover started at epoch");
		EVENT(VM ": took over at epoch");
		ASSERT_TRUE(guest_line("guest: result ", 300, line, sizeof(line)))
			TH_LOG("the guest did not finish here (at step %llu)", guest_step(0));
		ASSERT_EQ(2, sscanf(line, "guest: result %llu %llu", &n, &h));
		EXPECT_EQ(STEPS, n);
		EXPECT_EQ(guest_chain(n), h);
		return;
	}
	qemu_up(_metadata, self, "primary");
	ASSERT_EQ(0, FTNL(self->h.out, "pair", VM, self->h.peer, PORT, TEST_KEY)) TH_LOG("%s", self->h.out);
	EVENT(VM ": linked");
	EVENT(VM ": synced");
	ASSERT_TRUE(ftnl_counter_reaches(VM, "\"epochs\":", 20, WAIT_S)) TH_LOG("%s", ftnl_last());
	ASSERT_EQ(0, kill(self->h.qemu, SIGKILL));
	ASSERT_EQ(self->h.qemu, waitpid(self->h.qemu, &status, 0));
	close(self->h.qemu_fd);
	self->h.qemu = -1;
	EXPECT_TRUE(WIFSIGNALED(status)) TH_LOG("status %#x", status);
	EXPECT_NE(0, FTNL(self->h.out, "show", VM)) TH_LOG("still registered: %s", self->h.out);
}

TEST_F_TIMEOUT(qpair, other_machine_refused, 2 * WAIT_S)
{
	static const char *const watchdog[] = { "-device", "i6300esb", NULL };

	if (!strcmp(self->h.role, "a")) {
		self->h.extra = watchdog;
		qemu_up(_metadata, self, "backup");
		ASSERT_EQ(0, FTNL(self->h.out, "listen", VM, "0.0.0.0", PORT, TEST_KEY))
			TH_LOG("%s", self->h.out);
		EVENT(VM ": linked");
		EVENT(VM ": peer lost (machine)");
		EXPECT_EQ(1, ftnl_counter(VM, "\"machine\":")) TH_LOG("%s", ftnl_last());
		EXPECT_EQ(0, ftnl_counter(VM, "\"epochs\":")) TH_LOG("%s", ftnl_last());
		EXPECT_NE(NULL, strstr(ftnl_last(), "\"state\":\"listening\""))
			TH_LOG("%s", ftnl_last());
		EXPECT_EQ(0, guest_step(0)) TH_LOG("the backup's guest ran");
		return;
	}
	qemu_up(_metadata, self, "primary");
	ASSERT_EQ(0, FTNL(self->h.out, "pair", VM, self->h.peer, PORT, TEST_KEY)) TH_LOG("%s", self->h.out);
	EVENT(VM ": linked");
	EVENT(VM ": peer lost");
	ASSERT_TRUE(ftnl_counter_reaches(VM, "\"peer_lost\":", 1, 30)) TH_LOG("%s", ftnl_last());
	EXPECT_NE(NULL, strstr(ftnl_last(), "\"state\":\"unprotected\"")) TH_LOG("%s", ftnl_last());
}

TEST_HARNESS_MAIN
