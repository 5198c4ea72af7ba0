/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM_FT_OUTPUT_H
#define KVM_FT_OUTPUT_H

#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/notifier.h>
#include <linux/skbuff.h>
#include <linux/spinlock.h>
#include <linux/types.h>

struct kvm_ft_vm;

/* The taps a VM's VMM gave (KVM_FT_OUTPUT_DEV): at most this many. */
#define KVM_FT_OUTPUT_DEVS	8

/* Under RTNL, but @ifindex: read without a lock, for reports. */
struct kvm_ft_output_tap {
	struct net_device *dev;		/* NULL: a free slot */
	int ifindex;			/* @dev's, 0 for none */
	netdevice_tracker tracker;
	struct nf_hook_ops ops;		/* netdev ingress, on @dev */
};

/*
 * A VM's network output held until its epoch is committed: the packets
 * its VMM writes to its taps, which reach the host's stack on the taps'
 * receive path (see output.c).
 */
struct kvm_ft_output {
	spinlock_t lock;		/* @held, @bytes, @epoch, @armed, @holding */
	struct sk_buff_head held;	/* oldest first */
	u64 bytes;			/* of @held */
	u64 epoch;			/* what the guest sends now is this epoch's */
	bool armed;			/* paired: hold from the next snapshot on */
	bool holding;			/* protected: hold; else let pass */
	bool waiting;			/* held: some of this epoch's (@epoch) */
	struct kvm_ft_output_tap devs[KVM_FT_OUTPUT_DEVS];
};

void kvm_ft_output_init(struct kvm_ft_output *o);
/* The VM unregistered: its taps let go, what it held dropped.  vm->lock. */
void kvm_ft_output_free(struct kvm_ft_vm *vm);
/* KVM_FT_OUTPUT_DEV: hold what the VM sends on this tap.  vm->lock. */
int kvm_ft_output_add_dev(struct kvm_ft_vm *vm, void __user *argp);

/*
 * The primary pairs: the guest is in epoch 2 (1 is the sync, no
 * checkpoint), and its output is held from the first snapshot on
 * (kvm_ft_output_next()).  Sender thread.
 */
void kvm_ft_output_protect(struct kvm_ft_vm *vm);
/* Every vCPU held for a snapshot: what comes now is the next epoch's. */
void kvm_ft_output_next(struct kvm_ft_vm *vm);
/* Does output the guest sent in the open epoch wait for it?  Any context. */
bool kvm_ft_output_waiting(struct kvm_ft_vm *vm);
/*
 * The pair ended (backup lost, stopped): nothing more is held, and what
 * was is released, this primary being the VM now.  Any context but hard
 * IRQ.
 */
void kvm_ft_output_unprotect(struct kvm_ft_vm *vm);
/* The VM died: nothing more held, and what was dropped.  Sleeps not. */
void kvm_ft_output_drop(struct kvm_ft_vm *vm);

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

/* The netdevice notifier that lets go of taps being deleted. */
int kvm_ft_output_module_init(void);
void kvm_ft_output_module_exit(void);

#endif /* KVM_FT_OUTPUT_H */
