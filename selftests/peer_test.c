// SPDX-License-Identifier: GPL-2.0
/*
 * The link between a primary and its backup: pairing, heartbeats, and the
 * loss of the peer through a network partition.  Both sides must see the
 * silence within the failover timeout; the primary then runs unprotected
 * and can be paired again once the network is back.
 *
 *   +------ test host a ------+           +------ test host b ------+
 *   | VM "hb" (backup)        |   eth0    | VM "hb" (primary)       |
 *   | ftnl listen :7900       |<--------->| ftnl pair a:7900        |
 *   | heartbeats, then        |           | heartbeats, then        |
 *   | ip link set eth0 down   |  ~~cut~~  | silence: unprotected    |
 *   | ... up: receiving again |           | ftnl pair: linked again |
 *   +-------------------------+           +-------------------------+
 */
#include <linux/kvm_ft.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pair.h"
#include "run.h"
#include "test.h"
#include "vmm.h"

#define PORT		"7900"
#define START_PORT	"7914"
#define KEY_PORT	"7927"
#define WAIT_S		90
#define FAILOVER_MS	3000	/* roomy: a slow emulated host must not trip it */
#define CUT_S		8
#define REPAIR_MS	30000	/* while the link is re-made */

FIXTURE(peer) {
	const char *role;
	struct vm *vm;
	struct monitor mon;
	char out[4096];
};

FIXTURE_SETUP(peer)
{
	struct kvm_ft_register r = { .name = "hb", .flags = KVM_FT_F_NO_DEVICE_STATE };

	self->role = getenv("CUJU_ROLE");
	ASSERT_NE(NULL, self->role) TH_LOG("run by the test runner on two hosts");
	ASSERT_NE(NULL, getenv("CUJU_PEER"));
	knob_set("failover_timeout_ms", FAILOVER_MS);
	knob_set("auto_failover", 0);	/* a partition, not a failover: see replicate_test */
	r.role = strcmp(self->role, "a") ? KVM_FT_ROLE_PRIMARY : KVM_FT_ROLE_BACKUP;
	self->vm = vm_create_with(KVM_MEM_LOG_DIRTY_PAGES);	/* same shape on both hosts */
	vcpu_add(self->vm, 0, NULL, 0, 0);
	ASSERT_EQ(0, ioctl(self->vm->fd, KVM_FT_REGISTER, &r));
}

FIXTURE_TEARDOWN(peer)
{
	pair_teardown(&self->mon, "hb");
	vm_destroy(self->vm);
}

/* Poll until ftnl -j show hb has every string of @want, within WAIT_S. */
static bool wait_for(FIXTURE_DATA(peer) *self, const char *const *want)
{
	time_t deadline = time(NULL) + WAIT_S;
	int i;

	do {
		if (!FTNL(self->out, "-j", "show", "hb")) {
			for (i = 0; want[i] && strstr(self->out, want[i]); i++)
				;
			if (!want[i])
				return true;
		}
		usleep(100 * 1000);
	} while (time(NULL) < deadline);
	return false;
}

#define WAIT_FOR(...) wait_for(self, (const char *const[]){ __VA_ARGS__, NULL })


#define EVENT(want) ASSERT_TRUE(monitor_next(&self->mon, want, WAIT_S)) \
	TH_LOG("expected event '%s', got '%s'", want, self->mon.event)
#define COUNTER_REACHES(key, min) \
	ASSERT_TRUE(ftnl_counter_reaches("hb", key, min, WAIT_S)) TH_LOG("%s", ftnl_last())

