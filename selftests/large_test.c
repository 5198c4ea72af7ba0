// SPDX-License-Identifier: GPL-2.0
/*
 * A large VM: 4 GiB of test memory besides its 16 MiB of main memory,
 * every page of it written by its guest in one epoch.  That epoch is
 * larger than INT_MAX bytes (kvmalloc's limit, which the engine's epoch
 * buffer once had), is copied while the vCPU is held, staged whole on the
 * backup and applied there, and the backup's memory then equals the
 * primary's; the backup finally takes over in the middle of a sweep and
 * the guest finds every page as its registers say it should be.
 *
 *   +------ test host a ------+           +------ test host b ------+
 *   | VM "big" (backup)       |   eth0    | VM "big" (primary)      |
 *   | 4 GiB + 16 MiB          |<--------->| inflight_max 1          |
 *   | stages 4 GiB, applies   |           | link down, guest sweeps |
 *   | compares checksums      |           | all of memory, link up: |
 *   | takes over mid-sweep    |           | one epoch of 4 GiB;     |
 *   |                         |           | then epochs of GiBs, 4  |
 *   |                         |           | in flight, link cut     |
 *   +-------------------------+           +-------------------------+
 *
 * The whole-memory epoch is made, not hoped for: while host b's link is
 * down, the epoch in flight cannot be acknowledged, so with inflight_max 1
 * no epoch is taken and everything the guest writes meanwhile goes in the
 * next one.  Not in `make check`: it needs test hosts of 9 GiB and about
 * ten minutes (`make check-large`, Documentation/testing.rst).
 */
#include <linux/kvm_ft.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "pair.h"
#include "run.h"
#include "test.h"
#include "ucall.h"
#include "vmm.h"

#define PORT		"7920"
#define VALUE_PORT	7921		/* the tests' own exchange of checksums */
#define WAIT_S		900		/* 4 GiB cross the emulated link at ~30 MB/s */
#define SLOT_BYTES	(4UL << 30)
#define SLOT_PAGES	(SLOT_BYTES / VMM_PAGE_SIZE)
#define TICK_PAGES	65536		/* an exit every 256 MiB written */
#define BIG_EPOCH_PAGES	(3 * SLOT_PAGES / 4)	/* 3 GiB: beyond INT_MAX bytes */
#define LINK_DOWN_MS	600000		/* no failover while the link is down on purpose */
/*
 * Then a real one, in the second half, shorter than applying an epoch of
 * 4 GiB takes on host a: with the default inflight_max, b's sender blocks
 * meanwhile (a reads nothing), and must wait on as long as a's heartbeats
 * come.  Roomy enough otherwise for a slow emulated host.
 */
#define FAILOVER_MS	3000

/* ---- the guest ------------------------------------------------------------ */

static inline volatile uint64_t *word(uint64_t page)
{
	return (volatile uint64_t *)(VMM_TEST_GPA + page * VMM_PAGE_SIZE);
}

/*
 * Sweep: write the next round number into every page, then check that
 * every page holds it.  A checkpoint taken mid-sweep holds the round and
 * the page index in registers, and the pages before the index written: a
 * backup that resumes it finishes the sweep and finds them all equal.
 */
static void guest_sweep(uint64_t pages, uint64_t unused)
{
	uint64_t round = 0, i;

	for (;;) {
		round++;
		for (i = 0; i < pages; i++) {
			*word(i) = round;
			if (!(i % TICK_PAGES))
				guest_tick();	/* a sweep outlasts VMM_RUN_LIMIT_S */
		}
		for (i = 0; i < pages; i++) {
			GUEST_ASSERT(*word(i) == round);
			if (!(i % TICK_PAGES))
				guest_tick();
		}
		if (guest_ask_stop())
			GUEST_SYNC(round);
	}
}

/* ---- the host ------------------------------------------------------------- */

FIXTURE(big) {
	const char *role, *peer;
	struct vm *vm;
	struct vcpu *vcpu;
	struct guest_thread run;
	struct monitor mon;
	char out[4096];
};

