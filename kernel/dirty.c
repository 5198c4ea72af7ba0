// SPDX-License-Identifier: GPL-2.0
/*
 * Which guest frames a protected VM wrote, from KVM's own dirty bitmaps,
 * collected as KVM_GET_DIRTY_LOG does (kvm_get_dirty_log_protect()): each
 * word of a memslot's bitmap is taken and cleared atomically under
 * mmu_lock and its frames write-protected again, so that a write after the
 * harvest is logged afresh for the next epoch.
 *
 * The engine owns these bitmaps while a VM is paired: a VMM that read them
 * too (KVM_GET_DIRTY_LOG) would take frames away from an epoch, so KVM
 * refuses it meanwhile (patch 0006).  The VM must log dirty pages on all
 * its memslots, must not use the dirty ring (which has no bitmap)
 * and must have no memslot in the SMM address space (whose writes land in
 * bitmaps of their own): kvm_ft_dirty_unfit() says so before pairing,
 * rather than letting writes go unreplicated.  A memslot created, deleted,
 * moved or re-flagged while paired ends the pair at the next harvest
 * (-EXDEV): the backup's memory no longer has the primary's layout.
 *
 * Read-only memslots are mirrored too: the guest cannot write them, but
 * their VMM can (QEMU reloads its ROMs at a reset, a flash device in ROM
 * mode is written by its VMM), and marks what it wrote, which lands in the
 * slot's bitmap like any other mark.
 */
#include <linux/kvm_host.h>
#include <linux/mm.h>
#include <linux/vmalloc.h>

#include "dirty.h"

/* Memslots the backup must mirror: the VMM's own; under srcu or slots_lock. */
static bool slot_mirrored(const struct kvm_memory_slot *slot)
{
	return slot->id < KVM_USER_MEM_SLOTS;
}

/* Memslots in the SMM address space?  Under srcu or slots_lock. */
static bool has_smm_slots(struct kvm *kvm)
{
	return KVM_ADDRESS_SPACE_NUM > 1 && !kvm_memslots_empty(__kvm_memslots(kvm, 1));
}

const char *kvm_ft_dirty_unfit(struct kvm *kvm)
{
	struct kvm_memory_slot *slot;
	const char *why = NULL;
	int idx, bkt;

	if (kvm->dirty_ring_size)
		return "the VM uses the dirty ring; Cuju needs dirty bitmaps";
	idx = srcu_read_lock(&kvm->srcu);
	if (has_smm_slots(kvm))
		why = "the VM has SMM memslots (address space 1), which Cuju does not replicate: "
		      "start it without SMM (QEMU: -machine smm=off)";
	kvm_for_each_memslot(slot, bkt, kvm_memslots(kvm))
		if (!why && slot_mirrored(slot) && !kvm_slot_dirty_track_enabled(slot))
			why = "a memslot of the VM does not log dirty pages (KVM_MEM_LOG_DIRTY_PAGES)";
	srcu_read_unlock(&kvm->srcu, idx);
	return why;
}

