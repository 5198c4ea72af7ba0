// SPDX-License-Identifier: GPL-2.0
/*
 * make soak: N kills of the primary's test host in a row, a client's TCP
 * streams to the guest checked across all of them.  Hosts (the runner's
 * --soak N): c, the client and the switch, for the whole run; and two
 * slots, each a host at a time, joined to c by their one NIC (br0 in
 * every host, 10.78.0.11 and .12: the replication link and the guests'
 * segment are one).
 *
 *   role p: slot 0's first host: QEMU primary (guest job "serve"),
 *           pairs with the other slot, asks to be killed once 1 MiB of
 *           the guest's output was released under protection;
 *   role s: a backup: listens, takes over when its primary dies, tells
 *           c; its QEMU turns primary, and it pairs with the fresh backup
 *           the runner boots in the dead host's slot, then asks to be
 *           killed in turn.  The backup booted for the last kill
 *           (CUJU_SOAK_LAST) takes over and stays;
 *   role c: streams to the echo and from the source of the guest
 *           (include/stream.h) from before the first pairing to AFTER_S
 *           after the last takeover.  A kill kept the connection when
 *           both streams went on across it without an error, a reset or
 *           a wrong record; a broken stream is connected again, so that
 *           the kills after it count on their own.  It prints each kill's
 *           stalls and how many of CUJU_SOAK kept both connections.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flow.h"
#include "guest.h"
#include "pair.h"
#include "run.h"
#include "test.h"

#define VM		"sk"
#define PORT		"7926"
#define WAIT_S		600		/* one step of a host's (a fresh backup boots) */
#define KILL_AFTER_KB	1024		/* released while protected before a kill */
#define AFTER_S		30		/* streaming after the last takeover */
#define PER_KILL_S	300		/* the client's bound: this much a kill, and WAIT_S */
#define WINDOW		(64 * STREAM_REC)
#define KILL_ME		"# cuju: kill me"
#define FAILOVER_MS	3000
#define MAX_KILLS	100

FIXTURE(soak) {
	struct guest_host h;
	bool client;
	int kills;		/* CUJU_SOAK */
};

FIXTURE_SETUP(soak)
{
	const char *n = getenv("CUJU_SOAK");
	int side;

	self->kills = n ? atoi(n) : 0;
	ASSERT_TRUE(self->kills > 0 && self->kills <= MAX_KILLS)
		TH_LOG("run by the runner's --soak N (make soak), N of 1 to %d", MAX_KILLS);
	side = guest_trio_setup(&self->h);
	ASSERT_LE(0, side);
	self->client = side;
	if (!self->client) {
		ASSERT_TRUE(knob_set("failover_timeout_ms", FAILOVER_MS));
	}
}

FIXTURE_TEARDOWN(soak)
{
	guest_host_teardown(&self->h, VM);
}

#define EVENT(want) ASSERT_TRUE(monitor_next(&self->h.mon, want, WAIT_S)) \
	TH_LOG("expected event '%s', got '%s'", want, self->h.mon.event)

/*
 * Pair with the other slot's host (it may still be booting: the engine
 * connects once a second), let the guest's output flow under protection,
 * and ask to be killed.  A pairing refused as busy (the vCPUs of a VM
 * that just took over have not all run yet) is tried again.
 */
static void pair_then_die(struct __test_metadata *_metadata, FIXTURE_DATA(soak) *self)
{
	unsigned long long released;
	time_t deadline = time(NULL) + 60;
	int ret;

	while ((ret = FTNL(self->h.out, "pair", VM, self->h.peer, PORT, TEST_KEY)) &&
	       strstr(self->h.out, "have not all run") && time(NULL) < deadline)
		sleep(1);
	ASSERT_EQ(0, ret) TH_LOG("%s", self->h.out);
	EVENT(VM ": linked");
	EVENT(VM ": synced");
	flow_note(FLOW_CLIENT_IP, "paired");
	released = ftnl_counter(VM, "\"out_released_bytes\":");
	ASSERT_TRUE(ftnl_counter_reaches(VM, "\"out_released_bytes\":",
					 released + KILL_AFTER_KB * 1024, WAIT_S))
		TH_LOG("the guest's output did not flow while protected: %s", ftnl_last());
	ASSERT_EQ(0, FTNL(self->h.out, "show", VM));
	printf("# %s\n", self->h.out);
	printf("%s\n", KILL_ME);
	fflush(stdout);
	sleep(WAIT_S);
	ASSERT_TRUE(false) TH_LOG("the runner did not kill this host");
}

