// SPDX-License-Identifier: GPL-2.0
/*
 * Output commit.  Whatever a protected VM sends to the world (network
 * packets, above all) may leave the primary host only once the backup holds
 * the epoch that produced it: then a failover can never take back something
 * a client has seen.  The parts that hold such output back (the network
 * path, built apart from the engine) subscribe to this notifier chain and
 * release up to epoch N when told N.
 *
 * Administrators see commits as COMMITTED events, at most ten a second per
 * VM (an event per epoch would flood them at 10 ms epochs), and as the
 * VM_LAST_EPOCH counter.
 */
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/notifier.h>

#include "netlink.h"
#include "output.h"
#include "vm.h"

#define EVENT_GAP	(HZ / 10)

static ATOMIC_NOTIFIER_HEAD(commit_chain);

int kvm_ft_commit_register(struct notifier_block *nb)
{
	return atomic_notifier_chain_register(&commit_chain, nb);
}
EXPORT_SYMBOL_GPL(kvm_ft_commit_register);

int kvm_ft_commit_unregister(struct notifier_block *nb)
{
	return atomic_notifier_chain_unregister(&commit_chain, nb);
}
EXPORT_SYMBOL_GPL(kvm_ft_commit_unregister);

void kvm_ft_output_commit(struct kvm_ft_vm *vm, u64 epoch)
{
	atomic_notifier_call_chain(&commit_chain, epoch, vm);
	if (time_before(jiffies, vm->commit_event_at))
		return;
	vm->commit_event_at = jiffies + EVENT_GAP;
	kvm_ft_netlink_event(vm, KVM_FT_EV_COMMITTED, epoch);
}
