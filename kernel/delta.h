/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM_FT_DELTA_H
#define KVM_FT_DELTA_H

#include <linux/types.h>
#include <linux/xarray.h>
#include <linux/kvm_ft.h>

/*
 * A primary's copies of the pages it last sent (delta.c); the sender
 * thread's alone, so no lock.
 */
struct kvm_ft_delta {
	struct xarray copies;	/* gfn -> struct page *, its CRC-32C as page_private */
	u64 nr, max;		/* copies kept, and the most */
	u8 *frame;		/* a DELTA frame being built: KVM_FT_DELTA_FRAME bytes */
};

#define KVM_FT_DELTA_FRAME	(sizeof(struct kvm_ft_wire_hdr) + sizeof(struct kvm_ft_wire_pages) + \
				 KVM_FT_WIRE_MAX_PAGES * \
				 (sizeof(struct kvm_ft_wire_delta) + KVM_FT_WIRE_DELTA_MAX))

/* At most @max_mb MiB of copies; NULL if out of memory. */
struct kvm_ft_delta *kvm_ft_delta_create(unsigned int max_mb);
void kvm_ft_delta_destroy(struct kvm_ft_delta *d);
/*
 * @page is about to be sent for @gfn: its DELTA entry (header and runs)
 * against the copy kept into @out, room for sizeof(struct
 * kvm_ft_wire_delta) + KVM_FT_WIRE_DELTA_MAX bytes, and the entry's
 * length; 0: send it whole (no copy, or it differs too much).  Either
 * way the copy is @page from now on, kept if there is room.
 */
u32 kvm_ft_delta_make(struct kvm_ft_delta *d, u64 gfn, const void *page, void *out);
/* @gfn goes as zeros (a ZERO frame): no copy of it is worth keeping. */
void kvm_ft_delta_forget(struct kvm_ft_delta *d, u64 gfn);

#endif /* KVM_FT_DELTA_H */
