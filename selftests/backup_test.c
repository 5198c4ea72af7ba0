// SPDX-License-Identifier: GPL-2.0
/*
 * The backup's receive path against good and hostile streams.  Host a runs
 * a backup VM and makes it listen (ftnl listen, with the suite's key);
 * host b plays the primary with a user-space sender built on the same
 * codec (kernel/wire.c) and the same AEAD (lib/useal.c): it holds the key,
 * so that what it sends reaches the checks behind the seal, unless the
 * variant is about the seal or the handshake itself.  Every bad stream
 * first stages a page in epoch 2 (after the sync's page in epoch 1), so
 * that "the VM's memory is unchanged" shows that a partial epoch is never
 * applied.
 *
 *   +------------- test host a -------------+       +---- test host b ----+
 *   | VM "bk" (backup): 32 MiB + 64 pages   |       | sender:             |
 *   | ftnl listen bk 0.0.0.0 7800+n key K   |<------| INIT, CONFIRM,      |
 *   | kvm_ft_rx/bk: open, check, stage, ACK |       | HELLO, BEGIN 1, ... |
 *   | test: counters (ftnl -j), VM memory   |------>| the variant's frames|
 *   +---------------------------------------+ REPLY +---------------------+
 *                                              ACK
 */
#include <arpa/inet.h>
#include <linux/kvm_ft.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"
#include "useal.h"
#include "test.h"
#include "vmm.h"
#include "wire.h"

#define PORT		7800
#define WAIT_S		90
#define SLOT_PAGES	64
#define MEM_PAGES	(VMM_MAIN_SIZE / VMM_PAGE_SIZE + SLOT_PAGES)
#define TEST_GFN	(VMM_TEST_GPA / VMM_PAGE_SIZE + 5)	/* the sync's page */
#define STAGED_GFN	(TEST_GFN + 2)			/* epoch 2's */
#define DELTA_GFN	(TEST_GFN + 1)			/* epoch 2's delta */
#define DELTA_AT	100				/* where it writes 8 bytes */
#define HOLE_GFN	(VMM_MAIN_SIZE / VMM_PAGE_SIZE + 1)	/* between the slots */
#define HDR		sizeof(struct kvm_ft_wire_hdr)
#define TAG		KVM_FT_WIRE_TAG_LEN
#define PATTERN		0x5a

enum send_what {
	SEND_VALID_EPOCH, SEND_BAD_VERSION, SEND_LEN_PAST_MAX, SEND_GFN_HOLE,
	SEND_GFN_BEYOND, SEND_VCPU_INDEX, SEND_TRUNCATED_EPOCH, SEND_GARBAGE,
	SEND_CLOSED_MID_FRAME, SEND_BAD_CRC, SEND_BAD_SHAPE, SEND_BAD_VERIFY,
	SEND_WRONG_KEY, SEND_NO_KEY, SEND_FLIPPED, SEND_REPLAY, SEND_REORDER,
	SEND_OLD_CONN, SEND_SECOND, SEND_SILENT, SEND_OLD_VERSION, SEND_DELTA,
	SEND_BAD_DELTA, SEND_VCPU_DELTA_NO_BASE, SEND_DEVICE_DELTA_NO_BASE,
	SEND_DEVICE_DELTA_WRONG_BASE,
};

FIXTURE(rx) {
	const char *role;
	char out[4096];
	struct vm *vm;
	uint8_t *slot;
};

FIXTURE_VARIANT(rx) {
	int port;		/* its own port: no variant sees another's stream */
	enum send_what what;
	const char *error;	/* the refusal counted, NULL: none */
	bool synced;		/* the sync's page written */
	bool applied;		/* epoch 2's page written */
	bool insecure;		/* both sides said insecure: checksums, no seal */
	bool device;		/* a VM with device state: HELLO says so */
};

#define VARIANT(_name, _n, _what, _error, _synced, _applied, _insecure)	\
	FIXTURE_VARIANT_ADD(rx, _name) {				\
		.port = PORT + (_n), .what = (_what), .error = (_error),	\
		.synced = (_synced), .applied = (_applied), .insecure = (_insecure), \
	}

