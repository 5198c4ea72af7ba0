/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM_FT_DIRTY_H
#define KVM_FT_DIRTY_H

#include <linux/types.h>

struct kvm;

/* Guest frames written since the last harvest; room for every frame. */
struct kvm_ft_dirty {
	u64 *gfns;
	u64 nr, cap;
	u64 generation;		/* of the memslots when sized: the layout paired */
};

/* Can the engine track @kvm's writes?  If not, why, for the administrator. */
const char *kvm_ft_dirty_unfit(struct kvm *kvm);
/* Room for every frame of @kvm's memory as it is now. */
int kvm_ft_dirty_init(struct kvm_ft_dirty *d, struct kvm *kvm);
void kvm_ft_dirty_free(struct kvm_ft_dirty *d);
/*
 * Collect (into @d, replacing it) and re-arm every frame written since the
 * last call.  -EXDEV: the memslots changed since kvm_ft_dirty_init().
 */
int kvm_ft_dirty_harvest(struct kvm *kvm, struct kvm_ft_dirty *d);
/*
 * The VMM wrote [gpa, gpa + size) itself (KVM's log sees only the guest's
 * writes): log it for the next harvest.  -EINVAL: not all in dirty-logged
 * memslots the backup mirrors.
 */
int kvm_ft_dirty_mark(struct kvm *kvm, u64 gpa, u64 size);
/* Every frame the backup mirrors, into @d (for the sync). */
int kvm_ft_dirty_all(struct kvm *kvm, struct kvm_ft_dirty *d);

#endif /* KVM_FT_DIRTY_H */
