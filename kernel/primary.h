/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM_FT_PRIMARY_H
#define KVM_FT_PRIMARY_H

#include <linux/types.h>

struct kvm_ft_vm;
union kvm_ft_addr;

/*
 * Start and stop are a netlink handler's (or VM destruction's), under
 * vm->lock; the primary's threads never take it.
 * Connect to the backup at @addr from a kthread, and keep the link.
 */
int kvm_ft_primary_start(struct kvm_ft_vm *vm, const union kvm_ft_addr *addr);
/*
 * Stop sending; @crash: the VM died with its VMM, so reset the link rather
 * than close it, and the backup takes over.
 */
void kvm_ft_primary_stop(struct kvm_ft_vm *vm, bool crash);
/* Why the engine cannot protect @vm, for the administrator; NULL if it can. */
const char *kvm_ft_primary_unfit(struct kvm_ft_vm *vm);

#endif /* KVM_FT_PRIMARY_H */