VARIANT(valid_epoch_applied, 0, SEND_VALID_EPOCH, NULL, true, true, false);
VARIANT(wrong_version, 1, SEND_BAD_VERSION, "version", true, false, false);
VARIANT(length_past_max, 2, SEND_LEN_PAST_MAX, "length", true, false, false);
VARIANT(gfn_in_hole, 3, SEND_GFN_HOLE, "gfn", true, false, false);
VARIANT(gfn_beyond_memory, 4, SEND_GFN_BEYOND, "gfn", true, false, false);
VARIANT(vcpu_out_of_range, 5, SEND_VCPU_INDEX, "vcpu", true, false, false);
VARIANT(truncated_epoch, 6, SEND_TRUNCATED_EPOCH, "truncated", true, false, false);
VARIANT(garbage, 7, SEND_GARBAGE, "magic", true, false, false);
VARIANT(closed_mid_frame, 8, SEND_CLOSED_MID_FRAME, "truncated", true, false, false);
VARIANT(wrong_shape, 10, SEND_BAD_SHAPE, "shape", false, false, false);
/* An epoch whole and valid, but memory after it differs from the primary's. */
VARIANT(memory_differs, 11, SEND_BAD_VERIFY, "verify", true, true, false);
/* The seal and the handshake. */
VARIANT(wrong_key, 12, SEND_WRONG_KEY, "key", false, false, false);
VARIANT(no_key_on_the_primary, 13, SEND_NO_KEY, "insecure", false, false, false);
VARIANT(bit_flipped_in_sealed_frame, 14, SEND_FLIPPED, "auth", true, false, false);
VARIANT(frame_replayed, 15, SEND_REPLAY, "auth", true, false, false);
VARIANT(frames_reordered, 16, SEND_REORDER, "auth", true, false, false);
VARIANT(frame_from_an_earlier_connection, 17, SEND_OLD_CONN, "auth", true, false, false);
/* The linked primary goes on; the second is told busy. */
VARIANT(second_primary_refused, 18, SEND_SECOND, "busy", true, true, false);
/* A connection that says nothing is dropped; the primary behind it gets in. */
VARIANT(silent_connection_dropped, 19, SEND_SILENT, "handshake", true, true, false);
VARIANT(unsupported_version_offered, 20, SEND_OLD_VERSION, "version", false, false, false);
/* Both sides insecure, on purpose: the checksum guards each frame. */
VARIANT(insecure_epoch_applied, 21, SEND_VALID_EPOCH, NULL, true, true, true);
VARIANT(insecure_bad_checksum, 9, SEND_BAD_CRC, "checksum", true, false, true);
/* A page as its difference from the backup's copy: applied with the epoch ... */
VARIANT(delta_applied, 22, SEND_DELTA, NULL, true, true, false);
/* ... unless the backup's copy is not the delta's base: the epoch refused. */
VARIANT(delta_wrong_base, 23, SEND_BAD_DELTA, "delta", true, false, false);
/* A vCPU's state as differences from a state the backup never had: refused. */
VARIANT(vcpu_delta_without_base, 24, SEND_VCPU_DELTA_NO_BASE, "delta", true, false, false);
/* Device state as differences from a blob the backup never had: refused. */
FIXTURE_VARIANT_ADD(rx, device_delta_without_base) {
	.port = PORT + 25, .what = SEND_DEVICE_DELTA_NO_BASE, .error = "delta",
	.synced = true, .device = true,
};
/* ... or from a blob it had but no longer holds (epoch 2 came whole): refused. */
FIXTURE_VARIANT_ADD(rx, device_delta_wrong_base) {
	.port = PORT + 26, .what = SEND_DEVICE_DELTA_WRONG_BASE, .error = "delta",
	.synced = true, .applied = true, .device = true,
};

static const char *const kinds[] = {
	"magic", "version", "type", "reserved", "length", "checksum", "shape",
	"order", "epoch", "gfn", "vcpu", "totals", "truncated", "io", "silence",
	"snapshot", "nomem", "verify", "layout", "machine", "auth", "key",
	"insecure", "busy", "handshake", "delta",
};
/* Every kind the kernel counts, in its order: ftnl prints them so. */
_Static_assert(sizeof(kinds) / sizeof(kinds[0]) == KVM_FT_WIRE_E_MAX - 1,
	       "kinds[] must list enum kvm_ft_wire_err");

/* ---- host b: the sender ------------------------------------------------ */

static uint8_t frame[HDR + 8 + KVM_FT_WIRE_MAX_PAGES * (8 + KVM_FT_WIRE_PAGE_SIZE) + TAG];
/* The connection frames are built for: its keys and counters. */
static struct useal *link_seal;

/* The suite's key (TEST_KEY_HEX), or another. */
static void suite_key(uint8_t *key, uint8_t xor)
{
	int i;

	for (i = 0; i < KVM_FT_KEY_LEN; i++) {
		sscanf(TEST_KEY_HEX + 2 * i, "%2hhx", &key[i]);
		key[i] ^= xor;
	}
}

/* A frame for the wire in @frame, sealed for the current connection: its length. */
static size_t build(uint8_t type, uint64_t epoch, const void *payload, uint32_t len)
{
	kvm_ft_wire_put_hdr(frame, type, epoch, len);
	memcpy(frame + HDR, payload, len);
	return useal_frame(link_seal, frame);
}

static size_t build_pages_in(uint64_t epoch, uint64_t gfn, uint8_t pattern)
{
	static uint8_t p[8 + 8 + KVM_FT_WIRE_PAGE_SIZE];
	__u64 g = gfn;
	uint32_t len = kvm_ft_wire_put_pages(p, 1, &g);

	memset(p + 16, pattern, KVM_FT_WIRE_PAGE_SIZE);
	return build(KVM_FT_WIRE_PAGES, epoch, p, len);
}

