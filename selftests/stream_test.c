// SPDX-License-Identifier: GPL-2.0
/*
 * Output commit end to end: a client outside both hosts keeps its TCP
 * connections to a protected guest, every byte intact, across the death
 * of the primary's whole test host.  Three test hosts (the runner's
 * --trio): a and b as in qemu_test, and c, the client, joined to both on
 * one L2 segment (br0 in every host; the guests' taps are ports of it).
 *
 *   host a: QEMU backup      host b: QEMU primary,       host c: client
 *   takes over on silence;   guest job "serve"           10.78.0.100
 *   tells c "took over"      (guest/tcpsvc.c);           an echo stream and
 *                            pairs; tells c "paired";    a receive-only one
 *                            "kill me" once the stream   to the guest, every
 *                            flows held and released     record checked
 *
 * Host c streams from before the pairing (unprotected: nothing is held,
 * b checks) to well after the takeover, both streams at once: records it
 * sends to the echo and reads back, and records the guest's source sends
 * (include/stream.h).  A reset, or a record that is not what its index
 * says, fails the test; so does a stream that did not move in one of the
 * three phases (unprotected, protected, after the takeover): the kill
 * must come mid-stream.  It prints each phase's rate and longest stall
 * (a gap between reads, counted in the phase where it ended): the
 * failover's ends after the takeover; the pairing's (the guest's output
 * is held from the first checkpoint's snapshot, right after the memory
 * sync, until that epoch is acknowledged) in the protected phase.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flow.h"
#include "guest.h"
#include "pair.h"
#include "run.h"
#include "test.h"

#define VM		"st"
#define PORT		"7925"
#define WAIT_S		600
#define UNPROTECTED_S	10		/* streaming before the pairing */
#define KILL_AFTER_KB	1024		/* released while protected before the kill */
#define AFTER_S		30		/* streaming after the takeover */
#define WINDOW		(64 * STREAM_REC)	/* echo bytes in flight at most */
#define KILL_ME		"# cuju: kill me"
#define FAILOVER_MS	3000

enum { UNPROTECTED, PROTECTED, TAKEN_OVER, NR_PHASES = FLOW_PHASES };
static const char *const phase_name[] = { "unprotected", "protected", "after the takeover" };

FIXTURE(stream) {
	struct guest_host h;
	bool client;
};

FIXTURE_SETUP(stream)
{
	int side = guest_trio_setup(&self->h);

	ASSERT_LE(0, side);
	self->client = side;
	/* An emulated host stalls for a second at times: not a death. */
	if (!self->client) {
		ASSERT_TRUE(knob_set("failover_timeout_ms", FAILOVER_MS));
	}
}

FIXTURE_TEARDOWN(stream)
{
	guest_host_teardown(&self->h, VM);
}

#define EVENT(want) ASSERT_TRUE(monitor_next(&self->h.mon, want, WAIT_S)) \
	TH_LOG("expected event '%s', got '%s'", want, self->h.mon.event)

/* Host a: the backup takes over, and the guest's service goes on here. */
static void backup_side(struct __test_metadata *_metadata, FIXTURE_DATA(stream) *self)
{
	char line[256];

	ASSERT_TRUE(guest_host_qemu(&self->h, VM, "backup", "cuju_job=serve", 128, NULL));
	ASSERT_EQ(0, FTNL(self->h.out, "listen", VM, "0.0.0.0", PORT, TEST_KEY)) TH_LOG("%s", self->h.out);
	guest_narrate("host a: backup QEMU built the same machine, paused; ftnl listen " VM
		      " with the pair's key");
	EVENT(VM ": linked");
	guest_narrate("host a: the primary on host b connected; epochs arrive");
	EVENT(VM ": peer lost (silence)");
	EVENT(VM ": failover started at epoch");
	EVENT(VM ": took over at epoch");
	printf("# %s\n", self->h.mon.event);
	flow_note(FLOW_CLIENT_IP, "took over");
	guest_narrate("host a: host b went silent: %s; the guest's TCP service goes on here,"
		      " its connections with it", self->h.mon.event);
	guest_demo_show(VM);
	/* The client ends both streams AFTER_S after the note. */
	EXPECT_TRUE(guest_line("guest: tcpsvc echo done", WAIT_S, line, sizeof(line)))
		TH_LOG("the echo did not end here");
	printf("# %.*s\n", (int)strcspn(line, "\n"), line);
	EXPECT_TRUE(guest_line("guest: tcpsvc source done", 60, line, sizeof(line)))
		TH_LOG("the source did not end here");
	printf("# %.*s\n", (int)strcspn(line, "\n"), line);
	guest_narrate("host a: the client ended its streams (its verdict: host c's output)");
}

