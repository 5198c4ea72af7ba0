// SPDX-License-Identifier: GPL-2.0
/*
 * Copy after resume.  A snapshot holds the vCPUs only to take their state
 * and the dirty log, whose harvest write-protects every frame written in
 * the epoch again; the frames themselves are copied once the vCPUs run
 * again, by the sender thread, in order.  A frame that something is about
 * to write before the sender reaches it is copied first by the writer:
 *
 *  - a vCPU's page fault on it: a write to a frame the harvest protected
 *    always faults, and every fault counts (a read fault may map a frame
 *    writable);
 *  - KVM's own writes into guest memory on the vCPU's behalf (emulated
 *    writes, kvmclock, steal time, PV EOI, async PF), each through a hook
 *    of kernel/patches/0008;
 *  - a VMM's KVM_FT_MARK_DIRTY, made before it writes (vm.c).
 *
 * Only frames still pending are copied early, never every first write.
 * The steal-time frames are copied in the pause: KVM writes their
 * "preempted" byte from a vCPU's sched-out, where it cannot sleep.
 * QEMU's writes from its main loop are kept out by its device-state PUT,
 * which returns only once the copies are made (device.c, epoch.c); an
 * epoch whose device state came late is copied in the pause instead.
 *
 * A frame's copy is claimed by clearing its pending bit: whoever clears it
 * copies the frame, with the VM's mm, then sets its done bit; a writer
 * that finds it claimed waits for that bit.  So the copies are the frames
 * as they were at the snapshot's instant.  verify_memory checks it: the
 * backup's memory after each epoch is compared with the primary's at the
 * instant (consistency_test, on one and two CPUs).
 *
 * It needs TDP (EPT, NPT): with shadow paging a fault gives the guest's
 * virtual address, not the frame, and the frames are copied in the pause.
 */
#include <linux/bitmap.h>
#include <linux/kvm_host.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "cow.h"
#include "kvm_ft.h"

/* How many VMs have frames pending: the hooks' first test (kvm_ft.h). */
atomic_t kvm_ft_cow_armed = ATOMIC_INIT(0);

void kvm_ft_cow_init(struct kvm_ft_cow *c)
{
	spin_lock_init(&c->lock);
	init_waitqueue_head(&c->wq);
}

void kvm_ft_cow_free(struct kvm_ft_cow *c)
{
	bitmap_free(c->pending);
	bitmap_free(c->done);
	kvfree(c->runs);
	c->pending = NULL;
	c->done = NULL;
	c->runs = NULL;
	c->cap = 0;
	c->runs_cap = 0;
}

/* Bits for @nr frames, kept across epochs. */
static int room(struct kvm_ft_cow *c, u64 nr)
{
	if (nr <= c->cap)
		return 0;
	if (nr > UINT_MAX)		/* bitmap_alloc()'s limit: 16 TiB of frames */
		return -E2BIG;
	bitmap_free(c->pending);
	bitmap_free(c->done);
	c->cap = 0;
	c->pending = bitmap_alloc(nr, GFP_KERNEL_ACCOUNT);
	c->done = bitmap_alloc(nr, GFP_KERNEL_ACCOUNT);
	if (!c->pending || !c->done)
		return -ENOMEM;
	c->cap = nr;
	return 0;
}

/* The runs of ascending frames in c->gfns (one or more per memslot). */
static int find_runs(struct kvm_ft_cow *c)
{
	struct kvm_ft_cow_run *r = NULL;
	u32 n = 0;
	u64 i;

	for (i = 0; i < c->nr; i++)
		if (!i || c->gfns[i] <= c->gfns[i - 1])
			n++;
	if (n > c->runs_cap) {
		kvfree(c->runs);
		c->runs_cap = 0;
		c->runs = kvmalloc_array(n, sizeof(*c->runs), GFP_KERNEL_ACCOUNT);
		if (!c->runs)
			return -ENOMEM;
		c->runs_cap = n;
	}
	for (i = 0, n = 0; i < c->nr; i++) {
		if (!i || c->gfns[i] <= c->gfns[i - 1]) {
			r = &c->runs[n++];
			r->first = c->gfns[i];
			r->start = i;
			r->n = 0;
		}
		r->last = c->gfns[i];
		r->n++;
	}
	c->nr_runs = n;
	return 0;
}

