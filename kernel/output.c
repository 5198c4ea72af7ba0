// SPDX-License-Identifier: GPL-2.0
/*
 * Output commit.  Whatever a protected VM sends to the world may leave the
 * primary host only once the backup holds the epoch that produced it: then
 * a failover can never take back something a client has seen.
 *
 * The network: a VM's packets leave its VMM by a write to a tap, and
 * enter the host's stack on that tap's receive path.  A netfilter hook at
 * the tap's ingress (NF_NETDEV_INGRESS, one per tap the VMM gave with
 * KVM_FT_OUTPUT_DEV) steals each packet while the VM is protected, tags it
 * with the epoch the guest is in, and queues it; when the backup
 * acknowledges epoch N, every packet of N and before goes on through
 * netif_receive_skb_core() in order, the hook letting it pass.  That
 * point is after AF_PACKET taps and tc ingress (tcpdump on the tap sees a
 * packet when it is held, and again when released) and before the
 * bridge's rx_handler and IP: a tap in a bridge and a routed tap are held
 * alike.  An rx_handler would take the bridge's one place; sch_plug
 * (Remus) is egress only and driven from user space.
 *
 * Which epoch: @epoch is the one the guest runs in, advanced while every
 * vCPU is held for a snapshot, before the VMM's devices are captured.  A
 * packet reaches the hook after the guest queued it, so its tag is never
 * older than the epoch that produced it: it is never released early, at
 * worst one epoch late (a packet the VMM writes during the hold).
 *
 * The queue is bounded by output_max_kb (sysfs): a packet beyond it is
 * dropped and counted, as a full NIC queue would (the guest's TCP sends
 * it again).  Unprotected (no backup, or after losing it), nothing is
 * held, and what was held is released: this primary is the VM now.  When
 * the VM dies, what it held dies with it; the backup's guest sends it
 * again from its checkpoint.
 *
 * Administrators see commits as COMMITTED events, at most ten a second per
 * VM (an event per epoch would flood them at 10 ms epochs), and as the
 * VM_LAST_EPOCH counter.
 */
#include <linux/jiffies.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/notifier.h>
#include <linux/percpu.h>
#include <linux/rtnetlink.h>
#include <net/rtnetlink.h>

#include "netlink.h"
#include "output.h"
#include "sysfs.h"
#include "vm.h"

#define EVENT_GAP	(HZ / 10)
#define BATCH		64		/* packets released with BHs off at a time */

struct out_cb {
	u64 epoch;
	u64 at_ns;			/* held since */
};
#define OUT_CB(skb)	((struct out_cb *)(skb)->cb)

/* This CPU is releasing: the hook lets its packets pass. */
static DEFINE_PER_CPU(bool, releasing);

static ATOMIC_NOTIFIER_HEAD(commit_chain);

void kvm_ft_output_init(struct kvm_ft_output *o)
{
	spin_lock_init(&o->lock);
	__skb_queue_head_init(&o->held);
}

/* Softirq, BHs off: the tap's receive path. */
static unsigned int hold(void *priv, struct sk_buff *skb, const struct nf_hook_state *state)
{
	struct kvm_ft_vm *vm = priv;
	struct kvm_ft_output *o = &vm->out;
	struct kvm_ft_stats *st = &vm->stats;
	u64 max = (u64)READ_ONCE(kvm_ft_defaults.output_max_kb) << 10;

	if (__this_cpu_read(releasing) || !READ_ONCE(o->holding))
		return NF_ACCEPT;
	spin_lock(&o->lock);
	if (!o->holding) {
		spin_unlock(&o->lock);
		return NF_ACCEPT;
	}
	if (o->bytes + skb->len > max) {
		spin_unlock(&o->lock);
		atomic64_inc(&st->out_dropped);
		return NF_DROP;
	}
	OUT_CB(skb)->epoch = o->epoch;
	OUT_CB(skb)->at_ns = ktime_get_ns();
	__skb_queue_tail(&o->held, skb);
	WRITE_ONCE(o->waiting, true);
	o->bytes += skb->len;
	atomic64_set(&st->out_depth, o->bytes);
	spin_unlock(&o->lock);
	atomic64_inc(&st->out_held);
	atomic64_add(skb->len, &st->out_held_bytes);
	return NF_STOLEN;
}

/* Off the queue, oldest first: those of @epoch and before.  BHs off. */
static void take_upto(struct kvm_ft_vm *vm, u64 epoch, struct sk_buff_head *out)
{
	struct kvm_ft_output *o = &vm->out;
	struct sk_buff *skb;

	lockdep_assert_held(&o->lock);
	while ((skb = skb_peek(&o->held)) && OUT_CB(skb)->epoch <= epoch) {
		__skb_unlink(skb, &o->held);
		o->bytes -= skb->len;
		__skb_queue_tail(out, skb);
	}
	atomic64_set(&vm->stats.out_depth, o->bytes);
}

