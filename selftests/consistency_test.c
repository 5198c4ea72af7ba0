// SPDX-License-Identifier: GPL-2.0
/*
 * The backup's memory equals the primary's at every commit point, while
 * the guest writes memory in every pattern that matters to the engine:
 * single words on random pages, sparse strides, dense runs, and sweeps of
 * its whole test slot.
 *
 * With verify_memory on, the primary's kernel takes a CRC-32C of all guest
 * memory at each epoch's end (vCPUs held) and sends it with the epoch; the
 * backup's kernel applies the epoch, checksums its own memory, and only
 * then acknowledges it.  So every acknowledged epoch after the sync is one
 * commit point checked; a difference would end the link (error "verify",
 * which backup_test shows is caught).  Pages written again after the
 * sync go as deltas (delta_max_mb's default): each applied to the
 * backup's copy, the checksums prove them right.
 *
 *   host a: VM "cons" (backup), counts verified epochs
 *   host b: VM "cons" (primary), guest writes patterns, verify_memory=1
 */
#include <linux/kvm_ft.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "pair.h"
#include "run.h"
#include "test.h"
#include "ucall.h"
#include "vmm.h"

#define PORT		"7906"
#define WAIT_S		300
#define SLOT_PAGES	512		/* 2 MiB of test memory: 8 bitmap words */
/*
 * Commit points checked: EPOCHS, or as many as come within BUDGET_S of the
 * sync on a slow kernel (the debug kernel moves well under 1 MB/s between
 * test hosts), but never fewer than MIN_EPOCHS.
 */
#define EPOCHS		40
#define MIN_EPOCHS	8
#define BUDGET_S	90
#define FAILOVER_MS	5000		/* roomy: a slow emulated host stalls */
#define PAGE		VMM_PAGE_SIZE

/* ---- the guest ------------------------------------------------------------ */

static volatile uint64_t cons_round;	/* the pattern's record: round ... */
static volatile uint64_t cons_seed;	/* ... and where the generator is */

