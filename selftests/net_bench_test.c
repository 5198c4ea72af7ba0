// SPDX-License-Identifier: GPL-2.0
/*
 * make bench: what output commit costs a client of the guest, FT off and
 * on in the same run, on a trio (the runner's --trio, as stream_test):
 * host b runs the primary's QEMU with the guest's TCP service
 * (guest/tcpsvc.c), host a the backup's, host c the client.  Figures,
 * never verdicts on speed; what it asserts is that every figure was
 * measured (the streams moved, every record right, pings answered).
 *
 * Per phase ("off": the VM registered but not paired; "on": paired and
 * synced), host c measures:
 *   - ICMP echo round trips to the guest, one at a time: p50 and p99;
 *   - one TCP stream to the echo and back for STREAM_S: KiB/s;
 *   - one TCP stream from the guest's source for STREAM_S: KiB/s.
 * Then the added round trip (on less off, p50) beside its floor: half an
 * epoch (the average wait for the epoch a reply falls in to end) plus
 * the round trip of the replication link (b measures it with ping before
 * pairing); what is left over is the transfer of the epoch, the snapshot's
 * pause and the acknowledgement's scheduling.  Host b prints the engine's
 * own view: how long its packets were held (p50, p99).  A third phase
 * ("adapt") measures again with epochs that follow the output
 * (epoch_min_us ADAPT_MIN_US): an epoch ends early when a reply waits.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "flow.h"
#include "guest.h"
#include "pair.h"
#include "run.h"
#include "test.h"

#define VM		"nb"
#define PORT		"7924"
#define WAIT_S		600
#define PINGS		200
#define PING_GAP_MS	20
#define STREAM_S	10
#define WINDOW		(64 * STREAM_REC)
#define SETTLE_EPOCHS	20
#define ADAPT_MIN_US	1000

struct figures {
	double rtt_p50, rtt_p99;	/* ms */
	int answered;
	double echo_kib_s, source_kib_s;
};

FIXTURE(nb) {
	struct guest_host h;
	bool client;
};

FIXTURE_SETUP(nb)
{
	int side = guest_trio_setup(&self->h);

	ASSERT_LE(0, side);
	self->client = side;
}

FIXTURE_TEARDOWN(nb)
{
	if (!self->client)
		knob_set("epoch_min_us", 0);
	guest_host_teardown(&self->h, VM);
}

#define EVENT(want) ASSERT_TRUE(monitor_next(&self->h.mon, want, WAIT_S)) \
	TH_LOG("expected event '%s', got '%s'", want, self->h.mon.event)

static uint16_t icmp_sum(const void *p, size_t len)
{
	const uint16_t *w = p;
	uint32_t sum = 0;

	for (; len > 1; len -= 2)
		sum += *w++;
	if (len)
		sum += *(const uint8_t *)w;
	sum = (sum >> 16) + (sum & 0xffff);
	return ~(sum + (sum >> 16));
}

/* One ICMP echo to the guest: its round trip in ms, or -1 after 2 s. */
static double ping_once(int fd, uint16_t seq)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct { struct icmphdr h; char data[56]; } req = { 0 };
	struct pollfd p = { .fd = fd, .events = POLLIN };
	double t0 = flow_now(), left;
	char buf[1500];
	ssize_t n;

	inet_pton(AF_INET, GUEST_IP, &to.sin_addr);
	req.h.type = ICMP_ECHO;
	req.h.un.echo.id = htons(getpid() & 0xffff);
	req.h.un.echo.sequence = htons(seq);
	req.h.checksum = icmp_sum(&req, sizeof(req));
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return -1;
	while ((left = t0 + 2 - flow_now()) > 0 && poll(&p, 1, left * 1000) == 1) {
		struct iphdr *ip = (struct iphdr *)buf;
		struct icmphdr *h;

		n = recv(fd, buf, sizeof(buf), 0);
		if (n < (ssize_t)sizeof(*ip) || n < ip->ihl * 4 + (ssize_t)sizeof(*h))
			continue;
		h = (struct icmphdr *)(buf + ip->ihl * 4);
		if (h->type == ICMP_ECHOREPLY && h->un.echo.id == req.h.un.echo.id &&
		    h->un.echo.sequence == req.h.un.echo.sequence)
			return (flow_now() - t0) * 1000;
	}
	return -1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void pings(struct figures *f)
{
	double rtt[PINGS];
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), i;

	f->answered = 0;
	for (i = 0; fd >= 0 && i < PINGS; i++) {
		double r = ping_once(fd, i);

		if (r >= 0)
			rtt[f->answered++] = r;
		usleep(PING_GAP_MS * 1000);
	}
	if (fd >= 0)
		close(fd);
	if (!f->answered)
		return;
	qsort(rtt, f->answered, sizeof(rtt[0]), cmp_double);
	f->rtt_p50 = rtt[f->answered / 2];
	f->rtt_p99 = rtt[f->answered * 99 / 100];
}