/* Host b: unprotected, nothing held; paired, output held and released. */
static void primary_side(struct __test_metadata *_metadata, FIXTURE_DATA(stream) *self)
{
	unsigned long long released;
	char line[256];

	ASSERT_TRUE(guest_host_qemu(&self->h, VM, "primary", "cuju_job=serve", 128, NULL));
	ASSERT_TRUE(guest_line("guest: tcpsvc up", 180, line, sizeof(line))) TH_LOG("no service");
	ASSERT_TRUE(guest_line("guest: tcpsvc echo connected", WAIT_S, line, sizeof(line)));
	ASSERT_TRUE(guest_line("guest: tcpsvc source connected", 60, line, sizeof(line)));
	guest_narrate("host b: QEMU runs the guest's TCP service (%s); client c streams to"
		      " its echo and from its source, every record checked", GUEST_IP);
	sleep(UNPROTECTED_S);
	EXPECT_EQ(0, ftnl_counter(VM, "\"out_held\":")) TH_LOG("held while unprotected: %s",
							     ftnl_last());
	guest_narrate("host b: unprotected, nothing held; ftnl pair " VM " %s " PORT, self->h.peer);
	ASSERT_EQ(0, FTNL(self->h.out, "pair", VM, self->h.peer, PORT, TEST_KEY)) TH_LOG("%s", self->h.out);
	EVENT(VM ": linked");
	EVENT(VM ": synced");
	flow_note(FLOW_CLIENT_IP, "paired");
	guest_narrate("host b: memory synced; the guest's output now leaves only once the"
		      " backup holds the epoch that sent it");
	released = ftnl_counter(VM, "\"out_released_bytes\":");
	ASSERT_TRUE(ftnl_counter_reaches(VM, "\"out_released_bytes\":",
					 released + KILL_AFTER_KB * 1024, WAIT_S))
		TH_LOG("the guest's output did not flow while protected: %s", ftnl_last());
	ASSERT_EQ(0, FTNL(self->h.out, "show", VM));
	printf("# %s\n", self->h.out);
	guest_narrate("host b: %d KiB of output released under protection; killing this host"
		      " (SIGKILL of its QEMU) mid-stream", KILL_AFTER_KB);
	printf("%s\n", KILL_ME);
	fflush(stdout);
	sleep(WAIT_S);
	ASSERT_TRUE(false) TH_LOG("the runner did not kill this host");
}

/* A note from a or b, if one came: the phase it begins. */
static void read_note(int fd, int *ph, double *at, double t0)
{
	char buf[32];

	if (!flow_note_wait(fd, buf, sizeof(buf), 0))
		return;
	if (!strcmp(buf, "paired") && *ph == UNPROTECTED)
		*ph = PROTECTED;
	else if (!strcmp(buf, "took over") && *ph != TAKEN_OVER)
		*ph = TAKEN_OVER;
	else
		return;
	at[*ph] = flow_now();
	printf("# [%.1f s] %s\n", at[*ph] - t0, phase_name[*ph]);
	fflush(stdout);
}

/*
 * Both streams until AFTER_S after the takeover (or WAIT_S in all),
 * then the echo drained: every byte sent must come back.
 */