/* @list on its way, in order, the hook letting it through.  Not in hard IRQ. */
static void reinject(struct kvm_ft_vm *vm, struct sk_buff_head *list)
{
	struct kvm_ft_stats *st = &vm->stats;
	struct sk_buff *skb;
	int n;

	while (!skb_queue_empty(list)) {
		local_bh_disable();
		__this_cpu_write(releasing, true);
		for (n = 0; n < BATCH && (skb = __skb_dequeue(list)); n++) {
			u64 us = (ktime_get_ns() - OUT_CB(skb)->at_ns) / NSEC_PER_USEC;

			atomic64_inc(&st->out_hold_hist[kvm_ft_hist_bucket(us)]);
			atomic64_inc(&st->out_released);
			atomic64_add(skb->len, &st->out_released_bytes);
			memset(skb->cb, 0, sizeof(struct out_cb));
			netif_receive_skb_core(skb);
		}
		__this_cpu_write(releasing, false);
		local_bh_enable();
	}
}

static void release_upto(struct kvm_ft_vm *vm, u64 epoch)
{
	struct sk_buff_head list;

	__skb_queue_head_init(&list);
	spin_lock_bh(&vm->out.lock);
	take_upto(vm, epoch, &list);
	spin_unlock_bh(&vm->out.lock);
	reinject(vm, &list);
}

void kvm_ft_output_protect(struct kvm_ft_vm *vm)
{
	spin_lock_bh(&vm->out.lock);
	vm->out.epoch = 2;
	vm->out.armed = true;
	spin_unlock_bh(&vm->out.lock);
}

/*
 * The first snapshot after the sync is the first checkpoint: holding
 * begins at its instant, not at the sync's start.  Until the backup holds
 * that checkpoint it cannot take over, so what the guest sent before it
 * can never be taken back: a primary that dies during the sync dies with
 * its VM, as without a backup.  Held from the sync's start, a client saw
 * the guest stall for the whole sync (seconds).
 */
void kvm_ft_output_next(struct kvm_ft_vm *vm)
{
	spin_lock_bh(&vm->out.lock);
	vm->out.epoch++;
	WRITE_ONCE(vm->out.waiting, false);
	if (vm->out.armed) {
		vm->out.armed = false;
		WRITE_ONCE(vm->out.holding, true);
	}
	spin_unlock_bh(&vm->out.lock);
}

bool kvm_ft_output_waiting(struct kvm_ft_vm *vm)
{
	return READ_ONCE(vm->out.waiting);
}

void kvm_ft_output_unprotect(struct kvm_ft_vm *vm)
{
	spin_lock_bh(&vm->out.lock);
	vm->out.armed = false;
	WRITE_ONCE(vm->out.holding, false);
	spin_unlock_bh(&vm->out.lock);
	release_upto(vm, U64_MAX);
}

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
	release_upto(vm, epoch);
	atomic_notifier_call_chain(&commit_chain, epoch, vm);
	if (time_before(jiffies, vm->commit_event_at))
		return;
	vm->commit_event_at = jiffies + EVENT_GAP;
	kvm_ft_netlink_event(vm, KVM_FT_EV_COMMITTED, epoch);
}

/* Drop what @dev's VM holds of @dev (or of every tap: NULL).  BHs on. */
static void drop_held(struct kvm_ft_vm *vm, struct net_device *dev)
{
	struct kvm_ft_output *o = &vm->out;
	struct sk_buff *skb, *tmp;
	struct sk_buff_head list;

	__skb_queue_head_init(&list);
	spin_lock_bh(&o->lock);
	skb_queue_walk_safe(&o->held, skb, tmp) {
		if (dev && skb->dev != dev)
			continue;
		__skb_unlink(skb, &o->held);
		o->bytes -= skb->len;
		__skb_queue_tail(&list, skb);
	}
	atomic64_set(&vm->stats.out_depth, o->bytes);
	spin_unlock_bh(&o->lock);
	__skb_queue_purge(&list);
}

void kvm_ft_output_drop(struct kvm_ft_vm *vm)
{
	spin_lock_bh(&vm->out.lock);
	vm->out.armed = false;
	WRITE_ONCE(vm->out.holding, false);
	spin_unlock_bh(&vm->out.lock);
	drop_held(vm, NULL);
}