static size_t build_pages_of(uint64_t gfn, uint8_t pattern)
{
	return build_pages_in(1, gfn, pattern);
}

static size_t build_pages(uint64_t gfn)
{
	return build_pages_of(gfn, PATTERN);
}

/*
 * DELTA of epoch 2 for DELTA_GFN, a page of zeros on the backup: 8 bytes
 * of PATTERN at DELTA_AT; made against a page of PATTERN instead if
 * @wrong_base.
 */
static size_t build_delta(bool wrong_base)
{
	static uint8_t p[8 + sizeof(struct kvm_ft_wire_delta) + KVM_FT_WIRE_DELTA_MAX];
	static uint8_t base[KVM_FT_WIRE_PAGE_SIZE], page[KVM_FT_WIRE_PAGE_SIZE];
	uint32_t h = kvm_ft_wire_put_delta_hdr(p, 1), len;

	memset(base, wrong_base ? PATTERN : 0, sizeof(base));
	memcpy(page, base, sizeof(page));
	memset(page + DELTA_AT, PATTERN, 8);
	len = kvm_ft_wire_delta_runs(base, page, p + h + sizeof(struct kvm_ft_wire_delta));
	len = kvm_ft_wire_put_delta(p + h, DELTA_GFN, kvm_ft_wire_page_crc(base),
				    kvm_ft_wire_page_crc(page), len);
	return build(KVM_FT_WIRE_DELTA, 2, p, h + len);
}

/* EPOCH_END of @epoch with @pages pages and nothing else. */
static size_t build_end_of(uint64_t epoch, uint64_t pages)
{
	uint8_t p[16];

	return build(KVM_FT_WIRE_EPOCH_END, epoch, p, kvm_ft_wire_put_end(p, pages, 0, 0));
}

static size_t build_end(uint64_t pages)
{
	return build_end_of(1, pages);
}

/* HELLO's flags: the variant's VM has device state, or none. */
static __u32 hello_flags;

static size_t build_hello(uint64_t mem_pages)
{
	uint8_t p[sizeof(struct kvm_ft_wire_hello)];

	return build(KVM_FT_WIRE_HELLO, 0, p,
		     kvm_ft_wire_put_hello(p, mem_pages, 1, hello_flags, "bk", 0));
}

static int send_all(int fd, const void *buf, size_t len)
{
	return send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

#define SEND(fd, n) ASSERT_EQ(0, send_all(fd, frame, n))

static int connect_backup(const char *peer, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	time_t deadline = time(NULL) + WAIT_S;
	struct timeval tv = { .tv_sec = 20 };
	int fd;

	inet_pton(AF_INET, peer, &sin.sin_addr);
	do {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd >= 0 && !connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
			/* Bounded reads: a test never hangs on a backup that says nothing. */
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			return fd;
		}
		close(fd);
		usleep(200 * 1000);
	} while (time(NULL) < deadline);
	return -1;
}

/*
 * The primary's side of the handshake, as the kernel's: INIT, the
 * backup's REPLY, CONFIRM.  @key NULL: insecure; @version nonzero: offer
 * only that one.  OK and @s set for the connection, or why not: the
 * backup's refusal, or (E_KEY) its proof of the key is wrong.
 */
static int shake_hands(int fd, const uint8_t *key, uint8_t version, struct useal *s)
{
	uint8_t out[KVM_FT_WIRE_HS_FRAME], in[KVM_FT_WIRE_HS_FRAME];
	struct kvm_ft_wire_hs hs = { .keyed = key != NULL };
	const size_t reply = HDR + sizeof(struct kvm_ft_wire_reply);
	uint32_t len;
	int err;

	if (key)
		memcpy(hs.key, key, KVM_FT_KEY_LEN);
	if (getrandom(hs.nonce, sizeof(hs.nonce), 0) != sizeof(hs.nonce))
		return KVM_FT_WIRE_E_IO;
	strcpy(hs.name, "pr");
	hs.features = KVM_FT_WIRE_FEAT_ALL;
	hs.min_version = hs.max_version = version;
	len = kvm_ft_wire_hs_init(&hs, out);
	if (send_all(fd, out, len))
		return KVM_FT_WIRE_E_IO;
	if (recv(fd, in, reply, MSG_WAITALL) != (ssize_t)reply)
		return KVM_FT_WIRE_E_TRUNCATED;
	err = kvm_ft_wire_hs_confirm(&hs, in, in + HDR, out, &len);
	if (err)
		return err;
	if (send_all(fd, out, len))
		return KVM_FT_WIRE_E_IO;
	err = kvm_ft_wire_hs_proven(&hs);
	if (!err && key)
		useal_init(s, hs.key_p2b, hs.key_b2p);
	else if (!err)
		memset(s, 0, sizeof(*s));	/* checksums */
	return err;
}

/*
 * End a link as a primary should: no more to send, then read what the
 * backup still sends (ACKs, heartbeats) until it closes.  A close() with
 * unread data would reset the connection, which the backup rightly counts
 * as a socket error.  Bounded: the backup closes within a second or so.
 */