int kvm_ft_dirty_init(struct kvm_ft_dirty *d, struct kvm *kvm)
{
	struct kvm_memory_slot *slot;
	u64 pages = 0;
	int idx, bkt;

	idx = srcu_read_lock(&kvm->srcu);
	kvm_for_each_memslot(slot, bkt, kvm_memslots(kvm))
		if (slot_mirrored(slot))
			pages += slot->npages;
	d->generation = kvm_memslots(kvm)->generation;	/* the layout mirrored */
	srcu_read_unlock(&kvm->srcu, idx);

	d->nr = 0;
	d->cap = pages;
	/* Not kvmalloc: it refuses (and warns) beyond INT_MAX bytes, a 1 TiB VM. */
	d->gfns = __vmalloc(array_size(max_t(u64, pages, 1), sizeof(u64)),
			    GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	return d->gfns ? 0 : -ENOMEM;
}

/* The slot of @gfn if the engine logs it; caller holds kvm->srcu. */
static struct kvm_memory_slot *logged_slot(struct kvm *kvm, gfn_t gfn)
{
	struct kvm_memory_slot *slot = gfn_to_memslot(kvm, gfn);

	return slot && slot_mirrored(slot) && slot->dirty_bitmap ? slot : NULL;
}

int kvm_ft_dirty_mark(struct kvm *kvm, u64 gpa, u64 size)
{
	gfn_t gfn, first = gpa_to_gfn(gpa), end;
	int idx, ret = 0;

	if (!size || gpa + size < gpa)
		return -EINVAL;
	end = gpa_to_gfn(gpa + size - 1) + 1;
	idx = srcu_read_lock(&kvm->srcu);
	for (gfn = first; !ret && gfn < end; gfn++) {	/* all of it, or nothing */
		if (!logged_slot(kvm, gfn))
			ret = -EINVAL;
		if (!((gfn - first + 1) % 4096))
			cond_resched();		/* the VMM sets the size */
	}
	for (gfn = first; !ret && gfn < end; gfn++) {
		struct kvm_memory_slot *slot = logged_slot(kvm, gfn);

		/* Atomic, as the harvest's xchg of whole words is. */
		set_bit_le(gfn - slot->base_gfn, slot->dirty_bitmap);
		if (!((gfn - first + 1) % 4096))
			cond_resched();		/* srcu readers may sleep */
	}
	srcu_read_unlock(&kvm->srcu, idx);
	return ret;
}

int kvm_ft_dirty_all(struct kvm *kvm, struct kvm_ft_dirty *d)
{
	struct kvm_memory_slot *slot;
	int idx, bkt, ret = 0;
	u64 i;

	d->nr = 0;
	idx = srcu_read_lock(&kvm->srcu);
	kvm_for_each_memslot(slot, bkt, kvm_memslots(kvm)) {
		if (!slot_mirrored(slot))
			continue;
		for (i = 0; i < slot->npages && !ret; i++) {
			if (d->nr == d->cap)
				ret = -E2BIG;
			else
				d->gfns[d->nr++] = slot->base_gfn + i;
		}
	}
	srcu_read_unlock(&kvm->srcu, idx);
	return ret;
}

void kvm_ft_dirty_free(struct kvm_ft_dirty *d)
{
	vfree(d->gfns);
	d->gfns = NULL;
}

/*
 * Harvest one memslot into @d; -E2BIG if the VM grew past @d's room.
 * From the sender thread, with kvm->slots_lock held (see below).
 */
static int harvest_slot(struct kvm *kvm, struct kvm_memory_slot *slot,
			struct kvm_ft_dirty *d)
{
	unsigned long words = kvm_dirty_bitmap_bytes(slot) / sizeof(long);
	unsigned long *bitmap = slot->dirty_bitmap;
	unsigned long i, bit, mask;
	bool flush = false;
	int ret = 0;

	lockdep_assert_held(&kvm->slots_lock);
	write_lock(&kvm->mmu_lock);
	for (i = 0; i < words && !ret; i++) {
		if (!READ_ONCE(bitmap[i]))
			continue;
		mask = xchg(&bitmap[i], 0);
		kvm_arch_mmu_enable_log_dirty_pt_masked(kvm, slot, i * BITS_PER_LONG, mask);
		flush = true;
		for_each_set_bit(bit, &mask, BITS_PER_LONG) {
			if (d->nr == d->cap) {
				ret = -E2BIG;
				break;
			}
			d->gfns[d->nr++] = slot->base_gfn + i * BITS_PER_LONG + bit;
		}
	}
	write_unlock(&kvm->mmu_lock);
	/* Write-protection takes effect once no vCPU holds a stale TLB entry. */
	if (flush)
		kvm_arch_flush_remote_tlbs_memslot(kvm, slot);
	return ret;
}

int kvm_ft_dirty_harvest(struct kvm *kvm, struct kvm_ft_dirty *d)
{
	struct kvm_memory_slot *slot;
	int bkt, ret = 0;

	d->nr = 0;
	/* Memslots do not change meanwhile, and no KVM_GET_DIRTY_LOG runs. */
	mutex_lock(&kvm->slots_lock);
	if (__kvm_memslots(kvm, 0)->generation != d->generation || has_smm_slots(kvm)) {
		mutex_unlock(&kvm->slots_lock);
		return -EXDEV;		/* writes to a slot gone or new are not in any log */
	}
	kvm_for_each_memslot(slot, bkt, __kvm_memslots(kvm, 0)) {
		if (!slot_mirrored(slot) || !slot->dirty_bitmap)
			continue;
		ret = harvest_slot(kvm, slot, d);
		if (ret)
			break;
	}
	mutex_unlock(&kvm->slots_lock);
	return ret;
}
