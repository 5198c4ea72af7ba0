/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM_FT_BACKUP_H
#define KVM_FT_BACKUP_H

#include <linux/types.h>

struct kvm_ft_vm;
union kvm_ft_addr;

/*
 * The calls below are a netlink handler's (or VM destruction's), under
 * vm->lock; the backup's own thread never takes it.
 * Listen for the primary on @addr and take its epochs, from a kthread.
 */
int kvm_ft_backup_start(struct kvm_ft_vm *vm, const union kvm_ft_addr *addr);
/* Stop listening and receiving; what was applied stays applied. */
void kvm_ft_backup_stop(struct kvm_ft_vm *vm);
/*
 * Take over now from the last checkpoint (see backup.c): -EAGAIN if there
 * is none, -EALREADY if the VM took over already.
 */
int kvm_ft_backup_failover(struct kvm_ft_vm *vm);

#endif /* KVM_FT_BACKUP_H */