static void close_cleanly(int fd)
{
	struct timeval tv = { .tv_sec = 10 };
	char buf[256];

	shutdown(fd, SHUT_WR);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (recv(fd, buf, sizeof(buf), 0) > 0)
		;
	close(fd);
}

/* The ACK of @epoch, past the backup's heartbeats, each opened with @s. */
static void expect_ack(struct __test_metadata *_metadata, int fd, struct useal *s,
		       uint64_t epoch)
{
	const size_t len = HDR + (s->on ? TAG : 0);
	struct kvm_ft_wire_msg m;
	uint8_t ack[HDR + TAG];

	do {
		ASSERT_EQ(len, recv(fd, ack, len, MSG_WAITALL));
		if (s->on)
			ASSERT_EQ(0, useal_open(s, ack, NULL, 0, ack + HDR));
		ASSERT_EQ(KVM_FT_WIRE_OK, kvm_ft_wire_decode_reply(ack, s->on, &m));
	} while (m.type == KVM_FT_WIRE_HEARTBEAT);
	ASSERT_EQ(KVM_FT_WIRE_ACK, m.type);
	ASSERT_EQ(epoch, m.epoch);
}

/* Connect to the backup and shake hands with the suite's key (or insecurely). */
static int open_link(struct __test_metadata *_metadata, int port, bool insecure,
		     struct useal *s)
{
	uint8_t key[KVM_FT_KEY_LEN];
	int fd = connect_backup(getenv("CUJU_PEER"), port);

	suite_key(key, 0);
	if (fd < 0 || shake_hands(fd, insecure ? NULL : key, 0, s)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	link_seal = s;
	return fd;
}

/* HELLO and the sync, a page: every stream's start. */
static void send_sync(struct __test_metadata *_metadata, int fd, struct useal *s)
{
	SEND(fd, build_hello(MEM_PAGES));
	SEND(fd, build(KVM_FT_WIRE_EPOCH_BEGIN, 1, NULL, 0));
	SEND(fd, build_pages(TEST_GFN));
	SEND(fd, build_end(1));
	expect_ack(_metadata, fd, s, 1);
}

/*
 * While a second primary waits for the backup's answer, the first goes on
 * as a live one does: a heartbeat every 100 ms (the backup looks for other
 * connections between the frames of the linked one).  Its REPLY's status.
 */
static int second_primary(struct __test_metadata *_metadata, int fd1, int port)
{
	uint8_t key[KVM_FT_KEY_LEN], out[KVM_FT_WIRE_HS_FRAME], in[KVM_FT_WIRE_HS_FRAME];
	const size_t reply = HDR + sizeof(struct kvm_ft_wire_reply);
	struct kvm_ft_wire_hs hs = { .keyed = 1 };
	struct pollfd pfd;
	uint32_t len;
	int fd2, i, err;

	fd2 = connect_backup(getenv("CUJU_PEER"), port);
	if (fd2 < 0)
		return KVM_FT_WIRE_E_IO;
	suite_key(key, 0);
	memcpy(hs.key, key, sizeof(key));
	strcpy(hs.name, "pr2");
	len = kvm_ft_wire_hs_init(&hs, out);
	err = send_all(fd2, out, len) ? KVM_FT_WIRE_E_IO : KVM_FT_WIRE_OK;
	pfd = (struct pollfd){ .fd = fd2, .events = POLLIN };
	for (i = 0; !err && i < 100 && poll(&pfd, 1, 100) == 0; i++)
		if (send_all(fd1, frame, build(KVM_FT_WIRE_HEARTBEAT, 0, NULL, 0)))
			err = KVM_FT_WIRE_E_IO;
	if (!err && recv(fd2, in, reply, MSG_WAITALL) != (ssize_t)reply)
		err = KVM_FT_WIRE_E_TRUNCATED;
	if (!err)
		err = kvm_ft_wire_hs_confirm(&hs, in, in + HDR, out, &len);
	close(fd2);
	return err;
}

/* The handshake alone goes wrong: a wrong key, none, an old version. */
static void send_bad_handshake(struct __test_metadata *_metadata, int port, enum send_what what)
{
	uint8_t key[KVM_FT_KEY_LEN];
	struct useal s;
	int fd = connect_backup(getenv("CUJU_PEER"), port);

	ASSERT_LE(0, fd) TH_LOG("backup not listening on port %d", port);
	suite_key(key, what == SEND_WRONG_KEY ? 0xff : 0);
	switch (what) {
	case SEND_WRONG_KEY:
		EXPECT_EQ(KVM_FT_WIRE_E_KEY, shake_hands(fd, key, 0, &s));
		break;
	case SEND_NO_KEY:
		EXPECT_EQ(KVM_FT_WIRE_E_INSECURE, shake_hands(fd, NULL, 0, &s));
		break;
	default:
		EXPECT_EQ(KVM_FT_WIRE_E_VERSION,
			  shake_hands(fd, key, KVM_FT_WIRE_VERSION + 5, &s));
	}
	close_cleanly(fd);
}

/*
 * A first connection that holds the key, syncs a page and ends cleanly;
 * what the second sends of it again after its own BEGIN(1) (the same
 * position in the stream, so the same counter) does not open: new keys.
 */
static void send_old_conn(struct __test_metadata *_metadata, int port)
{
	static uint8_t old[sizeof(frame)];
	struct useal s1, s2;
	size_t n;
	int fd;

	fd = open_link(_metadata, port, false, &s1);
	ASSERT_LE(0, fd);
	SEND(fd, build_hello(MEM_PAGES));
	SEND(fd, build(KVM_FT_WIRE_EPOCH_BEGIN, 1, NULL, 0));
	n = build_pages(TEST_GFN);
	memcpy(old, frame, n);
	SEND(fd, n);
	SEND(fd, build_end(1));
	expect_ack(_metadata, fd, &s1, 1);
	close_cleanly(fd);

	fd = open_link(_metadata, port, false, &s2);
	ASSERT_LE(0, fd);
	SEND(fd, build_hello(MEM_PAGES));
	SEND(fd, build(KVM_FT_WIRE_EPOCH_BEGIN, 1, NULL, 0));
	ASSERT_EQ(0, send_all(fd, old, n));
	close_cleanly(fd);
}

/*
 * A sync (epoch 1: one page, no vCPU, so no checkpoint), whose pages the
 * backup writes as they come, then epoch 2, staged until its end, and in
 * it what the variant sends.
 */
static void send_stream(struct __test_metadata *_metadata, int fd, struct useal *s,
			enum send_what what, int port)
{
	static uint8_t copy[sizeof(frame)];
	uint8_t p[16], dd[32], blob[64];
	size_t n, m;