static void stream_both(struct flow *echo, struct flow *src, int note, double *at)
{
	double t0 = at[UNPROTECTED], end = t0 + WAIT_S, drain = 0;
	int ph = UNPROTECTED;
	struct pollfd p[3];

	while (!echo->err && !src->err && !echo->eof && !src->eof && flow_now() < end) {
		if (ph == TAKEN_OVER && !drain && flow_now() > at[TAKEN_OVER] + AFTER_S)
			drain = flow_now() + 60;
		if (drain && (echo->got == echo->sent || flow_now() > drain))
			break;
		p[0] = (struct pollfd){ .fd = echo->fd, .events = POLLIN };
		if (!drain && echo->sent - echo->got < WINDOW)
			p[0].events |= POLLOUT;
		p[1] = (struct pollfd){ .fd = drain ? -1 : src->fd, .events = POLLIN };
		p[2] = (struct pollfd){ .fd = note, .events = POLLIN };
		if (poll(p, 3, 1000) <= 0)
			continue;
		echo->phase = src->phase = ph;
		if (p[0].revents & (POLLIN | POLLERR | POLLHUP))
			flow_read(echo);
		if (p[0].revents & POLLOUT)
			flow_write(echo);
		if (p[1].revents & (POLLIN | POLLERR | POLLHUP))
			flow_read(src);
		if (p[2].revents & POLLIN)
			read_note(note, &ph, at, t0);
	}
}

static void report(const struct flow *f, const double *at)
{
	double end = flow_now();
	int ph;

	printf("# %s: %llu bytes in, longest stall %.2f s (from %.1f s)\n", f->name,
	       (unsigned long long)f->got, f->stall, f->stall ? f->stall_at - at[0] : 0);
	for (ph = 0; ph < NR_PHASES; ph++) {
		double from = at[ph], to = ph + 1 < NR_PHASES && at[ph + 1] ? at[ph + 1] : end;

		if (from)
			printf("#   %-18s %8.1f KiB/s (%llu bytes in %.1f s), longest stall %.2f s\n",
			       phase_name[ph], f->phase_got[ph] / 1024.0 / (to - from),
			       (unsigned long long)f->phase_got[ph], to - from, f->phase_stall[ph]);
	}
}

/* Host c: the client. */
static void client_side(struct __test_metadata *_metadata)
{
	double at[NR_PHASES] = { 0 };
	struct flow echo, src;
	int note, ph;

	note = flow_note_socket();
	ASSERT_LE(0, note) TH_LOG("cannot bind UDP %d: %s", FLOW_NOTE_PORT, strerror(errno));
	ASSERT_TRUE(flow_connect(&echo, "echo", STREAM_ECHO_PORT, 0, WAIT_S))
		TH_LOG("no echo service at " GUEST_IP);
	ASSERT_TRUE(flow_connect(&src, "source", STREAM_SOURCE_PORT, 1ull << 40, 60))
		TH_LOG("no source service at " GUEST_IP);	/* more than it will send */
	at[UNPROTECTED] = flow_now();
	printf("# [0.0 s] streaming to and from " GUEST_IP ", unprotected\n");

	stream_both(&echo, &src, note, at);
	report(&echo, at);
	report(&src, at);
	close(echo.fd);
	close(src.fd);
	close(note);

	EXPECT_EQ(0, echo.err) TH_LOG("the echo connection failed: %s", strerror(echo.err));
	EXPECT_EQ(0, src.err) TH_LOG("the source connection failed: %s", strerror(src.err));
	EXPECT_FALSE(echo.eof || src.eof) TH_LOG("the guest closed a connection");
	EXPECT_EQ(0, echo.bad) TH_LOG("echoed record %llu is wrong", (unsigned long long)echo.bad - 1);
	EXPECT_EQ(0, src.bad) TH_LOG("source record %llu is wrong", (unsigned long long)src.bad - 1);
	EXPECT_EQ(echo.sent, echo.got) TH_LOG("sent %llu bytes, %llu came back",
					      (unsigned long long)echo.sent,
					      (unsigned long long)echo.got);
	ASSERT_NE(0, at[TAKEN_OVER]) TH_LOG("no takeover within %d s", WAIT_S);
	for (ph = 0; ph < NR_PHASES; ph++) {
		EXPECT_LT(0, echo.phase_got[ph]) TH_LOG("the echo stood still %s", phase_name[ph]);
		EXPECT_LT(0, src.phase_got[ph]) TH_LOG("the source stood still %s", phase_name[ph]);
	}
}

TEST_F_TIMEOUT(stream, primary_host_killed_mid_stream, 3 * WAIT_S)
{
	if (self->client)
		client_side(_metadata);
	else if (!strcmp(self->h.role, "a"))
		backup_side(_metadata, self);
	else
		primary_side(_metadata, self);
}

TEST_HARNESS_MAIN
