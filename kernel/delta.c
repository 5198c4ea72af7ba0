// SPDX-License-Identifier: GPL-2.0
/*
 * Deltas: a page sent again goes as the bytes that changed since the copy
 * the backup holds (a DELTA frame, Documentation/wire-protocol.rst), when
 * that is at most KVM_FT_WIRE_DELTA_MAX bytes.  Guests write a few words
 * of a page far more often than all of it; a page written whole (or
 * random) goes whole, at the cost of one compare that stops early.
 *
 * The primary keeps a copy of each page it sent after the sync, up to
 * delta_max_mb (sysfs, read when the link starts), first come first kept:
 * a copy is replaced at every send of its page and never evicted, so it
 * is always what the backup holds once the epochs in flight are applied.
 * The backup applies a delta to its own copy only if that copy has the
 * CRC-32C the delta was made against, and checks the result's, so a copy
 * that went wrong on either side refuses the epoch rather than corrupt
 * the backup's memory.  The copies are freed when the link ends: a new
 * link begins with a sync, whole.
 *
 * All of it runs in the sender thread (kvm_ft_ep/NAME), whose memory is
 * charged to the VM's cgroup.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/kvm_ft.h>

#include "delta.h"
#include "wire.h"

struct kvm_ft_delta *kvm_ft_delta_create(unsigned int max_mb)
{
	struct kvm_ft_delta *d = kzalloc(sizeof(*d), GFP_KERNEL_ACCOUNT);

	if (!d)
		return NULL;
	d->frame = kvmalloc(KVM_FT_DELTA_FRAME, GFP_KERNEL_ACCOUNT);
	if (!d->frame) {
		kfree(d);
		return NULL;
	}
	xa_init(&d->copies);
	d->max = (u64)max_mb << (20 - PAGE_SHIFT);
	return d;
}

void kvm_ft_delta_destroy(struct kvm_ft_delta *d)
{
	struct page *copy;
	unsigned long gfn;
	u64 n = 0;

	if (!d)
		return;
	xa_for_each(&d->copies, gfn, copy) {
		set_page_private(copy, 0);
		__free_page(copy);
		if (!(++n % 4096))
			cond_resched();		/* up to delta_max_mb of them */
	}
	xa_destroy(&d->copies);
	kvfree(d->frame);
	kfree(d);
}

/* A new copy for @gfn, if there is room; NULL if not. */
static struct page *keep(struct kvm_ft_delta *d, u64 gfn)
{
	struct page *copy;

	if (d->nr >= d->max)
		return NULL;
	copy = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!copy)
		return NULL;
	if (xa_err(xa_store(&d->copies, gfn, copy, GFP_KERNEL_ACCOUNT | __GFP_NOWARN))) {
		__free_page(copy);
		return NULL;
	}
	d->nr++;
	return copy;
}

u32 kvm_ft_delta_make(struct kvm_ft_delta *d, u64 gfn, const void *page, void *out)
{
	struct page *copy = xa_load(&d->copies, gfn);
	u32 crc, len = 0;
	const u8 *runs;

	if (copy) {
		len = kvm_ft_wire_delta_runs(page_address(copy), page,
					     (u8 *)out + sizeof(struct kvm_ft_wire_delta));
	} else {
		copy = keep(d, gfn);
		if (!copy)
			return 0;
		len = KVM_FT_WIRE_DELTA_MAX + 1;	/* nothing to make a delta against */
	}
	if (len <= KVM_FT_WIRE_DELTA_MAX) {
		/*
		 * The copy becomes @page by its runs, and its checksum follows
		 * from theirs: a few bytes, not a page, each.  The backup checks
		 * both against its own copy, whole.
		 */
		runs = (u8 *)out + sizeof(struct kvm_ft_wire_delta);
		crc = kvm_ft_wire_runs_crc(page_private(copy), page_address(copy), runs, len);
		kvm_ft_wire_put_runs(page_address(copy), runs, len);
		len = kvm_ft_wire_put_delta(out, gfn, page_private(copy), crc, len);
	} else {
		crc = kvm_ft_wire_page_crc(page);
		copy_page(page_address(copy), (void *)page);
		len = 0;
	}
	set_page_private(copy, crc);
	return len;
}

void kvm_ft_delta_forget(struct kvm_ft_delta *d, u64 gfn)
{
	struct page *copy = xa_erase(&d->copies, gfn);

	if (copy) {
		set_page_private(copy, 0);
		__free_page(copy);
		d->nr--;
	}
}
