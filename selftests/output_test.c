// SPDX-License-Identifier: GPL-2.0
/*
 * Output commit on the network: what a protected VM sends reaches the
 * world only once the backup holds the epoch that sent it.
 *
 *   +------ test host a ------+           +------ test host b --------------+
 *   | VM "out" (backup)       |   eth0    | VM "out" (primary), its tap     |
 *   | ftnl listen :7917       |<--------->| "ftout" (KVM_FT_OUTPUT_DEV):    |
 *   | ... ip link set eth0    |           | this test writes UDP frames     |
 *   |     down (acks stop)    |  ~~cut~~  | into the tap as a VMM would and |
 *   |                         |           | reads them from a UDP socket    |
 *   +-------------------------+           +---------------------------------+
 *
 * Host b, with host a as the backup:
 * 1. unprotected (not yet paired), frames pass at once and nothing is held;
 * 2. paired, every frame arrives, each after it was held (the counters);
 * 3. told by b (a datagram on the test link), a cuts its link: no
 *    acknowledgement comes, and no frame written after that arrives;
 *    beyond output_max_kb the frames are dropped and counted;
 * 4. the backup lost (silence), b runs unprotected: every held frame is
 *    released, in order, and new ones pass at once again.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/kvm_ft.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "pair.h"
#include "run.h"
#include "test.h"
#include "vmm.h"

#define VM		"out"
#define PORT		"7918"
#define WAIT_S		90
#define FAILOVER_MS	20000	/* the cut: long enough to see nothing arrive, even on the debug kernel (6 s was not) */
#define TAP		"ftout"
#define HOST_IP		"10.79.0.1"
#define GUEST_IP	"10.79.0.2"
#define UDP_PORT	7977
#define FRAME_DATA	1000	/* bytes of UDP payload */
#define BOUND_KB	64	/* output_max_kb during the cut */
#define CUT_PORT	7979	/* b tells a to cut its link */
#define ADAPT_PORT	"7930"	/* epochs that follow output */
#define LONG_US		1000000	/* the VM's epoch length there: 1 s */
#define SHORT_US	250000	/* an epoch ended this early ended for output */
#define STRETCH_US	200000	/* epoch_max_us there ... */
#define STRETCHED_US	150000	/* ... an epoch this long was stretched */

FIXTURE(out) {
	const char *role;
	struct vm *vm;
	struct monitor mon;
	int tap, sock;
	unsigned char mac[6];	/* the tap's, as the guest would address it */
	unsigned int seq;	/* of the next frame */
	char out[8192];
};

/* The tap as QEMU opens it: its fd, the frames written to it its input. */
static int tap_open(void)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	strcpy(ifr.ifr_name, TAP);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static bool tap_mac(unsigned char *mac)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	bool ok;

	strcpy(ifr.ifr_name, TAP);
	ok = s >= 0 && !ioctl(s, SIOCGIFHWADDR, &ifr);
	if (ok)
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	if (s >= 0)
		close(s);
	return ok;
}

static int tap_index(void)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	bool ok;

	strcpy(ifr.ifr_name, TAP);
	ok = s >= 0 && !ioctl(s, SIOCGIFINDEX, &ifr);
	if (s >= 0)
		close(s);
	return ok ? ifr.ifr_ifindex : -1;
}

/* a: wait, at most WAIT_S, for b's word to cut the link. */
static bool wait_cut(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(CUT_PORT) };
	struct timeval tv = { .tv_sec = WAIT_S };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char buf[8];
	bool ok;

	ok = s >= 0 && !bind(s, (struct sockaddr *)&sa, sizeof(sa)) &&
	     !setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) &&
	     recv(s, buf, sizeof(buf), 0) > 0;
	if (s >= 0)
		close(s);
	return ok;
}

/* b: tell a to cut (a few times: a datagram may be lost). */
static void say_cut(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(CUT_PORT) };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), i;

	inet_pton(AF_INET, getenv("CUJU_PEER"), &sa.sin_addr);
	for (i = 0; s >= 0 && i < 5; i++) {
		sendto(s, "cut", 3, 0, (struct sockaddr *)&sa, sizeof(sa));
		usleep(100 * 1000);
	}
	if (s >= 0)
		close(s);
}