static uint64_t next_random(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void put(uint64_t page, uint64_t word, uint64_t v)
{
	*(volatile uint64_t *)(VMM_TEST_GPA + page * PAGE + (word % (PAGE / 8)) * 8) = v;
}

static void guest_patterns(uint64_t pages, uint64_t unused)
{
	uint64_t seed = 0x9e3779b97f4a7c15UL, round, i, first;

	for (round = 1;; round++) {
		switch (round % 5) {
		case 0:		/* random pages, a word each */
			for (i = 0; i < 64; i++) {
				uint64_t r = next_random(&seed);

				put(r % pages, r >> 32, r);
			}
			break;
		case 1:		/* sparse: every 61st page */
			for (i = round % 61; i < pages; i += 61)
				put(i, round, round ^ i);
			break;
		case 2:		/* dense: a run of 256 pages */
			first = (round * 256) % pages;
			for (i = first; i < first + 256 && i < pages; i++)
				put(i, i, round + i);
			break;
		case 3:		/* the whole slot */
			for (i = 0; i < pages; i++)
				put(i, round + i, round * i);
			break;
		case 4:		/* a random page cleared whole: a ZERO frame */
			first = next_random(&seed) % pages;
			for (i = 0; i < PAGE / 8; i++)
				put(first, i, 0);
			break;
		}
		cons_round = round;
		cons_seed = seed;
		if (guest_ask_stop())
			break;
	}
	GUEST_SYNC(round);
}

/* ---- the host ------------------------------------------------------------- */

FIXTURE(cons) {
	const char *role, *peer;
	struct vm *vm;
	struct vcpu *vcpu;
	struct guest_thread run;
	struct monitor mon;
	char out[4096];
};

FIXTURE_SETUP(cons)
{
	struct kvm_ft_register r = { .name = "cons", .flags = KVM_FT_F_NO_DEVICE_STATE };

	self->role = getenv("CUJU_ROLE");
	self->peer = getenv("CUJU_PEER");
	ASSERT_NE(NULL, self->role) TH_LOG("run by the test runner on two hosts");
	knob_set("failover_timeout_ms", FAILOVER_MS);
	r.role = strcmp(self->role, "a") ? KVM_FT_ROLE_PRIMARY : KVM_FT_ROLE_BACKUP;
	self->vm = vm_create_with(KVM_MEM_LOG_DIRTY_PAGES);
	vm_add_slot(self->vm, 1, VMM_TEST_GPA, SLOT_PAGES * PAGE, KVM_MEM_LOG_DIRTY_PAGES);
	self->vcpu = vcpu_add(self->vm, 0, guest_patterns, SLOT_PAGES, 0);
	ASSERT_EQ(0, ioctl(self->vm->fd, KVM_FT_REGISTER, &r));
	ASSERT_TRUE(monitor_start(&self->mon));
}

FIXTURE_TEARDOWN(cons)
{
	guest_thread_stop(&self->run);
	pair_teardown(&self->mon, "cons");
	vm_destroy(self->vm);
}

/*
 * @vm's backup acknowledged @want epochs after the sync, or at least @min
 * by @deadline, with its link up all along.
 */
static bool epochs_checked(const char *vm, unsigned long long want, unsigned long long min,
			   time_t deadline)
{
	time_t left = deadline - time(NULL);

	if (ftnl_counter_reaches(vm, "\"epochs\":", want + 1, left > 0 ? left : 1))
		return true;
	return ftnl_last_counter("\"epochs\":") >= min + 1 &&
	       !ftnl_last_counter("\"peer_lost\":");
}

#define EVENT(want) ASSERT_TRUE(monitor_next(&self->mon, want, WAIT_S)) \
	TH_LOG("expected event '%s', got '%s'", want, self->mon.event)
#define COUNTER_REACHES(key, min) \
	ASSERT_TRUE(ftnl_counter_reaches("cons", key, min, WAIT_S)) TH_LOG("%s", ftnl_last())

/*
 * Every epoch the backup acknowledged after the sync was checked equal to
 * the primary's memory at that epoch's end: EPOCHS commit points or more
 * (MIN_EPOCHS on a slow kernel),
 * through every pattern many times over.
 */
TEST_F_TIMEOUT(cons, memory_equal_at_every_commit, 2 * WAIT_S)
{
	unsigned long long epochs, zero_synced, early;

	if (!strcmp(self->role, "a")) {
		ASSERT_EQ(0, FTNL(self->out, "listen", "cons", "0.0.0.0", PORT, TEST_KEY))
			TH_LOG("%s", self->out);
		EVENT("cons: linked");
		EVENT("cons: peer lost (closed)");
		epochs = ftnl_counter("cons", "\"epochs\":");
		EXPECT_LE(MIN_EPOCHS + 1, epochs) TH_LOG("%s", ftnl_last());
		/* Each epoch but the sync came with its checksum, and matched. */
		EXPECT_EQ(epochs - 1, ftnl_last_counter("\"verified\":")) TH_LOG("%s", ftnl_last());
		EXPECT_EQ(0, ftnl_last_counter("\"verify\":")) TH_LOG("%s", ftnl_last());
		EXPECT_LT(0, ftnl_last_counter("\"zero_pages\":")) TH_LOG("%s", ftnl_last());
		/* Pages written again came as deltas, each applied to its base. */
		EXPECT_LT(0, ftnl_last_counter("\"delta_pages\":")) TH_LOG("%s", ftnl_last());
		EXPECT_EQ(0, ftnl_last_counter("\"delta\":")) TH_LOG("%s", ftnl_last());
		ASSERT_EQ(0, FTNL(self->out, "show", "cons"));
		EXPECT_NE(NULL, strstr(self->out, "verified:")) TH_LOG("%s", self->out);
		return;
	}

	ASSERT_TRUE(knob_set("verify_memory", 1));
	guest_thread_start(&self->run, self->vcpu);
	ASSERT_EQ(0, FTNL(self->out, "pair", "cons", self->peer, PORT, TEST_KEY)) TH_LOG("%s", self->out);
	EVENT("cons: linked");
	EVENT("cons: synced");
	/* The sync's memory is mostly untouched: zero pages, sent as such. */
	zero_synced = ftnl_counter("cons", "\"zero_pages\":");
	EXPECT_LT(0, zero_synced) TH_LOG("%s", ftnl_last());
	ASSERT_TRUE(epochs_checked("cons", EPOCHS, MIN_EPOCHS, time(NULL) + BUDGET_S))
		TH_LOG("%s", ftnl_last());
	ASSERT_EQ(UCALL_SYNC, guest_thread_stop(&self->run));
	EXPECT_LT(5 * 4, self->run.uc.args[0]) TH_LOG("each pattern more than 4 times");
	/* Pages the guest cleared went as ZERO frames in the epochs after. */
	EXPECT_LT(zero_synced, ftnl_counter("cons", "\"zero_pages\":")) TH_LOG("%s", ftnl_last());
	/* The words the guest wrote on pages sent before went as deltas. */
	EXPECT_LT(0, ftnl_counter("cons", "\"delta_pages\":")) TH_LOG("%s", ftnl_last());
	/* And the vCPU's state, after the first epoch, as its differences too. */
	EXPECT_LT(0, ftnl_counter("cons", "\"vcpu_deltas\":")) TH_LOG("%s", ftnl_last());
	/*
	 * Pages copied after the vCPUs resumed (copy_after_resume, on by
	 * default): on two CPUs the guest writes while the sender copies, and
	 * some pages it wrote before the sender reached them were copied
	 * first; every epoch still matched (verify_memory, on the backup).
	 * On one CPU the sender, running on after the release, may copy them
	 * all before the vCPU runs: the count is only printed there.
	 */
	early = ftnl_counter("cons", "\"early_copies\":");
	printf("# pages copied early: %llu\n", early);
	if (sysconf(_SC_NPROCESSORS_ONLN) > 1)
		EXPECT_LT(0, early) TH_LOG("%s", ftnl_last());
	/* The guest's last writes checked too, then a clean stop. */
	epochs = ftnl_counter("cons", "\"epochs\":");
	COUNTER_REACHES("\"epochs\":", epochs + 2);
	EXPECT_EQ(0, ftnl_last_counter("\"peer_lost\":")) TH_LOG("%s", ftnl_last());
	EXPECT_EQ(0, FTNL(self->out, "stop", "cons")) TH_LOG("%s", self->out);
}

/* ---- two protected VMs at once ------------------------------------------- */

#define TWO_PORT_0	"7910"
#define TWO_PORT_1	"7911"

static const char *const two_names[2] = { "one", "two" };
static const char *const two_ports[2] = { TWO_PORT_0, TWO_PORT_1 };
static const uint64_t two_pages[2] = { 256, 768 };	/* of different shapes */
#define TWO_EPOCHS	20		/* each, or at least TWO_MIN_EPOCHS */
#define TWO_MIN_EPOCHS	4
/* Two syncs at once can starve a side of a debug kernel's host for seconds. */
#define TWO_FAILOVER_MS	20000

FIXTURE(two) {
	const char *role, *peer;
	struct vm *vm[2];
	struct vcpu *vcpu[2];
	struct guest_thread run[2];
	struct monitor mon;
	char out[4096];
};

FIXTURE_SETUP(two)
{
	struct kvm_ft_register r = { .flags = KVM_FT_F_NO_DEVICE_STATE };
	int i;

	self->role = getenv("CUJU_ROLE");
	self->peer = getenv("CUJU_PEER");
	ASSERT_NE(NULL, self->role) TH_LOG("run by the test runner on two hosts");
	knob_set("failover_timeout_ms", TWO_FAILOVER_MS);
	r.role = strcmp(self->role, "a") ? KVM_FT_ROLE_PRIMARY : KVM_FT_ROLE_BACKUP;
	for (i = 0; i < 2; i++) {
		self->vm[i] = vm_create_with(KVM_MEM_LOG_DIRTY_PAGES);
		vm_add_slot(self->vm[i], 1, VMM_TEST_GPA, two_pages[i] * PAGE,
			    KVM_MEM_LOG_DIRTY_PAGES);
		self->vcpu[i] = vcpu_add(self->vm[i], 0, guest_patterns, two_pages[i], 0);
		strcpy(r.name, two_names[i]);
		ASSERT_EQ(0, ioctl(self->vm[i]->fd, KVM_FT_REGISTER, &r));
	}
	ASSERT_TRUE(monitor_start(&self->mon));
}

FIXTURE_TEARDOWN(two)
{
	guest_thread_stop(&self->run[0]);
	guest_thread_stop(&self->run[1]);
	pair_teardown(&self->mon, "one");
	pair_teardown(&self->mon, "two");
	vm_destroy(self->vm[0]);
	vm_destroy(self->vm[1]);
}

/*
 * Each VM's events @a (and @b, if not NULL), in whatever order the two VMs
 * interleave them, each VM's own in order; anything else fails.
 */
static bool both_events(struct monitor *m, const char *a, const char *b)
{
	const char *const steps[2] = { a, b };
	char want[64];
	int next[2] = { 0, 0 }, n = b ? 2 : 1, i;

	while (next[0] < n || next[1] < n) {
		if (!monitor_next(m, "", WAIT_S))
			return false;
		for (i = 0; i < 2; i++) {
			if (next[i] == n)
				continue;
			snprintf(want, sizeof(want), "%s: %s", two_names[i], steps[next[i]]);
			if (!strncmp(m->event, want, strlen(want)))
				break;
		}
		if (i == 2)
			return false;
		next[i]++;
	}
	return true;
}

/*
 * Two VMs of different sizes replicate at the same time between the same
 * hosts, each to its own backup; with verify_memory each backup checks
 * every epoch against its own primary: any frame crossing over would be
 * refused (shape, gfn) or caught (verify).
 */
TEST_F_TIMEOUT(two, vms_at_once_without_crosstalk, 2 * WAIT_S)
{
	unsigned long long epochs;
	time_t deadline;
	int i;

	if (!strcmp(self->role, "a")) {
		for (i = 0; i < 2; i++)
			ASSERT_EQ(0, FTNL(self->out, "listen", two_names[i], "0.0.0.0", two_ports[i], TEST_KEY))
				TH_LOG("%s", self->out);
		ASSERT_TRUE(both_events(&self->mon, "linked", NULL)) TH_LOG("%s", self->mon.event);
		ASSERT_TRUE(both_events(&self->mon, "peer lost (closed)", NULL))
			TH_LOG("%s", self->mon.event);
		for (i = 0; i < 2; i++) {
			epochs = ftnl_counter(two_names[i], "\"epochs\":");
			EXPECT_LE(TWO_MIN_EPOCHS + 1, epochs) TH_LOG("%s", ftnl_last());
			EXPECT_EQ(epochs - 1, ftnl_last_counter("\"verified\":")) TH_LOG("%s", ftnl_last());
			EXPECT_NE(NULL, strstr(ftnl_last(), "\"errors\":{\"magic\":0,\"version\":0,"
					       "\"type\":0,\"reserved\":0,\"length\":0,\"checksum\":0,"
					       "\"shape\":0,\"order\":0,\"epoch\":0,\"gfn\":0,"))
				TH_LOG("%s", ftnl_last());
			EXPECT_EQ(0, ftnl_last_counter("\"verify\":"));
		}
		return;
	}

	ASSERT_TRUE(knob_set("verify_memory", 1));
	/* Pages copied within the pause, as on a host without TDP: checked too. */
	ASSERT_TRUE(knob_set("copy_after_resume", 0));
	for (i = 0; i < 2; i++) {
		guest_thread_start(&self->run[i], self->vcpu[i]);
		ASSERT_EQ(0, FTNL(self->out, "pair", two_names[i], self->peer, two_ports[i], TEST_KEY))
			TH_LOG("%s", self->out);
	}
	ASSERT_TRUE(both_events(&self->mon, "linked", "synced")) TH_LOG("%s", self->mon.event);
	deadline = time(NULL) + BUDGET_S;
	for (i = 0; i < 2; i++)
		ASSERT_TRUE(epochs_checked(two_names[i], TWO_EPOCHS, TWO_MIN_EPOCHS, deadline))
			TH_LOG("%s", ftnl_last());
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(UCALL_SYNC, guest_thread_stop(&self->run[i]));
		epochs = ftnl_counter(two_names[i], "\"epochs\":");
		EXPECT_EQ(0, ftnl_last_counter("\"early_copies\":")) TH_LOG("%s", ftnl_last());
		ASSERT_TRUE(ftnl_counter_reaches(two_names[i], "\"epochs\":", epochs + 2, WAIT_S));
		EXPECT_EQ(0, ftnl_last_counter("\"peer_lost\":")) TH_LOG("%s", ftnl_last());
		EXPECT_EQ(0, FTNL(self->out, "stop", two_names[i])) TH_LOG("%s", self->out);
	}
}

TEST_HARNESS_MAIN