/* One stream for STREAM_S: KiB/s read; false (and why) if it went wrong. */
static bool stream_rate(int port, double *kib_s, char *why, size_t len)
{
	struct flow f;
	double end;

	if (!flow_connect(&f, port == STREAM_ECHO_PORT ? "echo" : "source", port, 1ull << 40, 60)) {
		snprintf(why, len, "no connection to port %d", port);
		return false;
	}
	end = flow_now() + STREAM_S;
	while (!f.err && !f.eof && flow_now() < end) {
		struct pollfd p = { .fd = f.fd, .events = POLLIN };

		if (port == STREAM_ECHO_PORT && f.sent - f.got < WINDOW)
			p.events |= POLLOUT;
		if (poll(&p, 1, 200) <= 0)
			continue;
		if (p.revents & (POLLIN | POLLERR | POLLHUP))
			flow_read(&f);
		if (p.revents & POLLOUT)
			flow_write(&f);
	}
	close(f.fd);
	*kib_s = f.got / 1024.0 / STREAM_S;
	snprintf(why, len, "%s: %s, record %llu wrong, %llu bytes", f.name,
		 f.err ? strerror(f.err) : f.eof ? "closed by the guest" : "ok",
		 (unsigned long long)(f.bad ? f.bad - 1 : 0), (unsigned long long)f.got);
	return !f.err && !f.eof && !f.bad && f.got;
}

static void measure(struct __test_metadata *_metadata, const char *phase, struct figures *f)
{
	char why[160];

	pings(f);
	EXPECT_LT(PINGS / 2, f->answered) TH_LOG("%s: %d of %d pings answered", phase,
						 f->answered, PINGS);
	EXPECT_TRUE(stream_rate(STREAM_ECHO_PORT, &f->echo_kib_s, why, sizeof(why)))
		TH_LOG("%s: %s", phase, why);
	EXPECT_TRUE(stream_rate(STREAM_SOURCE_PORT, &f->source_kib_s, why, sizeof(why)))
		TH_LOG("%s: %s", phase, why);
	printf("# FT %-3s  ping p50 %7.2f ms  p99 %7.2f ms (%d/%d)  echo %8.1f KiB/s  "
	       "source %8.1f KiB/s\n", phase, f->rtt_p50, f->rtt_p99, f->answered, PINGS,
	       f->echo_kib_s, f->source_kib_s);
	fflush(stdout);
}

static void client_side(struct __test_metadata *_metadata)
{
	struct figures off, on, adapt;
	unsigned int epoch_us = 0, link_us = 0;
	double floor_ms, added;
	char buf[64];
	int note = flow_note_socket();

	ASSERT_LE(0, note) TH_LOG("cannot bind UDP %d", FLOW_NOTE_PORT);
	ASSERT_TRUE(flow_note_for(note, "off", buf, sizeof(buf), WAIT_S)) TH_LOG("no word from b");
	measure(_metadata, "off", &off);
	flow_note(FLOW_B_IP, "done");
	ASSERT_TRUE(flow_note_for(note, "on ", buf, sizeof(buf), WAIT_S)) TH_LOG("b never paired");
	ASSERT_EQ(2, sscanf(buf, "on %u %u", &epoch_us, &link_us)) TH_LOG("note '%s'", buf);
	measure(_metadata, "on", &on);
	flow_note(FLOW_B_IP, "done");
	ASSERT_TRUE(flow_note_for(note, "adapt", buf, sizeof(buf), WAIT_S)) TH_LOG("b never adapted");
	measure(_metadata, "adapt", &adapt);
	flow_note(FLOW_B_IP, "done");
	close(note);

	floor_ms = epoch_us / 2000.0 + link_us / 1000.0;
	added = on.rtt_p50 - off.rtt_p50;
	printf("# ping: +%.2f ms at p50 with FT (floor %.2f ms: half an epoch of %u us "
	       "+ the link's round trip %.2f ms; left over %.2f ms: the epoch's transfer, "
	       "the pause, scheduling)\n", added, floor_ms, epoch_us, link_us / 1000.0,
	       added - floor_ms);
	printf("# ratios on/off: ping p50 %.2f, p99 %.2f; echo stream %.3f; source stream %.3f\n",
	       on.rtt_p50 / off.rtt_p50, on.rtt_p99 / off.rtt_p99,
	       on.echo_kib_s / off.echo_kib_s, on.source_kib_s / off.source_kib_s);
	printf("# with epochs that follow output (epoch_min_us %d): ping +%.2f ms at p50 "
	       "(floor: the link's round trip %.2f ms); ratios adapt/off: ping p50 %.2f, "
	       "p99 %.2f; echo stream %.3f; source stream %.3f\n", ADAPT_MIN_US,
	       adapt.rtt_p50 - off.rtt_p50, link_us / 1000.0, adapt.rtt_p50 / off.rtt_p50,
	       adapt.rtt_p99 / off.rtt_p99, adapt.echo_kib_s / off.echo_kib_s,
	       adapt.source_kib_s / off.source_kib_s);
}