FIXTURE_SETUP(big)
{
	struct kvm_ft_register r = { .name = "big", .flags = KVM_FT_F_NO_DEVICE_STATE };

	self->role = getenv("CUJU_ROLE");
	self->peer = getenv("CUJU_PEER");
	ASSERT_NE(NULL, self->role) TH_LOG("run by the test runner on two hosts");
	ASSERT_TRUE(knob_set("failover_timeout_ms", LINK_DOWN_MS));
	r.role = strcmp(self->role, "a") ? KVM_FT_ROLE_PRIMARY : KVM_FT_ROLE_BACKUP;
	self->vm = vm_create_with(KVM_MEM_LOG_DIRTY_PAGES);
	vm_add_slot(self->vm, 1, VMM_TEST_GPA, SLOT_BYTES, KVM_MEM_LOG_DIRTY_PAGES);
	self->vcpu = vcpu_add(self->vm, 0, guest_sweep, SLOT_PAGES, 0);
	ASSERT_EQ(0, ioctl(self->vm->fd, KVM_FT_REGISTER, &r));
	ASSERT_TRUE(monitor_start(&self->mon));
}

FIXTURE_TEARDOWN(big)
{
	guest_thread_stop(&self->run);
	pair_teardown(&self->mon, "big");
	vm_destroy(self->vm);
}

/* CRC-32C of guest memory [@gpa, +@size), by the kernel; 0 if it failed. */
static uint32_t range_crc(struct vm *vm, uint64_t gpa, uint64_t size)
{
	struct kvm_ft_checksum c = { .gpa = gpa, .size = size };

	return ioctl(vm->fd, KVM_FT_CHECKSUM, &c) ? 0 : c.crc;
}

#define EVENT(want) ASSERT_TRUE(monitor_next(&self->mon, want, WAIT_S)) \
	TH_LOG("expected event '%s', got '%s'", want, self->mon.event)
#define COUNTER_REACHES(key, min) \
	ASSERT_TRUE(ftnl_counter_reaches("big", key, min, WAIT_S)) TH_LOG("%s", ftnl_last())

/* Checksums of main memory and of the slot. */
static void crcs(struct vm *vm, uint32_t crc[2])
{
	crc[0] = range_crc(vm, 0, VMM_MAIN_SIZE);
	crc[1] = range_crc(vm, VMM_TEST_GPA, SLOT_BYTES);
}

/* Host a: its checksums against b's, each side told the other's. */
static void compare_on_a(struct __test_metadata *_metadata, FIXTURE_DATA(big) *self)
{
	uint32_t b[2], a[2];

	ASSERT_TRUE(take_values(VALUE_PORT, b, 2, WAIT_S));
	crcs(self->vm, a);
	EXPECT_NE(0, a[1]);
	EXPECT_EQ(b[0], a[0]);
	EXPECT_EQ(b[1], a[1]);
	ASSERT_TRUE(give_values(self->peer, VALUE_PORT, a, 2, WAIT_S));
}

static void compare_on_b(struct __test_metadata *_metadata, FIXTURE_DATA(big) *self)
{
	uint32_t b[2], a[2];

	crcs(self->vm, b);
	EXPECT_NE(0, b[1]);
	ASSERT_TRUE(give_values(self->peer, VALUE_PORT, b, 2, WAIT_S));
	ASSERT_TRUE(take_values(VALUE_PORT, a, 2, WAIT_S));
	EXPECT_EQ(b[0], a[0]);
	EXPECT_EQ(b[1], a[1]);
}