/* Role p: the first primary. */
static void first_primary(struct __test_metadata *_metadata, FIXTURE_DATA(soak) *self)
{
	char line[256];

	ASSERT_TRUE(guest_host_qemu(&self->h, VM, "primary", "cuju_job=serve", 128, NULL));
	ASSERT_TRUE(guest_line("guest: tcpsvc up", 180, line, sizeof(line))) TH_LOG("no service");
	ASSERT_TRUE(guest_line("guest: tcpsvc source connected", WAIT_S, line, sizeof(line)))
		TH_LOG("the client did not connect");
	pair_then_die(_metadata, self);
}

/* QEMU registered @vm again, as a primary, within 60 s (it does after a takeover). */
static bool turned_primary(struct guest_host *h)
{
	int i;

	for (i = 0; i < 60; i++) {
		if (!FTNL(h->out, "show", VM) && strstr(h->out, "primary"))
			return true;
		sleep(1);
	}
	return false;
}

/* Role s: a backup, which takes over and then is the primary. */
static void backup(struct __test_metadata *_metadata, FIXTURE_DATA(soak) *self)
{
	const char *last = getenv("CUJU_SOAK_LAST");
	char line[256];

	ASSERT_TRUE(guest_host_qemu(&self->h, VM, "backup", "cuju_job=serve", 128, NULL));
	ASSERT_EQ(0, FTNL(self->h.out, "listen", VM, "0.0.0.0", PORT, TEST_KEY)) TH_LOG("%s", self->h.out);
	EVENT(VM ": linked");
	EVENT(VM ": peer lost (silence)");
	EVENT(VM ": failover started at epoch");
	EVENT(VM ": took over at epoch");
	printf("# %s\n", self->h.mon.event);
	flow_note(FLOW_CLIENT_IP, "took over");
	if (last && !strcmp(last, "1")) {
		/* The client ends both streams AFTER_S after the last note. */
		EXPECT_TRUE(guest_line("guest: tcpsvc echo done", WAIT_S, line, sizeof(line)))
			TH_LOG("the echo did not end here");
		printf("# %.*s\n", (int)strcspn(line, "\n"), line);
		return;
	}
	ASSERT_TRUE(turned_primary(&self->h)) TH_LOG("QEMU did not register %s as a primary: %s",
						     VM, self->h.out);
	pair_then_die(_metadata, self);
}

/* What the client saw of one kill. */
struct kill {
	double at;			/* its takeover's note */
	double last_echo, last_src;	/* the streams' last reads before it */
	double stall_echo, stall_src;	/* to their first reads after it */
	bool lost;
};

struct client {
	struct flow echo, src;
	struct kill kill[MAX_KILLS];
	int kills, lost, n;
	double last_note;
};

/* The kill a broken stream counts against: the last one, if its note is recent. */
static int kill_now(const struct client *c)
{
	return c->kills && flow_now() - c->last_note < 60 ? c->kills - 1 : c->kills;
}

static bool flows_connect(struct client *c)
{
	return flow_connect(&c->echo, "echo", STREAM_ECHO_PORT, 0, 120) &&
	       flow_connect(&c->src, "source", STREAM_SOURCE_PORT, 1ull << 40, 120);
}

/* Did a stream break or read wrong?  If so, counted against a kill and said why. */
static bool flows_bad(struct client *c)
{
	int k = kill_now(c);

	if (!c->echo.err && !c->src.err && !c->echo.eof && !c->src.eof &&
	    !c->echo.bad && !c->src.bad)
		return false;
	printf("# kill %d: a stream broke: echo %s%s, source %s%s%s\n", k + 1,
	       c->echo.err ? strerror(c->echo.err) : "", c->echo.eof ? "closed" :
	       c->echo.bad ? "a wrong record" : "", c->src.err ? strerror(c->src.err) : "",
	       c->src.eof ? "closed" : "", c->src.bad ? "a wrong record" : "");
	if (k < MAX_KILLS && !c->kill[k].lost) {
		c->kill[k].lost = true;
		c->lost++;
	}
	return true;
}

/* A broken stream counted, and both connected again; false if they cannot be. */
static bool flows_mended(struct client *c)
{
	if (!flows_bad(c))
		return true;
	close(c->echo.fd);
	close(c->src.fd);
	c->echo.fd = c->src.fd = -1;	/* until connected again */
	return flows_connect(c);
}

/* A note: a takeover begins a kill's record. */
static void read_note(int fd, struct client *c, double t0)
{
	struct kill *k;
	char buf[32];

	if (!flow_note_wait(fd, buf, sizeof(buf), 0) || strcmp(buf, "took over") ||
	    flow_now() - c->last_note < 10 || c->kills == MAX_KILLS)
		return;		/* the same note again (it is sent three times) */
	k = &c->kill[c->kills++];
	k->at = c->last_note = flow_now();
	k->last_echo = c->echo.last;
	k->last_src = c->src.last;
	printf("# [%.1f s] kill %d: taken over\n", k->at - t0, c->kills);
	fflush(stdout);
}

