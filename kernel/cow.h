/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM_FT_COW_H
#define KVM_FT_COW_H

#include <linux/atomic.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>

struct kvm;

/* Snapshot indexes [start, start + n) hold ascending frames first..last. */
struct kvm_ft_cow_run {
	u64 first, last;
	u64 start, n;
};

/*
 * The frames of one snapshot still to be copied after its vCPUs run again
 * (cow.c).  The sender thread arms it and finishes it; writers enter it
 * from any thread while it is armed.
 */
struct kvm_ft_cow {
	spinlock_t lock;		/* armed, users */
	bool armed;
	u32 users;			/* writers inside kvm_ft_cow_page() */
	wait_queue_head_t wq;		/* users gone, done bits, left */

	/* Set by kvm_ft_cow_arm(), read-only while armed. */
	struct kvm *kvm;
	const u64 *gfns;
	void *pages;
	u64 nr;
	struct kvm_ft_cow_run *runs;
	u32 nr_runs, runs_cap;

	unsigned long *pending;		/* nr bits: not claimed by a copier yet */
	unsigned long *done;		/* nr bits: copied */
	u64 cap;			/* bits allocated */
	atomic64_t left;		/* frames not yet done */
	atomic64_t early;		/* frames a writer copied */
	atomic_t err;			/* a copy's first error */
};

void kvm_ft_cow_init(struct kvm_ft_cow *c);
void kvm_ft_cow_free(struct kvm_ft_cow *c);
/*
 * Every vCPU held: the @nr frames @gfns (ascending within each memslot, as
 * harvested) are to be copied into @pages, frame i at i * PAGE_SIZE, from
 * now on by whoever comes first.  -ENOMEM: copy them now instead.
 */
int kvm_ft_cow_arm(struct kvm_ft_cow *c, struct kvm *kvm, const u64 *gfns, u64 nr,
		   void *pages);
/*
 * Copy frame @gfn of the armed snapshot now, if it is one still pending;
 * a @writer's copy counts as early.
 */
void kvm_ft_cow_claim(struct kvm_ft_cow *c, u64 gfn, bool writer);
/* Is @c armed?  If so the caller is counted in until kvm_ft_cow_leave(). */
bool kvm_ft_cow_enter(struct kvm_ft_cow *c);
void kvm_ft_cow_leave(struct kvm_ft_cow *c);
/*
 * From the sender thread, with the VM's mm: copy what no writer took, wait
 * for the copies writers make, disarm.  The first copy's error, and how
 * many frames writers copied, into *@early.
 */
int kvm_ft_cow_finish(struct kvm_ft_cow *c, u64 *early);

#endif /* KVM_FT_COW_H */