/* The replication link's round trip, ms, from busybox ping's average. */
static unsigned int link_rtt_us(const char *peer)
{
	char out[2048], *avg;
	double min, mean;

	if (run_capture(0, out, sizeof(out), "busybox", (const char *const[]){
			"busybox", "ping", "-q", "-c", "10", "-i", "0.2", peer, NULL }))
		return 0;
	avg = strstr(out, "min/avg/max = ");
	if (!avg || sscanf(avg, "min/avg/max = %lf/%lf", &min, &mean) != 2)
		return 0;
	return mean * 1000;
}

static void primary_side(struct __test_metadata *_metadata, FIXTURE_DATA(nb) *self)
{
	unsigned int link_us;
	char line[256], buf[64];
	int note = flow_note_socket();

	ASSERT_LE(0, note) TH_LOG("cannot bind UDP %d", FLOW_NOTE_PORT);
	ASSERT_TRUE(guest_host_qemu(&self->h, VM, "primary", "cuju_job=serve", 128, NULL));
	ASSERT_TRUE(guest_line("guest: tcpsvc up", 180, line, sizeof(line))) TH_LOG("no service");
	link_us = link_rtt_us(self->h.peer);
	ASSERT_LT(0, link_us) TH_LOG("no ping to %s", self->h.peer);
	flow_note(FLOW_CLIENT_IP, "off");
	ASSERT_TRUE(flow_note_for(note, "done", buf, sizeof(buf), WAIT_S)) TH_LOG("c never finished off");
	EXPECT_EQ(0, ftnl_counter(VM, "\"out_held\":")) TH_LOG("held unprotected: %s", ftnl_last());

	ASSERT_EQ(0, FTNL(self->h.out, "pair", VM, self->h.peer, PORT, TEST_KEY)) TH_LOG("%s", self->h.out);
	EVENT(VM ": linked");
	EVENT(VM ": synced");
	ASSERT_TRUE(ftnl_epochs_settle(VM, WAIT_S)) TH_LOG("%s", ftnl_last());
	ASSERT_TRUE(ftnl_counter_reaches(VM, "\"epochs\":", SETTLE_EPOCHS, WAIT_S))
		TH_LOG("%s", ftnl_last());
	snprintf(buf, sizeof(buf), "on %u %u", (unsigned int)ftnl_counter(VM, "\"epoch_us\":"),
		 link_us);
	/* Late "done"s of the first phase are read away first. */
	flow_note_drain(note);
	flow_note(FLOW_CLIENT_IP, buf);
	ASSERT_TRUE(flow_note_for(note, "done", buf, sizeof(buf), WAIT_S)) TH_LOG("c never finished on");
	ASSERT_EQ(0, FTNL(self->h.out, "show", VM));
	printf("# the engine, FT on:\n%s", self->h.out);
	EXPECT_LT(0, ftnl_counter(VM, "\"out_released\":")) TH_LOG("nothing held: %s", ftnl_last());
	ASSERT_TRUE(knob_set("epoch_min_us", ADAPT_MIN_US));
	flow_note_drain(note);
	flow_note(FLOW_CLIENT_IP, "adapt");
	ASSERT_TRUE(flow_note_for(note, "done", buf, sizeof(buf), WAIT_S)) TH_LOG("c never finished adapt");
	ASSERT_EQ(0, FTNL(self->h.out, "show", VM));
	printf("# the engine, epochs following output:\n%s", self->h.out);
	close(note);
}

static void backup_side(struct __test_metadata *_metadata, FIXTURE_DATA(nb) *self)
{
	ASSERT_TRUE(guest_host_qemu(&self->h, VM, "backup", "cuju_job=serve", 128, NULL));
	ASSERT_EQ(0, FTNL(self->h.out, "listen", VM, "0.0.0.0", PORT, TEST_KEY)) TH_LOG("%s", self->h.out);
	EVENT(VM ": linked");
	EVENT(VM ": peer lost (closed)");
}

TEST_F_TIMEOUT(nb, ping_and_streams_off_and_on, 3 * WAIT_S)
{
	if (self->client)
		client_side(_metadata);
	else if (!strcmp(self->h.role, "a"))
		backup_side(_metadata, self);
	else
		primary_side(_metadata, self);
}

TEST_HARNESS_MAIN