TEST_F(peer, partition_and_repair)
{
	const char *peer = getenv("CUJU_PEER");

	ASSERT_TRUE(monitor_start(&self->mon)) TH_LOG("ftnl monitor did not start");

	if (!strcmp(self->role, "a")) {
		ASSERT_EQ(0, FTNL(self->out, "listen", "hb", "0.0.0.0", PORT, TEST_KEY)) TH_LOG("%s", self->out);
		EVENT("hb: linked");
		/* The sync and one epoch of b's are applied: b saw "synced" before the cut. */
		COUNTER_REACHES("\"epochs\":", 2);
		COUNTER_REACHES("\"heartbeats\":", 3);
		sleep(4);		/* b's kernel counts our heartbeats meanwhile */

		ASSERT_EQ(0, IP(self->out, "link", "set", "eth0", "down")) TH_LOG("%s", self->out);
		EVENT("hb: peer lost (silence)");
		ASSERT_TRUE(WAIT_FOR("\"silence\":1", "\"state\":\"listening\""))
			TH_LOG("%s", self->out);
		/* The repair is not about silence: let no stall of b trip it. */
		knob_set("failover_timeout_ms", REPAIR_MS);
		sleep(CUT_S);
		ASSERT_EQ(0, IP(self->out, "link", "set", "eth0", "up")) TH_LOG("%s", self->out);

		/* b pairs again on its own, checks its side, then ends the link. */
		EVENT("hb: linked");
		EVENT("hb: peer lost (closed)");
		ASSERT_TRUE(WAIT_FOR("\"state\":\"listening\"")) TH_LOG("%s", self->out);
		EXPECT_NE(NULL, strstr(self->out, "\"truncated\":0,")) TH_LOG("%s", self->out);
		EXPECT_NE(NULL, strstr(self->out, "\"silence\":1,")) TH_LOG("%s", self->out);
		return;
	}

	/* Epochs far apart: the link idles between them, and carries heartbeats. */
	ASSERT_EQ(0, FTNL(self->out, "set", "hb", "epoch-us", "2000000")) TH_LOG("%s", self->out);
	ASSERT_EQ(0, FTNL(self->out, "pair", "hb", peer, PORT, TEST_KEY)) TH_LOG("%s", self->out);
	EVENT("hb: linked");
	EVENT("hb: synced");
	COUNTER_REACHES("\"heartbeats\":", 3);

	/* a cuts its link: the backup goes silent. */
	EVENT("hb: peer lost (silence)");
	ASSERT_TRUE(WAIT_FOR("\"state\":\"unprotected\"", "\"peer_lost\":1,", "\"silence\":1"))
		TH_LOG("%s", self->out);
	/* Pairing again is allowed from unprotected; it connects once a is back. */
	knob_set("failover_timeout_ms", REPAIR_MS);
	ASSERT_EQ(0, FTNL(self->out, "pair", "hb", peer, PORT, TEST_KEY)) TH_LOG("%s", self->out);
	EVENT("hb: linked");
	EVENT("hb: synced");	/* a stop mid-sync would end the stream mid-epoch */
	ASSERT_EQ(0, FTNL(self->out, "-j", "show", "hb"));
	EXPECT_NE(NULL, strstr(self->out, "\"state\":\"connected\"")) TH_LOG("%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, "\"peer_lost\":1,")) TH_LOG("%s", self->out);
	/* Tell a we are done: end the link, cleanly. */
	EXPECT_EQ(0, FTNL(self->out, "stop", "hb")) TH_LOG("%s", self->out);
}

TEST_F(peer, wrong_role_refused)
{
	char *want = strcmp(self->role, "a") ? "only a backup VM listens" :
					       "only a primary VM pairs";

	/* A primary does not listen, a backup does not pair. */
	if (strcmp(self->role, "a")) {
		EXPECT_EQ(1, FTNL(self->out, "listen", "hb", "0.0.0.0", PORT, TEST_KEY));
	} else {
		EXPECT_EQ(1, FTNL(self->out, "pair", "hb", getenv("CUJU_PEER"), PORT, TEST_KEY));
	}
	EXPECT_NE(NULL, strstr(self->out, want)) TH_LOG("%s", self->out);
	EXPECT_EQ(0, FTNL(self->out, "-j", "show", "hb"));
	EXPECT_NE(NULL, strstr(self->out, "\"state\":\"idle\"")) TH_LOG("%s", self->out);
	/* Refused by ftnl before anything is sent. */
	EXPECT_EQ(2, FTNL(self->out, "pair", "hb", "300.1.1.1", PORT, TEST_KEY));
	EXPECT_EQ(2, FTNL(self->out, "pair", "hb", getenv("CUJU_PEER"), "0", TEST_KEY));
	EXPECT_EQ(2, FTNL(self->out, "listen", "hb", "0.0.0.0", "65536", TEST_KEY));
}

/*
 * ftnl start pairs or listens again where the VM last did: after a stop,
 * the same primary and backup link up again without being told where.
 */
