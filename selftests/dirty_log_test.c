// SPDX-License-Identifier: GPL-2.0
/*
 * The guest writes a known set of pages of a dirty-logged memslot; the dirty
 * log must report exactly that set: every written page, and nothing else.
 *
 *   host                                   guest
 *   choose a set, store it in guest_set    |
 *   run ---------------------------------> write each page of the set
 *                                          GUEST_SYNC(round)
 *   KVM_GET_DIRTY_LOG == the set; contents |
 *   KVM_GET_DIRTY_LOG again == empty       |
 */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "ucall.h"
#include "vmm.h"

#define SLOT		1
#define NPAGES		1024UL
#define ROUNDS		6

static volatile uint64_t guest_set[NPAGES];
static volatile uint64_t guest_set_len;

static void guest_dirty(void)
{
	uint64_t round, i;

	for (round = 0;; round++) {
		for (i = 0; i < guest_set_len; i++) {
			uint64_t page = guest_set[i];
			volatile uint64_t *p = (uint64_t *)(VMM_TEST_GPA + page * VMM_PAGE_SIZE);

			GUEST_ASSERT(page < NPAGES);
			p[round % (VMM_PAGE_SIZE / 8)] = round << 32 | page;
		}
		GUEST_SYNC(round);
	}
}

FIXTURE(dirty) {
	struct vm *vm;
	struct vcpu *vcpu;
	uint8_t *mem;
	uint64_t bitmap[NPAGES / 64];
	bool want[NPAGES];
	uint64_t round;
};

FIXTURE_SETUP(dirty)
{
	self->vm = vm_create();
	self->mem = vm_add_slot(self->vm, SLOT, VMM_TEST_GPA, NPAGES * VMM_PAGE_SIZE,
				KVM_MEM_LOG_DIRTY_PAGES);
	self->vcpu = vcpu_add(self->vm, 0, guest_dirty, 0, 0);
	self->round = 0;
}

FIXTURE_TEARDOWN(dirty)
{
	vm_destroy(self->vm);
}

static bool bit(const uint64_t *bitmap, uint64_t i)
{
	return bitmap[i / 64] >> (i % 64) & 1;
}

/* Hand the guest @pages (duplicates allowed) and run one round of writes. */
static void guest_writes(struct __test_metadata *_metadata,
			 FIXTURE_DATA(dirty) *self, const uint64_t *pages, uint64_t n)
{
	struct ucall uc;
	uint64_t i;

	memset(self->want, 0, sizeof(self->want));
	for (i = 0; i < n; i++) {
		GUEST_VAR(self->vm, guest_set[i]) = pages[i];
		self->want[pages[i]] = true;
	}
	GUEST_VAR(self->vm, guest_set_len) = n;
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(self->vcpu, &uc));
	ASSERT_EQ(self->round, uc.args[0]);
	self->round++;
}

/* The log holds exactly the pages written, each with the value written. */
static void check_log(struct __test_metadata *_metadata, FIXTURE_DATA(dirty) *self)
{
	uint64_t r = self->round - 1, i;

	vm_get_dirty_log(self->vm, SLOT, self->bitmap);
	for (i = 0; i < NPAGES; i++) {
		uint64_t *p = (uint64_t *)(self->mem + i * VMM_PAGE_SIZE);

		ASSERT_EQ(self->want[i], bit(self->bitmap, i))
			TH_LOG("round %lu: page %lu %s", r, i,
			       self->want[i] ? "written but not logged" : "logged but not written");
		if (self->want[i])
			ASSERT_EQ(r << 32 | i, p[r % (VMM_PAGE_SIZE / 8)]);
	}

	/* Reading the log reset it: with no writes since, it is empty. */
	vm_get_dirty_log(self->vm, SLOT, self->bitmap);
	for (i = 0; i < NPAGES / 64; i++)
		ASSERT_EQ(0, self->bitmap[i]) TH_LOG("word %lu not reset", i);
}

TEST_F(dirty, nothing_written)
{
	guest_writes(_metadata, self, NULL, 0);
	check_log(_metadata, self);
}

TEST_F(dirty, edges)
{
	uint64_t pages[] = { 0, 63, 64, NPAGES - 1 };

	guest_writes(_metadata, self, pages, 4);
	check_log(_metadata, self);
}

TEST_F(dirty, random_sets)
{
	static uint64_t pages[NPAGES];
	unsigned int seed = 20261125;
	int round;

	TH_LOG("seed %u", seed);
	for (round = 0; round < ROUNDS; round++) {
		/* From sparse (a few pages) to dense (more than all, with repeats). */
		uint64_t n = round == ROUNDS - 1 ? NPAGES : (NPAGES >> (ROUNDS - round)) * 3;
		uint64_t i;

		for (i = 0; i < n; i++)
			pages[i] = rand_r(&seed) % NPAGES;
		guest_writes(_metadata, self, pages, n);
		check_log(_metadata, self);
	}
}

TEST_F(dirty, whole_slot)
{
	static uint64_t pages[NPAGES];
	uint64_t i;

	for (i = 0; i < NPAGES; i++)
		pages[i] = NPAGES - 1 - i;
	guest_writes(_metadata, self, pages, NPAGES);
	check_log(_metadata, self);
}

TEST_HARNESS_MAIN
