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
 * must come mid-stream.  It prints each phase's rate and the longest
 * stall of each stream (the failover).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"
#include "pair.h"
#include "run.h"
#include "stream.h"
#include "test.h"

#define VM		"st"
#define PORT		"7923"
#define WAIT_S		600
#define CLIENT_IP	"10.78.0.100"
#define NOTE_PORT	7990		/* a and b tell c where they are (UDP) */
#define UNPROTECTED_S	10		/* streaming before the pairing */
#define KILL_AFTER_KB	1024		/* released while protected before the kill */
#define AFTER_S		30		/* streaming after the takeover */
#define WINDOW		(64 * STREAM_REC)	/* echo bytes in flight at most */
#define KILL_ME		"# cuju: kill me"

enum phase { UNPROTECTED, PROTECTED, TAKEN_OVER, NR_PHASES };
static const char *const phase_name[] = { "unprotected", "protected", "after the takeover" };

FIXTURE(stream) {
	struct guest_host h;
	bool client;
};

FIXTURE_SETUP(stream)
{
	const char *role = getenv("CUJU_ROLE");

	self->client = role && !strcmp(role, "c");
	if (self->client)
		return;
	ASSERT_NE(NULL, getenv("CUJU_BRIDGE")) TH_LOG("run in a trio (the runner's --trio)");
	ASSERT_TRUE(guest_host_setup(&self->h));
}

FIXTURE_TEARDOWN(stream)
{
	if (!self->client)
		guest_host_teardown(&self->h, VM);
}

#define EVENT(want) ASSERT_TRUE(monitor_next(&self->h.mon, want, WAIT_S)) \
	TH_LOG("expected event '%s', got '%s'", want, self->h.mon.event)

/* @what to the client, a few times: UDP on a segment that may drop one. */
static void note_client(const char *what)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(NOTE_PORT) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), i;

	inet_pton(AF_INET, CLIENT_IP, &to.sin_addr);
	for (i = 0; fd >= 0 && i < 3; i++) {
		sendto(fd, what, strlen(what), 0, (struct sockaddr *)&to, sizeof(to));
		usleep(200 * 1000);
	}
	if (fd >= 0)
		close(fd);
}

/* Host a: the backup takes over, and the guest's service goes on here. */
static void backup_side(struct __test_metadata *_metadata, FIXTURE_DATA(stream) *self)
{
	char line[256];

	ASSERT_TRUE(guest_host_qemu(&self->h, VM, "backup", "cuju_job=serve", 128, NULL));
	ASSERT_EQ(0, FTNL(self->h.out, "listen", VM, "0.0.0.0", PORT)) TH_LOG("%s", self->h.out);
	EVENT(VM ": linked");
	EVENT(VM ": peer lost (silence)");
	EVENT(VM ": took over at epoch");
	printf("# %s\n", self->h.mon.event);
	note_client("took over");
	/* The client ends both streams AFTER_S after the note. */
	EXPECT_TRUE(guest_line("guest: tcpsvc echo done", WAIT_S, line, sizeof(line)))
		TH_LOG("the echo did not end here");
	printf("# %.*s\n", (int)strcspn(line, "\n"), line);
	EXPECT_TRUE(guest_line("guest: tcpsvc source done", 60, line, sizeof(line)))
		TH_LOG("the source did not end here");
	printf("# %.*s\n", (int)strcspn(line, "\n"), line);
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
	sleep(UNPROTECTED_S);
	EXPECT_EQ(0, ftnl_counter(VM, "\"out_held\":")) TH_LOG("held while unprotected: %s",
							     ftnl_last());
	ASSERT_EQ(0, FTNL(self->h.out, "pair", VM, self->h.peer, PORT)) TH_LOG("%s", self->h.out);
	EVENT(VM ": linked");
	EVENT(VM ": synced");
	note_client("paired");
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

/* A TCP connection to the guest's @port, within @wait_s; -1 if none. */
static int connect_guest(int port, int wait_s)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) };
	time_t deadline = time(NULL) + wait_s;
	int fd;

	inet_pton(AF_INET, GUEST_IP, &to.sin_addr);
	do {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			return -1;
		if (!connect(fd, (struct sockaddr *)&to, sizeof(to)))
			return fd;
		close(fd);
		sleep(1);
	} while (time(NULL) < deadline);
	return -1;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* One stream as the client sees it: records out and in, stalls. */
struct flow {
	const char *name;
	int fd;
	uint64_t sent, got;		/* bytes */
	uint64_t phase_got[NR_PHASES];
	uint8_t in[STREAM_REC];		/* the record being read */
	size_t in_len;
	uint8_t out[STREAM_REC];	/* the record being written */
	size_t out_len, out_off;
	double last, stall, stall_at;	/* the longest gap between reads */
	uint64_t bad;			/* index of the first wrong record + 1 */
	int err;			/* errno of a failed read or write */
	bool eof;
};

static void flow_got(struct flow *f, ssize_t n, enum phase ph, double t0)
{
	double t = now_s();

	if (f->got && t - f->last > f->stall) {
		f->stall = t - f->last;
		f->stall_at = f->last - t0;
	}
	f->last = t;
	f->in_len += n;
	f->got += n;
	f->phase_got[ph] += n;
	if (f->in_len == STREAM_REC) {
		if (!f->bad && !stream_record_ok(f->got / STREAM_REC - 1, f->in))
			f->bad = f->got / STREAM_REC;
		f->in_len = 0;
	}
}