TEST_F(peer, stop_and_start_again)
{
	const char *peer = getenv("CUJU_PEER");
	char want[64];

	ASSERT_TRUE(monitor_start(&self->mon)) TH_LOG("ftnl monitor did not start");
	EXPECT_EQ(1, FTNL(self->out, "start", "hb"));
	EXPECT_NE(NULL, strstr(self->out, "no address yet: pair or listen first"))
		TH_LOG("%s", self->out);
	EXPECT_EQ(0, FTNL(self->out, "show", "hb"));
	EXPECT_NE(NULL, strstr(self->out, "none yet (")) TH_LOG("%s", self->out);

	if (!strcmp(self->role, "a")) {
		ASSERT_EQ(0, FTNL(self->out, "listen", "hb", "0.0.0.0", START_PORT, TEST_KEY))
			TH_LOG("%s", self->out);
		EVENT("hb: linked");
		EVENT("hb: peer lost (closed)");
		/* Still listening after a clean end: b's start finds us. */
		EVENT("hb: linked");
		EVENT("hb: peer lost (closed)");
		ASSERT_EQ(0, FTNL(self->out, "stop", "hb")) TH_LOG("%s", self->out);
		ASSERT_EQ(0, FTNL(self->out, "start", "hb")) TH_LOG("%s", self->out);
		ASSERT_TRUE(WAIT_FOR("\"state\":\"listening\"", "\"addr\":\"0.0.0.0\",\"port\":"
				     START_PORT ",")) TH_LOG("%s", self->out);
		EXPECT_EQ(0, FTNL(self->out, "show", "hb"));
		EXPECT_NE(NULL, strstr(self->out, "primary:   listening on 0.0.0.0:" START_PORT))
			TH_LOG("%s", self->out);
		EXPECT_EQ(6, FTNL(self->out, "start", "hb"));
		EXPECT_NE(NULL, strstr(self->out, "not idle")) TH_LOG("%s", self->out);
		return;
	}

	ASSERT_EQ(0, FTNL(self->out, "pair", "hb", peer, START_PORT, TEST_KEY)) TH_LOG("%s", self->out);
	EVENT("hb: linked");
	EVENT("hb: synced");
	EXPECT_EQ(6, FTNL(self->out, "start", "hb"));
	EXPECT_NE(NULL, strstr(self->out, "not idle")) TH_LOG("%s", self->out);
	ASSERT_EQ(0, FTNL(self->out, "stop", "hb")) TH_LOG("%s", self->out);
	ASSERT_EQ(0, FTNL(self->out, "start", "hb")) TH_LOG("%s", self->out);
	EVENT("hb: linked");
	EVENT("hb: synced");
	snprintf(want, sizeof(want), "\"addr\":\"%s\",\"port\":" START_PORT ",", peer);
	ASSERT_EQ(0, FTNL(self->out, "-j", "show", "hb"));
	EXPECT_NE(NULL, strstr(self->out, want)) TH_LOG("%s\nwant %s", self->out, want);
	EXPECT_NE(NULL, strstr(self->out, "\"state\":\"connected\"")) TH_LOG("%s", self->out);
	EXPECT_EQ(0, FTNL(self->out, "stop", "hb")) TH_LOG("%s", self->out);
}

/*
 * A primary whose key is not its backup's is refused at the handshake,
 * on both sides, with the reason: nothing of the VM crosses.  With the
 * right key it pairs at once.
 */
TEST_F(peer, keys_must_match)
{
	char wrong[80] = TEST_KEY_HEX, path[256];
	FILE *f;

	ASSERT_TRUE(monitor_start(&self->mon)) TH_LOG("ftnl monitor did not start");
	if (!strcmp(self->role, "a")) {
		ASSERT_EQ(0, FTNL(self->out, "listen", "hb", "0.0.0.0", KEY_PORT, TEST_KEY))
			TH_LOG("%s", self->out);
		/* Counted, and no link came of it (b pairs again at once). */
		ASSERT_TRUE(WAIT_FOR("\"key\":1,")) TH_LOG("%s", self->out);
		EVENT("hb: linked");
		EVENT("hb: peer lost (closed)");
		return;
	}

	wrong[0] = wrong[0] == '0' ? '1' : '0';
	snprintf(path, sizeof(path), "%s/wrong.key", getenv("TMPDIR") ?: "/tmp");
	f = fopen(path, "w");
	ASSERT_NE(NULL, f);
	fprintf(f, "%s\n", wrong);
	fclose(f);
	chmod(path, 0600);
	ASSERT_EQ(0, FTNL(self->out, "pair", "hb", getenv("CUJU_PEER"), KEY_PORT, "key", path))
		TH_LOG("%s", self->out);
	EVENT("hb: peer lost (key)");
	ASSERT_TRUE(WAIT_FOR("\"state\":\"unprotected\"", "\"key\":1,", "\"bytes_tx\":0,"))
		TH_LOG("%s", self->out);
	ASSERT_EQ(0, FTNL(self->out, "pair", "hb", getenv("CUJU_PEER"), KEY_PORT, TEST_KEY))
		TH_LOG("%s", self->out);
	EVENT("hb: linked");
	EVENT("hb: synced");
	ASSERT_EQ(0, FTNL(self->out, "show", "hb"));
	EXPECT_NE(NULL, strstr(self->out, " (VM hb)")) TH_LOG("%s", self->out);
	EXPECT_EQ(0, FTNL(self->out, "stop", "hb")) TH_LOG("%s", self->out);
}

TEST_HARNESS_MAIN