static unsigned short ip_sum(const unsigned char *h, int len)
{
	unsigned int sum = 0;
	int i;

	for (i = 0; i < len; i += 2)
		sum += h[i] << 8 | h[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/* One UDP frame from the "guest" to HOST_IP:UDP_PORT, carrying @seq. */
static bool send_frame(FIXTURE_DATA(out) *self, unsigned int seq)
{
	static const unsigned char guest_mac[6] = { 0x52, 0x54, 0x00, 0x79, 0x00, 0x02 };
	unsigned char f[14 + 20 + 8 + FRAME_DATA] = { 0 };
	unsigned char *ip = f + 14, *udp = ip + 20;
	struct in_addr src, dst;
	unsigned short sum;

	memcpy(f, self->mac, 6);
	memcpy(f + 6, guest_mac, 6);
	f[12] = 0x08;				/* IPv4 */
	ip[0] = 0x45;
	ip[2] = (20 + 8 + FRAME_DATA) >> 8;
	ip[3] = (20 + 8 + FRAME_DATA) & 0xff;
	ip[6] = 0x40;				/* don't fragment */
	ip[8] = 64;
	ip[9] = 17;				/* UDP */
	inet_pton(AF_INET, GUEST_IP, &src);
	inet_pton(AF_INET, HOST_IP, &dst);
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	sum = ip_sum(ip, 20);
	ip[10] = sum >> 8;
	ip[11] = sum & 0xff;
	udp[0] = 7978 >> 8;
	udp[1] = 7978 & 0xff;
	udp[2] = UDP_PORT >> 8;
	udp[3] = UDP_PORT & 0xff;
	udp[4] = (8 + FRAME_DATA) >> 8;
	udp[5] = (8 + FRAME_DATA) & 0xff;	/* checksum 0: none, as IPv4 allows */
	memcpy(udp + 8, &seq, sizeof(seq));
	return write(self->tap, f, sizeof(f)) == sizeof(f);
}

/* The next frame's seq within @ms, or -1 if none came. */
static long recv_seq(FIXTURE_DATA(out) *self, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = ms % 1000 * 1000 };
	unsigned char buf[FRAME_DATA];
	unsigned int seq;

	setsockopt(self->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (recv(self->sock, buf, sizeof(buf), 0) != FRAME_DATA)
		return -1;
	memcpy(&seq, buf, sizeof(seq));
	return seq;
}

FIXTURE_SETUP(out)
{
	struct kvm_ft_register r = { .name = VM, .flags = KVM_FT_F_NO_DEVICE_STATE };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(UDP_PORT) };
	struct kvm_ft_output_dev d = { 0 };

	self->role = getenv("CUJU_ROLE");
	self->tap = self->sock = -1;
	ASSERT_NE(NULL, self->role) TH_LOG("run by the test runner on two hosts");
	ASSERT_NE(NULL, getenv("CUJU_PEER"));
	knob_set("failover_timeout_ms", FAILOVER_MS);
	knob_set("auto_failover", 0);	/* a cut, not a failover */
	r.role = strcmp(self->role, "a") ? KVM_FT_ROLE_PRIMARY : KVM_FT_ROLE_BACKUP;
	self->vm = vm_create_with(KVM_MEM_LOG_DIRTY_PAGES);
	vcpu_add(self->vm, 0, NULL, 0, 0);
	ASSERT_EQ(0, ioctl(self->vm->fd, KVM_FT_REGISTER, &r));
	ASSERT_TRUE(monitor_start(&self->mon)) TH_LOG("ftnl monitor did not start");
	if (r.role == KVM_FT_ROLE_BACKUP)
		return;
	self->tap = tap_open();
	ASSERT_LE(0, self->tap) TH_LOG("cannot open the tap " TAP);
	ASSERT_EQ(0, IP(self->out, "addr", "add", HOST_IP "/24", "dev", TAP)) TH_LOG("%s", self->out);
	ASSERT_EQ(0, IP(self->out, "link", "set", TAP, "up")) TH_LOG("%s", self->out);
	ASSERT_TRUE(tap_mac(self->mac));
	self->sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	inet_pton(AF_INET, HOST_IP, &sa.sin_addr);
	ASSERT_EQ(0, bind(self->sock, (struct sockaddr *)&sa, sizeof(sa)));
	d.ifindex = tap_index();
	ASSERT_EQ(0, ioctl(self->vm->fd, KVM_FT_OUTPUT_DEV, &d));
	EXPECT_EQ(-1, ioctl(self->vm->fd, KVM_FT_OUTPUT_DEV, &d)) TH_LOG("given twice");
	d.reserved = 1;
	EXPECT_EQ(-1, ioctl(self->vm->fd, KVM_FT_OUTPUT_DEV, &d)) TH_LOG("reserved set");
	d.reserved = 0;
	d.ifindex = 1;		/* lo: the first device of every namespace */
	EXPECT_EQ(-1, ioctl(self->vm->fd, KVM_FT_OUTPUT_DEV, &d)) TH_LOG("lo, not a tap, taken");
	EXPECT_EQ(EINVAL, errno);
}

FIXTURE_TEARDOWN(out)
{
	char out[256];

	if (self->sock >= 0)
		close(self->sock);
	if (self->tap >= 0)
		close(self->tap);	/* deletes the tap: the engine lets go of it */
	knob_set("output_max_kb", KVM_FT_OUTPUT_KB_DEFAULT);
	knob_set("epoch_min_us", 0);
	knob_set("epoch_max_us", 0);
	pair_teardown(&self->mon, VM);
	IP(out, "link", "set", "eth0", "up");
	vm_destroy(self->vm);
}

#define EVENT(want) ASSERT_TRUE(monitor_next(&self->mon, want, WAIT_S)) \
	TH_LOG("expected event '%s', got '%s'", want, self->mon.event)

/* @n frames written, each read back in order within @ms. */
static void pass(struct __test_metadata *_metadata, FIXTURE_DATA(out) *self, int n, int ms)
{
	int i;

	for (i = 0; i < n; i++) {
		unsigned int seq = self->seq++;

		ASSERT_TRUE(send_frame(self, seq));
		ASSERT_EQ((long)seq, recv_seq(self, ms)) TH_LOG("frame %u", seq);
	}
}

/* The primary's epochs acknowledged stand still: its backup is cut off. */
static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/*
 * The backup stopped acknowledging: last_epoch unmoved for a second of
 * the outer clock.  Counted in ftnl calls it took ten of them, and on the
 * debug kernel under load each takes a second or more: the cut's check
 * then came past failover_timeout_ms, when the primary had let its held
 * output go (2026-12-07).
 */
static bool acks_stopped(void)
{
	unsigned long long last = ftnl_counter(VM, "\"last_epoch\":"), now;
	double since = now_s(), end = since + 20;

	while (now_s() < end) {
		usleep(100 * 1000);
		now = ftnl_counter(VM, "\"last_epoch\":");
		if (now != last) {
			last = now;
			since = now_s();
		} else if (now_s() - since >= 1) {
			return true;
		}
	}
	return false;
}

TEST_F_TIMEOUT(out, held_until_committed, 4 * WAIT_S)
{
	unsigned long long held, dropped;
	unsigned int first;
	double cut;
	int i, n;

	if (!strcmp(self->role, "a")) {
		ASSERT_EQ(0, FTNL(self->out, "listen", VM, "0.0.0.0", PORT, TEST_KEY)) TH_LOG("%s", self->out);
		EVENT(VM ": linked");
		/* b's frames pass while we acknowledge; then, told, we go silent. */
		ASSERT_TRUE(wait_cut()) TH_LOG("b did not ask for the cut");
		ASSERT_EQ(0, IP(self->out, "link", "set", "eth0", "down")) TH_LOG("%s", self->out);
		EVENT(VM ": peer lost (silence)");
		sleep(FAILOVER_MS / 1000 + 5);	/* b sees it too before the link is back */
		ASSERT_EQ(0, IP(self->out, "link", "set", "eth0", "up")) TH_LOG("%s", self->out);
		return;
	}
	/* 1. Unprotected: nothing held. */
	pass(_metadata, self, 10, 1000);
	EXPECT_EQ(0, ftnl_counter(VM, "\"out_held\":")) TH_LOG("%s", ftnl_last());
	ASSERT_EQ(0, FTNL(self->out, "show", VM));
	EXPECT_NE(NULL, strstr(self->out, "held on " TAP ":")) TH_LOG("%s", self->out);

	/*
	 * 2. Paired: from the first checkpoint's snapshot on (epoch 2 begun;
	 * before it no takeover is possible, so nothing is held), every frame
	 * comes, each after being held.
	 */
	ASSERT_EQ(0, FTNL(self->out, "pair", VM, getenv("CUJU_PEER"), PORT, TEST_KEY)) TH_LOG("%s", self->out);
	EVENT(VM ": linked");
	EVENT(VM ": synced");
	ASSERT_TRUE(ftnl_counter_reaches(VM, "\"cur_epoch\":", 2, WAIT_S)) TH_LOG("%s", ftnl_last());
	pass(_metadata, self, 50, 5000);
	held = ftnl_counter(VM, "\"out_held\":");
	EXPECT_LE(50, held) TH_LOG("%s", ftnl_last());
	EXPECT_EQ(held, ftnl_last_counter("\"out_released\":")) TH_LOG("%s", ftnl_last());
	EXPECT_EQ(0, ftnl_last_counter("\"out_depth\":")) TH_LOG("%s", ftnl_last());

	/* 3. a cut off: nothing written from now on comes out. */
	cut = now_s();
	say_cut();
	ASSERT_TRUE(acks_stopped()) TH_LOG("the backup went on acknowledging");
	ASSERT_TRUE(knob_set("output_max_kb", BOUND_KB));
	first = self->seq;
	n = 2 * BOUND_KB * 1024 / FRAME_DATA;	/* twice the bound */
	for (i = 0; i < n; i++) {
		ASSERT_TRUE(send_frame(self, self->seq++));
	}
	EXPECT_EQ(-1, recv_seq(self, 1000))
		TH_LOG("a frame of an uncommitted epoch came out, %.1f s after the cut (failover %d s)",
		       now_s() - cut, FAILOVER_MS / 1000);
	ASSERT_EQ(0, FTNL(self->out, "-j", "show", VM));
	EXPECT_NE(NULL, strstr(self->out, "\"state\":\"connected\"")) TH_LOG("%s", self->out);
	dropped = ftnl_counter(VM, "\"out_dropped\":");
	EXPECT_LE((unsigned long long)n / 3, dropped) TH_LOG("%s", ftnl_last());
	EXPECT_GE(BOUND_KB * 1024ULL, ftnl_last_counter("\"out_depth\":")) TH_LOG("%s", ftnl_last());

	/* 4. The backup lost: unprotected, what was held comes out, in order. */
	EVENT(VM ": peer lost (silence)");
	for (i = 0; i < n - (int)dropped; i++) {
		ASSERT_EQ((long)(first + i), recv_seq(self, 5000)) TH_LOG("held frame %d", i);
	}
	EXPECT_EQ(-1, recv_seq(self, 500)) TH_LOG("more than was held came out");
	self->seq = first + n;
	pass(_metadata, self, 10, 1000);
	held = ftnl_counter(VM, "\"out_held\":");
	EXPECT_EQ(held, ftnl_last_counter("\"out_released\":")) TH_LOG("%s", ftnl_last());
	printf("# %llu frames held in all, %llu dropped at %u KiB\n", held, dropped, BOUND_KB);
}

/*
 * Epochs of the VM's epoch_hist (ftnl -j show) at most @short_us long
 * (the upper end of their bucket), or at least @long_us (its lower end).
 */
static unsigned long long epochs_of(const char *json, unsigned long long short_us,
				    unsigned long long long_us)
{
	const char *p = strstr(json, "\"epoch_hist\":[");
	unsigned long long n = 0, c;
	int i;

	for (i = 0; p && i < KVM_FT_HIST_BUCKETS; i++) {
		p = strpbrk(p, "[,");
		if (!p || sscanf(p + 1, "%llu", &c) != 1)
			return 0;
		p++;
		if ((short_us && kvm_ft_hist_lower(i + 1) <= short_us) ||
		    (long_us && kvm_ft_hist_lower(i) >= long_us))
			n += c;
	}
	return n;
}

/*
 * Epochs that follow output (epoch_min_us, epoch_max_us): with the VM's
 * epochs 1 s long, each frame the guest writes ends its epoch early once
 * the link is idle, so that it comes out in far less than an epoch; and
 * with nothing to send and nothing dirtied, epochs of 10 ms stretch
 * towards epoch_max_us.  Told by the epochs' lengths (epoch_hist).
 */
TEST_F_TIMEOUT(out, epochs_follow_output, 2 * WAIT_S)
{
	unsigned long long early, stretched;
	char us[16];


	if (!strcmp(self->role, "a")) {
		ASSERT_EQ(0, FTNL(self->out, "listen", VM, "0.0.0.0", ADAPT_PORT, TEST_KEY))
			TH_LOG("%s", self->out);
		EVENT(VM ": linked");
		EVENT(VM ": peer lost (closed)");
		return;
	}
	ASSERT_EQ(0, FTNL(self->out, "pair", VM, getenv("CUJU_PEER"), ADAPT_PORT, TEST_KEY))
		TH_LOG("%s", self->out);
	EVENT(VM ": linked");
	EVENT(VM ": synced");
	ASSERT_TRUE(ftnl_counter_reaches(VM, "\"cur_epoch\":", 2, WAIT_S)) TH_LOG("%s", ftnl_last());

	/* Counted from here on: the 10 ms epochs so far are short too. */
	snprintf(us, sizeof(us), "%d", LONG_US);
	ASSERT_EQ(0, FTNL(self->out, "set", VM, "epoch-us", us)) TH_LOG("%s", self->out);
	ASSERT_EQ(0, FTNL(self->out, "-j", "show", VM));
	early = epochs_of(self->out, SHORT_US, 0);
	ASSERT_TRUE(knob_set("epoch_min_us", KVM_FT_EPOCH_US_MIN));
	pass(_metadata, self, 20, 5000);
	ASSERT_EQ(0, FTNL(self->out, "-j", "show", VM));
	early = epochs_of(self->out, SHORT_US, 0) - early;
	EXPECT_LE(10, early) TH_LOG("%s", self->out);
	ASSERT_TRUE(knob_set("epoch_min_us", 0));

	/* And from here on: an epoch of 1 s may have come before the frames. */
	stretched = epochs_of(self->out, 0, STRETCHED_US);
	ASSERT_EQ(0, FTNL(self->out, "set", VM, "epoch-us", "10000")) TH_LOG("%s", self->out);
	ASSERT_TRUE(knob_set("epoch_max_us", STRETCH_US));
	sleep(3);
	ASSERT_EQ(0, FTNL(self->out, "-j", "show", VM));
	stretched = epochs_of(self->out, 0, STRETCHED_US) - stretched;
	EXPECT_LE(5, stretched) TH_LOG("%s", self->out);
	ASSERT_TRUE(knob_set("epoch_max_us", 0));
	ASSERT_EQ(0, FTNL(self->out, "show", VM));
	EXPECT_NE(NULL, strstr(self->out, "lengths:   of epochs, 50% ")) TH_LOG("%s", self->out);
	printf("# %llu epochs ended early for output, %llu stretched\n", early, stretched);
	EXPECT_EQ(0, FTNL(self->out, "stop", VM)) TH_LOG("%s", self->out);
}

TEST_HARNESS_MAIN