int kvm_ft_cow_arm(struct kvm_ft_cow *c, struct kvm *kvm, const u64 *gfns, u64 nr,
		   void *pages)
{
	int ret = room(c, nr);

	if (ret)
		return ret;
	c->kvm = kvm;
	c->gfns = gfns;
	c->nr = nr;
	c->pages = pages;
	ret = find_runs(c);
	if (ret)
		return ret;
	bitmap_fill(c->pending, nr);
	bitmap_zero(c->done, nr);
	atomic64_set(&c->left, nr);
	atomic64_set(&c->early, 0);
	atomic_set(&c->err, 0);
	spin_lock(&c->lock);		/* a writer that sees armed sees the above */
	c->armed = true;
	spin_unlock(&c->lock);
	atomic_inc(&kvm_ft_cow_armed);
	return 0;
}

/* The index of @gfn in the snapshot, or -1: not one of its frames. */
static s64 index_of(const struct kvm_ft_cow *c, u64 gfn)
{
	const struct kvm_ft_cow_run *r;
	u64 lo, hi, mid;
	u32 k;

	for (k = 0; k < c->nr_runs; k++) {
		r = &c->runs[k];
		if (gfn < r->first || gfn > r->last)
			continue;
		lo = r->start;
		hi = r->start + r->n;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (c->gfns[mid] == gfn)
				return mid;
			if (c->gfns[mid] < gfn)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	return -1;
}

/*
 * Frame @i into its place, claimed by the caller; without the VM's mm
 * (its process is gone) it is only marked done, with an error.
 */
static void copy_one(struct kvm_ft_cow *c, u64 i)
{
	int idx, ret = -ESRCH;

	if (current->mm == c->kvm->mm) {
		idx = srcu_read_lock(&c->kvm->srcu);
		ret = kvm_read_guest_page(c->kvm, c->gfns[i], c->pages + i * PAGE_SIZE, 0,
					  PAGE_SIZE);
		srcu_read_unlock(&c->kvm->srcu, idx);
	}
	if (ret)
		atomic_cmpxchg(&c->err, 0, ret);
	smp_mb__before_atomic();	/* the copy, then its done bit */
	set_bit(i, c->done);
	if (atomic64_dec_and_test(&c->left) || wq_has_sleeper(&c->wq))
		wake_up_all(&c->wq);
}

/* Process context: may sleep until another copier is done. */
void kvm_ft_cow_claim(struct kvm_ft_cow *c, u64 gfn, bool writer)
{
	s64 i = index_of(c, gfn);

	if (i < 0 || test_bit(i, c->done))
		return;
	/* A thread without the VM's mm leaves the copy to the sender. */
	if (current->mm == c->kvm->mm && test_and_clear_bit(i, c->pending)) {
		copy_one(c, i);
		if (writer)
			atomic64_inc(&c->early);
		return;
	}
	wait_event(c->wq, test_bit(i, c->done));
}

bool kvm_ft_cow_enter(struct kvm_ft_cow *c)
{
	bool armed;

	spin_lock(&c->lock);
	armed = c->armed;
	if (armed)
		c->users++;
	spin_unlock(&c->lock);
	return armed;
}

void kvm_ft_cow_leave(struct kvm_ft_cow *c)
{
	spin_lock(&c->lock);
	if (!--c->users)
		wake_up_all(&c->wq);
	spin_unlock(&c->lock);
}

static bool unused(struct kvm_ft_cow *c)
{
	bool none;

	spin_lock(&c->lock);
	none = !c->users;
	spin_unlock(&c->lock);
	return none;
}

int kvm_ft_cow_finish(struct kvm_ft_cow *c, u64 *early)
{
	u64 i, n = 0;

	cond_resched();		/* the vCPUs just let go may run first */
	for (i = find_first_bit(c->pending, c->nr); i < c->nr;
	     i = find_next_bit(c->pending, c->nr, i + 1)) {
		if (test_and_clear_bit(i, c->pending))
			copy_one(c, i);
		if (!(++n % 1024))
			cond_resched();		/* an epoch may be all of a large VM */
	}
	wait_event(c->wq, !atomic64_read(&c->left));
	spin_lock(&c->lock);
	c->armed = false;
	spin_unlock(&c->lock);
	atomic_dec(&kvm_ft_cow_armed);
	/* A writer still inside reads c->gfns, which the next harvest rewrites. */
	wait_event(c->wq, unused(c));
	*early = atomic64_read(&c->early);
	return atomic_read(&c->err);
}