TEST_F_TIMEOUT(big, all_memory_in_one_epoch, 4 * WAIT_S)
{
	unsigned long long acked;

	if (!strcmp(self->role, "a")) {
		ASSERT_EQ(0, FTNL(self->out, "listen", "big", "0.0.0.0", PORT, TEST_KEY))
			TH_LOG("%s", self->out);
		EVENT("big: linked");
		compare_on_a(_metadata, self);
		TH_LOG("checksums compared");
		EXPECT_EQ(0, ftnl_counter("big", "\"nomem\":")) TH_LOG("%s", ftnl_last());
		/* The second half: b's link goes down for good mid-sweep. */
		ASSERT_TRUE(knob_set("failover_timeout_ms", FAILOVER_MS));
		EVENT("big: peer lost (silence)");
		EVENT("big: failover started at epoch");
		EVENT("big: took over at epoch");
		TH_LOG("took over; the guest finishes its sweep");
		/* The guest finishes the sweep it was in and checks every page. */
		guest_thread_start(&self->run, self->vcpu);
		ASSERT_EQ(UCALL_SYNC, guest_thread_stop(&self->run))
			TH_LOG("guest ucall %lu, line %lu", self->run.uc.cmd, self->run.uc.args[0]);
		EXPECT_LE(2, self->run.uc.args[0]);
		return;
	}

	ASSERT_TRUE(knob_set("inflight_max", 1));
	ASSERT_EQ(0, FTNL(self->out, "pair", "big", self->peer, PORT, TEST_KEY)) TH_LOG("%s", self->out);
	EVENT("big: linked");
	EVENT("big: synced");
	TH_LOG("synced; the guest sweeps with the link down");
	/* One sweep of all 4 GiB while no epoch can be acknowledged. */
	ASSERT_EQ(0, IP(self->out, "link", "set", "eth0", "down")) TH_LOG("%s", self->out);
	guest_thread_start(&self->run, self->vcpu);
	ASSERT_EQ(UCALL_SYNC, guest_thread_stop(&self->run))
		TH_LOG("guest ucall %lu, line %lu", self->run.uc.cmd, self->run.uc.args[0]);
	EXPECT_EQ(1, self->run.uc.args[0]);
	ASSERT_EQ(0, IP(self->out, "link", "set", "eth0", "up")) TH_LOG("%s", self->out);
	/*
	 * The next epoch has the sweep, but for what an epoch taken as the
	 * link went down may have caught of its start: well over 2 GiB.
	 */
	TH_LOG("swept; the link is up");
	COUNTER_REACHES("\"epoch_pages_max\":", BIG_EPOCH_PAGES);
	TH_LOG("an epoch of %llu pages", ftnl_last_counter("\"epoch_pages_max\":"));
	EXPECT_LT(INT32_MAX, ftnl_last_counter("\"epoch_pages_max\":") * VMM_PAGE_SIZE);
	ASSERT_TRUE(ftnl_epochs_settle("big", WAIT_S)) TH_LOG("%s", ftnl_last());
	EXPECT_EQ(0, ftnl_last_counter("\"peer_lost\":")) TH_LOG("%s", ftnl_last());
	compare_on_b(_metadata, self);
	TH_LOG("checksums compared; epochs of GiBs, 4 in flight");

	/* The second half: a checkpoint mid-sweep, then the link cut for good. */
	ASSERT_TRUE(knob_set("failover_timeout_ms", FAILOVER_MS));
	ASSERT_TRUE(knob_set("inflight_max", KVM_FT_INFLIGHT_DEFAULT));
	acked = ftnl_counter("big", "\"epochs\":");
	guest_thread_start(&self->run, self->vcpu);
	COUNTER_REACHES("\"epochs\":", acked + 3);
	EXPECT_EQ(0, ftnl_last_counter("\"peer_lost\":")) TH_LOG("%s", ftnl_last());
	ASSERT_EQ(0, IP(self->out, "link", "set", "eth0", "down")) TH_LOG("%s", self->out);
	EVENT("big: peer lost (silence)");
	ASSERT_EQ(UCALL_SYNC, guest_thread_stop(&self->run));
	/* Let a take over before the link comes back in teardown. */
	sleep(FAILOVER_MS / 1000 + 10);
}

TEST_HARNESS_MAIN
