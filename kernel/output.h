/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM_FT_OUTPUT_H
#define KVM_FT_OUTPUT_H

#include <linux/notifier.h>
#include <linux/types.h>

struct kvm_ft_vm;

/*
 * Told of every committed epoch: action is the epoch number (unsigned
 * long, 64 bits on x86-64), data the struct kvm_ft_vm.  Each new link
 * numbers its epochs from 1, the sync, which is never told (it is no
 * checkpoint), so the first one told is 2.  Called from the link thread;
 * a callback must not sleep.
 */
int kvm_ft_commit_register(struct notifier_block *nb);
int kvm_ft_commit_unregister(struct notifier_block *nb);

/* The backup holds @epoch of @vm: release what it produced. */
void kvm_ft_output_commit(struct kvm_ft_vm *vm, u64 epoch);

#endif /* KVM_FT_OUTPUT_H */