static void flow_read(struct flow *f, enum phase ph, double t0)
{
	ssize_t n = read(f->fd, f->in + f->in_len, STREAM_REC - f->in_len);

	if (n > 0)
		flow_got(f, n, ph, t0);
	else if (n == 0)
		f->eof = true;
	else if (errno != EAGAIN && errno != EINTR)
		f->err = errno;
}

static void flow_write(struct flow *f)
{
	ssize_t n;

	if (f->out_off == f->out_len) {
		stream_record(f->sent / STREAM_REC, f->out);
		f->out_len = STREAM_REC;
		f->out_off = 0;
	}
	n = write(f->fd, f->out + f->out_off, f->out_len - f->out_off);
	if (n > 0) {
		f->out_off += n;
		f->sent += n;
	} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
		f->err = errno;
	}
}

/* A note from a or b, if one came: the phase it begins. */
static void read_note(int fd, enum phase *ph, double *at, double t0)
{
	char buf[32];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	if (n <= 0)
		return;
	buf[n] = 0;
	if (!strcmp(buf, "paired") && *ph == UNPROTECTED)
		*ph = PROTECTED;
	else if (!strcmp(buf, "took over") && *ph != TAKEN_OVER)
		*ph = TAKEN_OVER;
	else
		return;
	at[*ph] = now_s();
	printf("# [%.1f s] %s\n", at[*ph] - t0, phase_name[*ph]);
	fflush(stdout);
}

static int note_socket(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(NOTE_PORT) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Both streams until AFTER_S after the takeover (or WAIT_S in all), then
 * the echo drained: every byte sent must come back.
 */
static void stream_both(struct flow *echo, struct flow *src, int note, double *at)
{
	double t0 = at[UNPROTECTED], end = t0 + 2 * WAIT_S, drain = 0;
	enum phase ph = UNPROTECTED;
	struct pollfd p[3];

	while (!echo->err && !src->err && !echo->eof && !src->eof && now_s() < end) {
		if (ph == TAKEN_OVER && !drain && now_s() > at[TAKEN_OVER] + AFTER_S)
			drain = now_s() + 60;
		if (drain && echo->got == echo->sent)
			break;
		if (drain && now_s() > drain)
			break;
		p[0] = (struct pollfd){ .fd = echo->fd, .events = POLLIN };
		if (!drain && echo->sent - echo->got < WINDOW)
			p[0].events |= POLLOUT;
		p[1] = (struct pollfd){ .fd = drain ? -1 : src->fd, .events = POLLIN };
		p[2] = (struct pollfd){ .fd = note, .events = POLLIN };
		if (poll(p, 3, 1000) <= 0)
			continue;
		if (p[0].revents & (POLLIN | POLLERR | POLLHUP))
			flow_read(echo, ph, t0);
		if (p[0].revents & POLLOUT)
			flow_write(echo);
		if (p[1].revents & (POLLIN | POLLERR | POLLHUP))
			flow_read(src, ph, t0);
		if (p[2].revents & POLLIN)
			read_note(note, &ph, at, t0);
	}
}

static void report(struct flow *f, const double *at)
{
	double end = now_s();
	int ph;

	printf("# %s: %llu bytes in, longest stall %.2f s (at %.1f s)\n", f->name,
	       (unsigned long long)f->got, f->stall, f->stall_at);
	for (ph = 0; ph < NR_PHASES; ph++) {
		double from = at[ph], to = ph + 1 < NR_PHASES && at[ph + 1] ? at[ph + 1] : end;

		if (from)
			printf("#   %-18s %8.1f KiB/s (%llu bytes in %.1f s)\n", phase_name[ph],
			       f->phase_got[ph] / 1024.0 / (to - from),
			       (unsigned long long)f->phase_got[ph], to - from);
	}
}

/* Host c: the client. */
static void client_side(struct __test_metadata *_metadata)
{
	struct flow echo = { .name = "echo" }, src = { .name = "source" };
	double at[NR_PHASES] = { 0 };
	uint8_t req[8];
	int note, ph, i;

	note = note_socket();
	ASSERT_LE(0, note) TH_LOG("cannot bind UDP %d: %s", NOTE_PORT, strerror(errno));
	echo.fd = connect_guest(STREAM_ECHO_PORT, WAIT_S);
	ASSERT_LE(0, echo.fd) TH_LOG("no echo service at " GUEST_IP);
	src.fd = connect_guest(STREAM_SOURCE_PORT, 60);
	ASSERT_LE(0, src.fd) TH_LOG("no source service at " GUEST_IP);
	for (i = 0; i < 8; i++)
		req[i] = (uint8_t)((1ull << 40) >> (8 * i));	/* more than it will send */
	ASSERT_EQ(8, write(src.fd, req, 8));
	fcntl(echo.fd, F_SETFL, O_NONBLOCK);
	fcntl(src.fd, F_SETFL, O_NONBLOCK);
	at[UNPROTECTED] = now_s();
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
	ASSERT_NE(0, at[TAKEN_OVER]) TH_LOG("no takeover within %d s", 2 * WAIT_S);
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
