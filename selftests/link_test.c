// SPDX-License-Identifier: GPL-2.0
/*
 * Two test hosts on one virtual link: the topology of every replication and
 * failover test.  A TCP connection from b to a carries a payload and its
 * CRC-32C; a checks both and answers with the CRC it computed, which b
 * checks in turn.  Both sides run this binary (CUJU_ROLE=a|b, CUJU_PEER).
 *
 *   +---------- test host a ---------+        +---------- test host b ---------+
 *   | link_test: listen :7700        |  eth0  | link_test: connect a:7700      |
 *   | recv hdr+payload, check CRC    |<------>| send hdr+payload (4 MiB)       |
 *   | send the CRC it computed       |        | recv CRC, compare              |
 *   +--------------------------------+        +--------------------------------+
 *        QEMU socket netdev on 127.0.0.1 of the machine running the suite
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "test.h"

#define PORT		7700
#define PAYLOAD		(4u << 20)
#define MAGIC		0x43754a75u	/* "CuJu" */
#define WAIT_S		90		/* for the peer to come up */

struct hdr {
	uint32_t magic;
	uint32_t len;
	uint32_t crc;
};

static int full_io(int fd, void *buf, size_t len, bool out)
{
	char *p = buf;

	while (len) {
		ssize_t n = out ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);

		if (n <= 0)
			return n ? -errno : -EPIPE;
		p += n;
		len -= n;
	}
	return 0;
}

FIXTURE(link) {
	const char *role;
	struct sockaddr_in peer;
	uint8_t *buf;
};

FIXTURE_SETUP(link)
{
	const char *peer = getenv("CUJU_PEER");

	self->role = getenv("CUJU_ROLE");
	ASSERT_NE(NULL, self->role) TH_LOG("run by the test runner on two hosts");
	ASSERT_NE(NULL, peer);
	self->peer = (struct sockaddr_in) { .sin_family = AF_INET, .sin_port = htons(PORT) };
	ASSERT_EQ(1, inet_pton(AF_INET, peer, &self->peer.sin_addr));
	self->buf = malloc(PAYLOAD);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(link)
{
	free(self->buf);
}

static int serve_one(struct __test_metadata *_metadata)
{
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	struct pollfd pfd;
	int one = 1, ls, fd;

	ls = socket(AF_INET, SOCK_STREAM, 0);
	EXPECT_LE(0, ls);
	EXPECT_EQ(0, setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	EXPECT_EQ(0, bind(ls, (struct sockaddr *)&any, sizeof(any)));
	EXPECT_EQ(0, listen(ls, 1));
	pfd = (struct pollfd) { .fd = ls, .events = POLLIN };
	if (poll(&pfd, 1, WAIT_S * 1000) != 1) {
		TH_LOG("no connection from the peer in %d s", WAIT_S);
		close(ls);
		return -1;
	}
	fd = accept(ls, NULL, NULL);
	close(ls);
	return fd;
}

static int connect_peer(struct __test_metadata *_metadata, struct sockaddr_in *peer)
{
	time_t deadline = time(NULL) + WAIT_S;
	int fd;

	/* The peer boots at its own pace: retry, within a bound. */
	do {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		EXPECT_LE(0, fd);
		if (!connect(fd, (struct sockaddr *)peer, sizeof(*peer)))
			return fd;
		close(fd);
		usleep(200 * 1000);
	} while (time(NULL) < deadline);
	return -1;
}

TEST_F(link, tcp_checksummed_payload)
{
	struct hdr h;
	uint32_t crc, echoed;
	unsigned int seed = 7;
	int fd;
	size_t i;

	if (!strcmp(self->role, "a")) {
		fd = serve_one(_metadata);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, full_io(fd, &h, sizeof(h), false));
		ASSERT_EQ(MAGIC, h.magic);
		ASSERT_EQ(PAYLOAD, h.len);
		ASSERT_EQ(0, full_io(fd, self->buf, h.len, false));
		crc = crc32c(~0u, self->buf, h.len);
		ASSERT_EQ(h.crc, crc) TH_LOG("payload corrupted on the link");
		ASSERT_EQ(0, full_io(fd, &crc, sizeof(crc), true));
	} else {
		for (i = 0; i < PAYLOAD; i++)
			self->buf[i] = rand_r(&seed);
		crc = crc32c(~0u, self->buf, PAYLOAD);
		/* A known vector first: the CRC itself must be right. */
		ASSERT_EQ(0xe3069283u, crc32c(~0u, "123456789", 9) ^ ~0u);
		fd = connect_peer(_metadata, &self->peer);
		ASSERT_LE(0, fd) TH_LOG("could not reach the peer in %d s", WAIT_S);
		h = (struct hdr) { .magic = MAGIC, .len = PAYLOAD, .crc = crc };
		ASSERT_EQ(0, full_io(fd, &h, sizeof(h), true));
		ASSERT_EQ(0, full_io(fd, self->buf, PAYLOAD, true));
		ASSERT_EQ(0, full_io(fd, &echoed, sizeof(echoed), false));
		ASSERT_EQ(crc, echoed);
	}
	close(fd);
}

TEST_HARNESS_MAIN