	if (what == SEND_BAD_SHAPE) {
		SEND(fd, build_hello(MEM_PAGES + 1));
		return;
	}
	send_sync(_metadata, fd, s);
	SEND(fd, build(KVM_FT_WIRE_EPOCH_BEGIN, 2, NULL, 0));
	n = build_pages_in(2, STAGED_GFN, PATTERN);	/* staged, never applied */
	memcpy(copy, frame, n);
	SEND(fd, n);

	switch (what) {
	case SEND_VALID_EPOCH:
	case SEND_SILENT:
		SEND(fd, build_end_of(2, 1));
		expect_ack(_metadata, fd, s, 2);
		break;
	case SEND_SECOND:
		EXPECT_EQ(KVM_FT_WIRE_E_BUSY, second_primary(_metadata, fd, port));
		SEND(fd, build_end_of(2, 1));
		expect_ack(_metadata, fd, s, 2);
		break;
	case SEND_BAD_VERSION:
		n = build(KVM_FT_WIRE_HEARTBEAT, 0, NULL, 0);
		frame[4] = KVM_FT_WIRE_VERSION + 1;
		SEND(fd, n);
		break;
	case SEND_LEN_PAST_MAX:
		kvm_ft_wire_put_hdr(frame, KVM_FT_WIRE_PAGES, 2, 0x7fffffff);
		SEND(fd, HDR);
		break;
	case SEND_GFN_HOLE:
		SEND(fd, build_pages_in(2, HOLE_GFN, PATTERN));
		break;
	case SEND_GFN_BEYOND:
		SEND(fd, build_pages_in(2, 1ULL << 40, PATTERN));
		break;
	case SEND_VCPU_INDEX:
		memset(p + 8, 0, 8);		/* the VM has vCPU 0 only */
		SEND(fd, build(KVM_FT_WIRE_VCPU, 2, p, kvm_ft_wire_put_vcpu_hdr(p, 1, 8)));
		break;
	case SEND_TRUNCATED_EPOCH:
		break;					/* close, epoch open */
	case SEND_GARBAGE:
		for (n = 0; n < HDR + 64; n++)
			frame[n] = n * 37 + 11;
		SEND(fd, HDR + 64);
		break;
	case SEND_CLOSED_MID_FRAME:
		n = build_pages_in(2, TEST_GFN + 1, PATTERN);
		SEND(fd, n / 2);
		break;
	case SEND_BAD_CRC:
	case SEND_FLIPPED:
		n = build_pages_in(2, TEST_GFN + 1, PATTERN);
		frame[HDR + 100] ^= 0x01;
		SEND(fd, n);
		break;
	case SEND_REPLAY:
		ASSERT_EQ(0, send_all(fd, copy, n));	/* PAGES(2) once more */
		break;
	case SEND_REORDER:
		n = build_pages_in(2, TEST_GFN + 1, PATTERN);
		memcpy(copy, frame, n);
		m = build_end_of(2, 2);
		SEND(fd, m);				/* the later frame first */
		ASSERT_EQ(0, send_all(fd, copy, n));
		break;
	case SEND_DELTA:
		SEND(fd, build_delta(false));
		SEND(fd, build_end_of(2, 2));
		expect_ack(_metadata, fd, s, 2);
		break;
	case SEND_BAD_DELTA:
		SEND(fd, build_delta(true));
		SEND(fd, build_end_of(2, 2));
		break;
	case SEND_VCPU_DELTA_NO_BASE:
		/* Epoch 1 (the sync) carried no vCPU state: there is no epoch 1 base. */
		SEND(fd, build(KVM_FT_WIRE_VCPU_DELTA, 2, p,
			       kvm_ft_wire_put_vcpu_delta(p, 0, 600, 1, 0)));
		break;			/* refused there: the epoch is never ended */
	case SEND_DEVICE_DELTA_NO_BASE:
		/* Epoch 1 carried no blob: nothing for epoch 2's run to apply to. */
		memcpy(dd + sizeof(struct kvm_ft_wire_device_delta),
		       "\0\0\0\0\x01\0\0\0\x5a", 9);		/* 1 byte at 0 */
		SEND(fd, build(KVM_FT_WIRE_DEVICE_DELTA, 2, dd,
			       kvm_ft_wire_put_device_delta(dd, 64, 1, 9)));
		break;			/* refused there: the epoch is never ended */
	case SEND_DEVICE_DELTA_WRONG_BASE:
		/* Epoch 2's blob is the backup's base; epoch 3's delta names epoch 1. */
		memset(blob, PATTERN, sizeof(blob));
		SEND(fd, build(KVM_FT_WIRE_DEVICE, 2, blob, sizeof(blob)));
		SEND(fd, build(KVM_FT_WIRE_EPOCH_END, 2, p,
			       kvm_ft_wire_put_end(p, 1, 0, sizeof(blob))));
		expect_ack(_metadata, fd, s, 2);
		SEND(fd, build(KVM_FT_WIRE_EPOCH_BEGIN, 3, NULL, 0));
		memcpy(dd + sizeof(struct kvm_ft_wire_device_delta),
		       "\0\0\0\0\x01\0\0\0\x5b", 9);		/* 1 byte at 0 */
		SEND(fd, build(KVM_FT_WIRE_DEVICE_DELTA, 3, dd,
			       kvm_ft_wire_put_device_delta(dd, sizeof(blob), 1, 9)));
		break;			/* refused there: epoch 3 is never ended */
	case SEND_BAD_VERIFY:
		/* No memory has this CRC-32C... as it is. */
		SEND(fd, build(KVM_FT_WIRE_VERIFY, 2, p, kvm_ft_wire_put_verify(p, 0x12345678)));
		SEND(fd, build_end_of(2, 1));
		break;
	default:
		break;
	}
}

/* Host b: the variant's connections, and their end. */
static void sender(struct __test_metadata *_metadata, const FIXTURE_VARIANT(rx) *variant)
{
	int silent = -1, fd;
	struct useal s;

	switch (variant->what) {
	case SEND_WRONG_KEY:
	case SEND_NO_KEY:
	case SEND_OLD_VERSION:
		send_bad_handshake(_metadata, variant->port, variant->what);
		return;
	case SEND_OLD_CONN:
		send_old_conn(_metadata, variant->port);
		return;
	case SEND_SILENT:
		/* First in the backup's queue; it says nothing at all. */
		silent = connect_backup(getenv("CUJU_PEER"), variant->port);
		ASSERT_LE(0, silent);
		break;
	default:
		break;
	}
	hello_flags = variant->device ? KVM_FT_WIRE_HELLO_F_DEVICE : 0;
	fd = open_link(_metadata, variant->port, variant->insecure, &s);
	ASSERT_LE(0, fd) TH_LOG("no handshake with the backup on port %d", variant->port);
	send_stream(_metadata, fd, &s, variant->what, variant->port);
	close_cleanly(fd);
	if (silent >= 0)
		close(silent);
}

/* ---- host a: the backup ------------------------------------------------ */

/* The errors object ftnl -j prints when only @kind (or nothing) was counted. */
static void errors_json(char *buf, size_t len, const char *kind)
{
	size_t i, off;

	off = snprintf(buf, len, "\"errors\":{");
	for (i = 0; i < ARRAY_SIZE(kinds); i++)
		off += snprintf(buf + off, len - off, "%s\"%s\":%d", i ? "," : "", kinds[i],
				kind && !strcmp(kind, kinds[i]));
	snprintf(buf + off, len - off, "}");
}

/* Poll ftnl until the VM shows @want, within WAIT_S. */
static bool wait_for(FIXTURE_DATA(rx) *self, const char *want)
{
	time_t deadline = time(NULL) + WAIT_S;

	do {
		if (!FTNL(self->out, "-j", "show", "bk") && strstr(self->out, want))
			return true;
		usleep(100 * 1000);
	} while (time(NULL) < deadline);
	return false;
}

FIXTURE_SETUP(rx)
{
	struct kvm_ft_register r = { .name = "bk", .role = KVM_FT_ROLE_BACKUP,
				     .flags = variant->device ? 0 : KVM_FT_F_NO_DEVICE_STATE };
	char port[16];

	self->role = getenv("CUJU_ROLE");
	ASSERT_NE(NULL, self->role) TH_LOG("run by the test runner on two hosts");
	ASSERT_NE(NULL, getenv("CUJU_PEER"));
	if (strcmp(self->role, "a"))
		return;

	self->vm = vm_create();
	self->slot = vm_add_slot(self->vm, 1, VMM_TEST_GPA, SLOT_PAGES * VMM_PAGE_SIZE, 0);
	vcpu_add(self->vm, 0, NULL, 0, 0);
	ASSERT_EQ(0, ioctl(self->vm->fd, KVM_FT_REGISTER, &r));
	snprintf(port, sizeof(port), "%d", variant->port);
	if (variant->insecure) {
		ASSERT_EQ(0, FTNL(self->out, "listen", "bk", "0.0.0.0", port, "insecure"))
			TH_LOG("%s", self->out);
	} else {
		ASSERT_EQ(0, FTNL(self->out, "listen", "bk", "0.0.0.0", port, TEST_KEY))
			TH_LOG("%s", self->out);
	}
	/* Listening, or already receiving: host b connects as soon as it can. */
	ASSERT_EQ(0, FTNL(self->out, "-j", "show", "bk"));
	ASSERT_EQ(NULL, strstr(self->out, "\"state\":\"idle\"")) TH_LOG("%s", self->out);
}

FIXTURE_TEARDOWN(rx)
{
	if (!self->vm)
		return;
	EXPECT_EQ(0, FTNL(self->out, "stop", "bk")) TH_LOG("%s", self->out);
	vm_destroy(self->vm);
}

TEST_F(rx, stream)
{
	bool applied = variant->applied, synced = variant->synced;
	uint8_t *page, *staged, *delta;
	char want[512];
	int i;

	if (strcmp(self->role, "a")) {
		sender(_metadata, variant);
		return;
	}

	errors_json(want, sizeof(want), variant->error);
	if (variant->error) {
		ASSERT_TRUE(wait_for(self, want)) TH_LOG("want %s\ngot %s", want, self->out);
	} else {
		ASSERT_TRUE(wait_for(self, "\"epochs\":2,")) TH_LOG("%s", self->out);
	}
	/* Exactly that refusal, and the stream's end seen: listening again. */
	ASSERT_TRUE(wait_for(self, "\"state\":\"listening\"")) TH_LOG("%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, want)) TH_LOG("want %s\ngot %s", want, self->out);

	page = self->slot + 5 * VMM_PAGE_SIZE;
	staged = self->slot + 7 * VMM_PAGE_SIZE;
	for (i = 0; i < VMM_PAGE_SIZE; i++) {
		ASSERT_EQ(synced ? PATTERN : 0, page[i]) TH_LOG("sync, byte %d", i);
		ASSERT_EQ(applied ? PATTERN : 0, staged[i]) TH_LOG("epoch 2, byte %d", i);
	}
	delta = self->slot + 6 * VMM_PAGE_SIZE;
	for (i = 0; i < VMM_PAGE_SIZE; i++) {
		bool in_delta = variant->what == SEND_DELTA && i >= DELTA_AT && i < DELTA_AT + 8;

		ASSERT_EQ(in_delta ? PATTERN : 0, delta[i]) TH_LOG("delta's page, byte %d", i);
	}
	for (i = 0; i < SLOT_PAGES * VMM_PAGE_SIZE; i++)
		if (i / VMM_PAGE_SIZE < 5 || i / VMM_PAGE_SIZE > 7)
			ASSERT_EQ(0, self->slot[i]) TH_LOG("byte %d written", i);
	if (variant->what == SEND_DELTA) {
		EXPECT_NE(NULL, strstr(self->out, "\"epochs\":2,\"pages\":3,")) TH_LOG("%s", self->out);
		EXPECT_NE(NULL, strstr(self->out, "\"delta_pages\":1,")) TH_LOG("%s", self->out);
	} else if (variant->what == SEND_DEVICE_DELTA_WRONG_BASE) {
		/* Epoch 2 committed; epoch 3 begun, then refused at its delta. */
		EXPECT_NE(NULL, strstr(self->out, "\"cur_epoch\":3,\"last_epoch\":2,\"epochs\":2,\"pages\":2,"))
			TH_LOG("%s", self->out);
	} else if (applied && variant->what != SEND_BAD_VERIFY) {
		EXPECT_NE(NULL, strstr(self->out, "\"cur_epoch\":2,\"last_epoch\":2,\"epochs\":2,\"pages\":2,"))
			TH_LOG("%s", self->out);
	}
}

/*
 * Two backup VMs of different shapes on two ports; the sender opens both
 * links, then interleaves their frames.  Each VM gets its own epoch only.
 */
#define TWO_PORT	(PORT + 50)

static struct vm *two_vm(const char *name, int pages, int port, char *out, size_t len)
{
	struct kvm_ft_register r = { .role = KVM_FT_ROLE_BACKUP,
				     .flags = KVM_FT_F_NO_DEVICE_STATE };
	struct vm *vm = vm_create();
	char p[16];

	strcpy(r.name, name);
	vm_add_slot(vm, 1, VMM_TEST_GPA, pages * VMM_PAGE_SIZE, 0);
	vcpu_add(vm, 0, NULL, 0, 0);
	if (ioctl(vm->fd, KVM_FT_REGISTER, &r))
		return NULL;
	snprintf(p, sizeof(p), "%d", port);
	if (run_capture(0, out, len, getenv("CUJU_FTNL"),
			(const char *const[]){ "ftnl", "listen", name, "0.0.0.0", p, TEST_KEY, NULL }))
		return NULL;
	return vm;
}

static bool wait_epoch(const char *name, char *out, size_t len)
{
	time_t deadline = time(NULL) + WAIT_S;

	do {
		if (!run_capture(0, out, len, getenv("CUJU_FTNL"),
				 (const char *const[]){ "ftnl", "-j", "show", name, NULL }) &&
		    strstr(out, "\"epochs\":1,\"pages\":1,"))
			return true;
		usleep(100 * 1000);
	} while (time(NULL) < deadline);
	return false;
}

static void set_failover_ms(unsigned int ms)
{
	FILE *f = fopen(KVM_FT_SYSFS_DIR "/failover_timeout_ms", "w");

	if (f) {
		fprintf(f, "%u\n", ms);
		fclose(f);
	}
}

/*
 * The sender holds one link open, silent, while it waits for the other:
 * on a slow emulated host that can exceed the default failover timeout,
 * after which the backup rightly gives up on a silent primary.
 */
FIXTURE(two) {
	bool backup;
};

FIXTURE_SETUP(two)
{
	ASSERT_NE(NULL, getenv("CUJU_ROLE")) TH_LOG("run by the test runner on two hosts");
	self->backup = !strcmp(getenv("CUJU_ROLE"), "a");
	if (self->backup)
		set_failover_ms(30000);
}

FIXTURE_TEARDOWN(two)
{
	if (self->backup)
		set_failover_ms(KVM_FT_FAILOVER_MS_DEFAULT);
}

TEST_F(two, vms_without_crosstalk)
{
	static const int pages[2] = { SLOT_PAGES, 2 * SLOT_PAGES };
	static const uint8_t pattern[2] = { 0x11, 0x22 };
	const char *names[2] = { "bk1", "bk2" };
	char out[4096], none[512];
	struct useal s[2];
	struct vm *vm[2];
	int fd[2], i, j;

	if (!self->backup) {
		for (i = 0; i < 2; i++) {
			fd[i] = open_link(_metadata, TWO_PORT + i, false, &s[i]);
			ASSERT_LE(0, fd[i]);
		}
		/* Each frame sealed for its own link, in turn: keys and counters apart. */
		for (i = 0; i < 2; i++) {
			link_seal = &s[i];
			SEND(fd[i], build_hello(VMM_MAIN_SIZE / VMM_PAGE_SIZE + pages[i]));
		}
		for (i = 0; i < 2; i++) {
			link_seal = &s[i];
			SEND(fd[i], build(KVM_FT_WIRE_EPOCH_BEGIN, 1, NULL, 0));
		}
		for (i = 0; i < 2; i++) {
			link_seal = &s[i];
			SEND(fd[i], build_pages_of(TEST_GFN, pattern[i]));
		}
		for (i = 0; i < 2; i++) {
			link_seal = &s[i];
			SEND(fd[i], build_end(1));
		}
		for (i = 0; i < 2; i++)
			close_cleanly(fd[i]);
		return;
	}

	for (i = 0; i < 2; i++) {
		vm[i] = two_vm(names[i], pages[i], TWO_PORT + i, out, sizeof(out));
		ASSERT_NE(NULL, vm[i]) TH_LOG("%s: %s", names[i], out);
	}
	for (i = 0; i < 2; i++) {
		uint8_t *slot = vm_gpa2hva(vm[i], VMM_TEST_GPA);

		ASSERT_TRUE(wait_epoch(names[i], out, sizeof(out))) TH_LOG("%s", out);
		errors_json(none, sizeof(none), NULL);
		EXPECT_NE(NULL, strstr(out, none)) TH_LOG("%s", out);
		for (j = 0; j < pages[i] * VMM_PAGE_SIZE; j++)
			ASSERT_EQ(j / VMM_PAGE_SIZE == 5 ? pattern[i] : 0, slot[j])
				TH_LOG("%s byte %d", names[i], j);
	}
	for (i = 0; i < 2; i++) {
		run_capture(0, out, sizeof(out), getenv("CUJU_FTNL"),
			    (const char *const[]){ "ftnl", "stop", names[i], NULL });
		vm_destroy(vm[i]);
	}
}

TEST_HARNESS_MAIN
