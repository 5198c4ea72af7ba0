/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM_FT_NETLINK_H
#define KVM_FT_NETLINK_H

#include <linux/types.h>

struct kvm_ft_vm;

int kvm_ft_netlink_init(void);
void kvm_ft_netlink_exit(void);
/*
 * Tell the events group that @event (enum kvm_ft_event) befell @vm; @arg is
 * the reason of PEER_LOST, the epoch of FAILOVER.
 */
void kvm_ft_netlink_event(struct kvm_ft_vm *vm, u32 event, u64 arg);

#endif /* KVM_FT_NETLINK_H */