/* The hook off @d's tap and the tap let go.  RTNL. */
static void dev_release(struct kvm_ft_vm *vm, struct kvm_ft_output_tap *d)
{
	ASSERT_RTNL();
	WRITE_ONCE(d->ifindex, 0);
	nf_unregister_net_hook(dev_net(d->dev), &d->ops);
	drop_held(vm, d->dev);
	netdev_put(d->dev, &d->tracker);
	d->dev = NULL;
}

int kvm_ft_output_add_dev(struct kvm_ft_vm *vm, void __user *argp)
{
	struct kvm_ft_output_dev a;
	struct kvm_ft_output_tap *d = NULL;
	struct net_device *dev;
	int i, ret;

	lockdep_assert_held(&vm->lock);
	if (copy_from_user(&a, argp, sizeof(a)))
		return -EFAULT;
	if (a.reserved || a.ifindex <= 0)
		return -EINVAL;
	rtnl_lock();
	dev = __dev_get_by_index(current->nsproxy->net_ns, a.ifindex);
	ret = -ENODEV;
	if (!dev)
		goto out;
	/*
	 * Only a tun/tap: a VMM must not hold (and delay, or drop at the
	 * bound) what arrives on the host's own NICs, its replication
	 * link's acknowledgements among them.
	 */
	ret = -EINVAL;
	if (!dev->rtnl_link_ops || strcmp(dev->rtnl_link_ops->kind, "tun"))
		goto out;
	ret = -EEXIST;
	for (i = 0; i < KVM_FT_OUTPUT_DEVS; i++) {
		if (vm->out.devs[i].dev == dev)
			goto out;
		if (!vm->out.devs[i].dev && !d)
			d = &vm->out.devs[i];
	}
	ret = -ENOSPC;
	if (!d)
		goto out;
	d->ops = (struct nf_hook_ops) {
		.hook = hold,
		.priv = vm,
		.pf = NFPROTO_NETDEV,
		.hooknum = NF_NETDEV_INGRESS,
		.priority = INT_MIN + 1,	/* before any other's verdict */
		.dev = dev,
	};
	ret = nf_register_net_hook(dev_net(dev), &d->ops);
	if (ret)
		goto out;
	netdev_hold(dev, &d->tracker, GFP_KERNEL);
	d->dev = dev;
	WRITE_ONCE(d->ifindex, dev->ifindex);
	pr_info("%s: holds its output on %s until committed\n", vm->name, dev->name);
out:
	rtnl_unlock();
	return ret;
}

void kvm_ft_output_free(struct kvm_ft_vm *vm)
{
	int i;

	lockdep_assert_held(&vm->lock);
	rtnl_lock();
	for (i = 0; i < KVM_FT_OUTPUT_DEVS; i++)
		if (vm->out.devs[i].dev)
			dev_release(vm, &vm->out.devs[i]);
	rtnl_unlock();
	kvm_ft_output_drop(vm);
}

/* A VM that holds @dev, with a reference, and the slot; NULL if none.  RTNL. */
static struct kvm_ft_vm *find_holder(struct net_device *dev, struct kvm_ft_output_tap **d)
{
	struct kvm_ft_vm *vm;
	int i;

	ASSERT_RTNL();
	rcu_read_lock();
	list_for_each_entry_rcu(vm, &kvm_ft_vms, node)
		for (i = 0; i < KVM_FT_OUTPUT_DEVS; i++)
			if (vm->out.devs[i].dev == dev && kvm_ft_vm_tryget(vm)) {
				rcu_read_unlock();
				*d = &vm->out.devs[i];
				return vm;
			}
	rcu_read_unlock();
	return NULL;
}

/*
 * A tap being deleted (its VMM closed it, or an administrator): let go of
 * it, as unregister_netdevice() waits for every reference.  RTNL held,
 * which is taken under vm->lock and kvm_ft_vms_lock (a dump): neither is
 * taken here.  A VM unregistered meanwhile lets go of its taps itself.
 */
static int dev_event(struct notifier_block *nb, unsigned long event, void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	struct kvm_ft_output_tap *d;
	struct kvm_ft_vm *vm;

	if (event != NETDEV_UNREGISTER)
		return NOTIFY_DONE;
	while ((vm = find_holder(dev, &d))) {
		pr_info("%s: %s deleted: its output is no longer held\n", vm->name, dev->name);
		dev_release(vm, d);
		kvm_ft_vm_put(vm);
	}
	return NOTIFY_DONE;
}

static struct notifier_block dev_notifier = {
	.notifier_call = dev_event,
};

int kvm_ft_output_module_init(void)
{
	return register_netdevice_notifier(&dev_notifier);
}

void kvm_ft_output_module_exit(void)
{
	unregister_netdevice_notifier(&dev_notifier);
}