/* Each kill's stalls: from the last read before its note to the first after. */
static void stalls(struct client *c)
{
	struct kill *k = c->kills ? &c->kill[c->kills - 1] : NULL;

	if (!k)
		return;
	if (!k->stall_echo && c->echo.last > k->at)
		k->stall_echo = c->echo.last - k->last_echo;
	if (!k->stall_src && c->src.last > k->at)
		k->stall_src = c->src.last - k->last_src;
}

/* Both streams until AFTER_S after the last kill, then the echo drained. */
static void soak_streams(struct client *c, int note, double t0)
{
	double end = t0 + c->n * PER_KILL_S + WAIT_S, drain = 0;
	struct pollfd p[3];

	while (flow_now() < end) {
		if (c->kills == c->n && !drain && flow_now() > c->last_note + AFTER_S)
			drain = flow_now() + 60;
		if (drain && (c->echo.got == c->echo.sent || flow_now() > drain))
			break;
		if (!flows_mended(c))
			break;
		p[0] = (struct pollfd){ .fd = c->echo.fd, .events = POLLIN };
		if (!drain && c->echo.sent - c->echo.got < WINDOW)
			p[0].events |= POLLOUT;
		p[1] = (struct pollfd){ .fd = drain ? -1 : c->src.fd, .events = POLLIN };
		p[2] = (struct pollfd){ .fd = note, .events = POLLIN };
		if (poll(p, 3, 1000) <= 0)
			continue;
		if (p[0].revents & (POLLIN | POLLERR | POLLHUP))
			flow_read(&c->echo);
		if (p[0].revents & POLLOUT)
			flow_write(&c->echo);
		if (p[1].revents & (POLLIN | POLLERR | POLLHUP))
			flow_read(&c->src);
		if (p[2].revents & POLLIN)
			read_note(note, c, t0);
		stalls(c);
	}
}

/* Role c: the client. */
static void client(struct __test_metadata *_metadata, FIXTURE_DATA(soak) *self)
{
	static struct client c;
	double t0, worst = 0;
	int note, i;

	c.n = self->kills;
	note = flow_note_socket();
	ASSERT_LE(0, note) TH_LOG("cannot bind UDP %d: %s", FLOW_NOTE_PORT, strerror(errno));
	ASSERT_TRUE(flow_connect(&c.echo, "echo", STREAM_ECHO_PORT, 0, WAIT_S))
		TH_LOG("no echo service at " GUEST_IP);
	ASSERT_TRUE(flow_connect(&c.src, "source", STREAM_SOURCE_PORT, 1ull << 40, 60))
		TH_LOG("no source service at " GUEST_IP);
	t0 = flow_now();
	printf("# [0.0 s] streaming to and from " GUEST_IP "; %d kills to come\n", c.n);
	soak_streams(&c, note, t0);
	flows_bad(&c);
	close(c.echo.fd);
	close(c.src.fd);
	close(note);

	for (i = 0; i < c.kills; i++) {
		struct kill *k = &c.kill[i];

		printf("# kill %2d at %6.1f s: %s; stall echo %.2f s, source %.2f s\n", i + 1,
		       k->at - t0, k->lost ? "LOST a connection" : "kept both",
		       k->stall_echo, k->stall_src);
		if (!k->lost && k->stall_echo > worst)
			worst = k->stall_echo;
		if (!k->lost && k->stall_src > worst)
			worst = k->stall_src;
	}
	printf("# soak: %d of %d kills kept both connections with nothing lost"
	       " (longest stall %.2f s, %.0f s in all)\n",
	       c.kills - c.lost, c.n, worst, flow_now() - t0);
	EXPECT_EQ(c.n, c.kills) TH_LOG("%d takeovers of %d came", c.kills, c.n);
	EXPECT_EQ(0, c.lost);
	EXPECT_EQ(c.echo.sent, c.echo.got) TH_LOG("sent %llu bytes, %llu came back",
						  (unsigned long long)c.echo.sent,
						  (unsigned long long)c.echo.got);
}

TEST_F_TIMEOUT(soak, kills_in_a_row, MAX_KILLS * PER_KILL_S + 2 * WAIT_S)
{
	if (self->client)
		client(_metadata, self);
	else if (!strcmp(self->h.role, "p"))
		first_primary(_metadata, self);
	else
		backup(_metadata, self);
}

TEST_HARNESS_MAIN
