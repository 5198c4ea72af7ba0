// SPDX-License-Identifier: GPL-2.0
/*
 * The epoch engine of a primary VM: at every period (an hrtimer), hold all
 * its vCPUs, take the frames written since the last epoch (dirty.c), copy
 * them and every vCPU's registers, and let the vCPUs go.  What was taken
 * is one consistent picture of the VM; the link sends it while the VM
 * runs on.
 *
 * Holding a vCPU: the engine raises KVM_REQ_FT_PARK and kicks it (with
 * KVM_REQ_UNBLOCK, which wakes one halted in kvm_vcpu_block()).  A vCPU in
 * KVM_RUN then reaches kvm_ft_vcpu_park() from the top of vcpu_run()'s
 * loop (kernel/patches/0004), between two instructions, loaded nowhere and
 * its FPU state saved to memory, and sleeps until released.  A vCPU not in
 * KVM_RUN cannot reach that hook, but it does not run either: the engine
 * takes its vcpu->mutex, as any vCPU ioctl would, so that it cannot enter
 * KVM_RUN until released.  Unless it left KVM_RUN for its VMM to emulate
 * an I/O access: that instruction is complete only once the vCPU is back
 * in KVM_RUN (complete_userspace_io), and state taken before would replay
 * it after a failover.  Such a vCPU is left to come back and park at the
 * hook, which runs after the completion, for up to an epoch; a VMM that
 * leaves it longer (QEMU never does: it completes I/O with immediate_exit
 * before it stops a vCPU) gets it held mid-I/O, and the kernel log says so.
 *
 * Only once every vCPU is held does the engine take anything: the VMM's
 * device state (device.c), then every vCPU's state, then the dirty
 * memory.  A vCPU that saved its own state as it parked would do so while
 * the others still ran and could still send it an IPI.  So a parked vCPU
 * saves its state only when told that all are held ("taking"), in its own
 * thread (its VMM's mm, kvm->srcu), as a KVM_GET_* ioctl of its own would;
 * the engine's thread takes the state of the idle vCPUs it locked, as a
 * VMM thread holding their mutex would.  Loading a vCPU in another thread
 * moves it to that thread's CPU and, on a host whose TSCs are not in step,
 * rewrites its TSC offset there; done every epoch, as it was, it came
 * with a guest that triple-faulted once on two CPUs (not proven the cause).
 *
 * kvm_ft_vcpu_park() finds the engine of its VM in an xarray under RCU
 * (struct kvm cannot point to it); in_park, under the engine's lock, lets
 * the engine go away only once no vCPU thread is inside (a wake-up after
 * an unlocked decrement could touch a freed engine).
 */
#include <linux/kvm_host.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/xarray.h>

#include "../mmu.h"		/* tdp_enabled */
#include "epoch.h"
#include "kvm_ft.h"
#include "resume.h"
#include "sysfs.h"
#include "vcpu.h"
#include "vm.h"

static DEFINE_XARRAY(engines);		/* struct kvm * -> struct kvm_ft_epoch * */

/*
 * The tick's period: the VM's epoch length, or epoch_min_us when epochs
 * may end early (the sender then decides at each tick whether one is
 * due: primary.c).
 */
static ktime_t period(struct kvm_ft_epoch *e)
{
	u32 us = READ_ONCE(*e->epoch_us), min = READ_ONCE(kvm_ft_defaults.epoch_min_us);

	return ns_to_ktime((u64)(min && min < us ? min : us) * NSEC_PER_USEC);
}

static enum hrtimer_restart tick(struct hrtimer *t)
{
	struct kvm_ft_epoch *e = container_of(t, struct kvm_ft_epoch, timer);

	WRITE_ONCE(e->tick, true);
	wake_up(e->tick_wq);
	hrtimer_forward_now(t, period(e));
	return HRTIMER_RESTART;
}

/* A parked vCPU's own state, in its thread, every vCPU held (see the top). */
static void save_own(struct kvm_ft_epoch *e, struct kvm_vcpu *vcpu)
{
	int idx, ret;

	idx = srcu_read_lock(&vcpu->kvm->srcu);
	ret = kvm_ft_vcpu_save(vcpu, &e->vcpus[vcpu->vcpu_idx]);
	srcu_read_unlock(&vcpu->kvm->srcu, idx);
	spin_lock(&e->lock);
	if (ret && !e->save_err)
		e->save_err = ret;
	e->nr_saved++;
	spin_unlock(&e->lock);
	wake_up(&e->wq);
}

/*
 * From the vCPU's thread, as kvm_ft_vcpu_hold() leaves it (loaded nowhere,
 * its FPU state in memory): count it held, save its state when every vCPU
 * is, and sleep until released.  Killed, it leaves unless the states are
 * being taken.
 */
static int park(struct kvm_ft_epoch *e, struct kvm_vcpu *vcpu)
{
	unsigned int i = vcpu->vcpu_idx;
	bool parking, take, killed;
	unsigned long gen;

	spin_lock(&e->lock);
	gen = e->gen;
	parking = e->parking && i < e->nr_vcpus;
	if (parking) {
		__set_bit(i, e->parked);
		e->nr_parked++;
	}
	spin_unlock(&e->lock);
	if (!parking)
		return 1;		/* a request left from an epoch gone by */
	wake_up(&e->wq);
	killed = wait_event_killable(e->release, READ_ONCE(e->gen) != gen ||
				     READ_ONCE(e->taking));

	spin_lock(&e->lock);
	take = e->gen == gen && e->taking;
	if (killed && e->gen == gen && !take) {
		__clear_bit(i, e->parked);
		e->nr_parked--;
	}
	spin_unlock(&e->lock);
	if (take)
		save_own(e, vcpu);
	if (take || !killed)
		wait_event(e->release, READ_ONCE(e->gen) != gen);
	if (!killed)
		return 1;
	vcpu->run->exit_reason = KVM_EXIT_INTR;
	++vcpu->stat.signal_exits;
	return -EINTR;
}

/* Let kvm_ft_epoch_destroy() free @e: the last access a vCPU thread makes. */
static void park_done(struct kvm_ft_epoch *e)
{
	spin_lock(&e->lock);
	if (!--e->in_park)
		wake_up(&e->wq);
	spin_unlock(&e->lock);
}

static bool no_park(struct kvm_ft_epoch *e)
{
	bool none;

	spin_lock(&e->lock);
	none = !e->in_park;
	spin_unlock(&e->lock);
	return none;
}

/* An AP not yet started: KVM_RUN only blocks until its INIT/SIPI come. */
static bool waits_for_sipi(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.mp_state == KVM_MP_STATE_UNINITIALIZED &&
	       !vcpu->arch.complete_userspace_io;
}

int kvm_ft_vcpu_park(struct kvm_vcpu *vcpu, bool entry)
{
	struct kvm_ft_epoch *e;
	int ret;

	rcu_read_lock();
	e = xa_load(&engines, (unsigned long)vcpu->kvm);
	if (e) {
		spin_lock(&e->lock);
		e->in_park++;
		spin_unlock(&e->lock);
	}
	rcu_read_unlock();
	if (!e)
		return kvm_ft_resume_vcpu(vcpu);	/* a backup's vCPU, or none */
	ret = 1;
	/*
	 * At KVM_RUN's start an I/O access of its VMM may still be owed: the
	 * request stays for the loop's hook, after the access is complete.
	 * Except for an AP that waits for its SIPI: it never reaches the loop,
	 * blocks in KVM_RUN holding its vcpu->mutex, and owes nothing.
	 */
	if (!entry || waits_for_sipi(vcpu)) {
		kvm_clear_request(KVM_REQ_FT_PARK, vcpu);
		ret = park(e, vcpu);
	}
	park_done(e);
	return ret;
}

/*
 * A frame of @kvm is about to be written (kvm_ft_cow(), the hooks of patch
 * 0008, and KVM_FT_MARK_DIRTY): if the snapshot just taken still has it
 * to copy, copy it first.  The engine is found as kvm_ft_vcpu_park()
 * finds it; while its copies are armed the sender thread, which alone
 * destroys it, waits for every writer inside (kvm_ft_cow_finish()).
 * Process context; sleeps.
 */
void kvm_ft_cow_slow(struct kvm *kvm, gfn_t gfn)
{
	struct kvm_ft_epoch *e;
	bool armed = false;

	rcu_read_lock();
	e = xa_load(&engines, (unsigned long)kvm);
	if (e)
		armed = kvm_ft_cow_enter(&e->cow);
	rcu_read_unlock();
	if (!armed)
		return;
	kvm_ft_cow_claim(&e->cow, gfn, true);
	kvm_ft_cow_leave(&e->cow);
}

bool kvm_ft_dirty_log_owned(struct kvm *kvm)
{
	lockdep_assert_held(&kvm->slots_lock);
	/* Stored before the first harvest, which takes slots_lock too. */
	return xa_load(&engines, (unsigned long)kvm);
}

/*
 * Has @vcpu's VMM an I/O of it to finish?  Either KVM waits to complete
 * the instruction (complete_userspace_io), or the vCPU's last exit was an
 * OUT that KVM emulated in full (RIP advanced, nothing to complete) and
 * the VMM may not have done it to its device yet.  Not an IN or an MMIO
 * access: KVM completes those only through complete_userspace_io, so
 * with none pending they are done, even though exit_reason still says so
 * (a VMM that completes with immediate_exit leaves it as it was).  Its
 * vcpu->mutex is held.
 */
static bool owes_io(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	return vcpu->arch.complete_userspace_io ||
	       (READ_ONCE(run->exit_reason) == KVM_EXIT_IO &&
		READ_ONCE(run->io.direction) == KVM_EXIT_IO_OUT);
}

/* May @vcpu, idle and locked, be held?  Not while its VMM owes it an I/O. */
static bool idle_holdable(struct kvm_vcpu *vcpu, bool mid_io_ok)
{
	if (!owes_io(vcpu))
		return true;
	if (mid_io_ok)
		pr_warn_ratelimited("%s: vCPU %d held mid-I/O: a failover would repeat or lose it\n",
				    current->comm, vcpu->vcpu_id);
	return mid_io_ok;
}

/*
 * Is every vCPU held, parked or locked?  Lock the idle ones meanwhile.
 * From the sender thread, as is everything below up to the snapshot.
 */
static bool all_held(struct kvm_ft_epoch *e, bool mid_io_ok)
{
	struct kvm_vcpu *vcpu;
	unsigned long i;
	bool all = true, parked;

	kvm_for_each_vcpu(i, vcpu, e->kvm) {
		if (i >= e->nr_vcpus)
			break;
		spin_lock(&e->lock);
		parked = test_bit(i, e->parked);
		spin_unlock(&e->lock);
		if (parked || test_bit(i, e->locked))
			continue;
		if (!mutex_trylock(&vcpu->mutex)) {
			all = false;
		} else if (!idle_holdable(vcpu, mid_io_ok)) {
			mutex_unlock(&vcpu->mutex);	/* it comes back to park */
			all = false;
		} else {
			__set_bit(i, e->locked);
		}
	}
	return all;
}

/*
 * Let every held vCPU go: wake the parked, unlock the locked.  From the
 * sender thread after a snapshot, or the engine's destruction.
 */
static void release_all(struct kvm_ft_epoch *e)
{
	unsigned long i;

	spin_lock(&e->lock);
	e->parking = false;
	e->taking = false;
	e->gen++;
	bitmap_zero(e->parked, e->nr_vcpus);
	e->nr_parked = 0;
	spin_unlock(&e->lock);
	wake_up_all(&e->release);
	for_each_set_bit(i, e->locked, e->nr_vcpus)
		mutex_unlock(&kvm_get_vcpu(e->kvm, i)->mutex);
	bitmap_zero(e->locked, e->nr_vcpus);
}

static u32 nr_held(struct kvm_ft_epoch *e)
{
	u32 n;

	spin_lock(&e->lock);
	n = e->nr_parked;
	spin_unlock(&e->lock);
	return n + bitmap_weight(e->locked, e->nr_vcpus);
}

/*
 * Hold every vCPU: 0, -EINTR if told to stop, -ETIME if one could not be
 * held within the failover timeout (e.g. its VMM keeps it in an ioctl):
 * the VM must not stay frozen while heartbeats say all is well.
 */
static int park_all(struct kvm_ft_epoch *e)
{
	unsigned long mid_io, give_up;
	struct kvm_vcpu *vcpu;
	unsigned long i;

	spin_lock(&e->lock);
	e->parking = true;
	spin_unlock(&e->lock);
	kvm_for_each_vcpu(i, vcpu, e->kvm) {
		kvm_make_request(KVM_REQ_FT_PARK, vcpu);
		kvm_make_request(KVM_REQ_UNBLOCK, vcpu);
		kvm_vcpu_kick(vcpu);
	}
	/* Idle vCPUs are locked on sight; a vCPU leaving an ioctl is retried. */
	mid_io = jiffies + usecs_to_jiffies(READ_ONCE(*e->epoch_us));
	give_up = jiffies + msecs_to_jiffies(READ_ONCE(kvm_ft_defaults.failover_timeout_ms));
	while (!READ_ONCE(*e->abort) && !all_held(e, time_after(jiffies, mid_io))) {
		if (time_after(jiffies, give_up))
			return -ETIME;
		wait_event_timeout(e->wq, READ_ONCE(*e->abort) || nr_held(e) == e->nr_vcpus, 1);
	}
	return READ_ONCE(*e->abort) ? -EINTR : 0;
}

/* The idle vCPUs' states, from the engine's thread with their mutexes held. */
static int take_locked(struct kvm_ft_epoch *e)
{
	struct kvm *kvm = e->kvm;
	int idx, ret = 0;
	unsigned long i;

	if (bitmap_empty(e->locked, e->nr_vcpus))
		return 0;
	if (!mmget_not_zero(kvm->mm))
		return -ESRCH;
	kthread_use_mm(kvm->mm);
	idx = srcu_read_lock(&kvm->srcu);
	for_each_set_bit(i, e->locked, e->nr_vcpus) {
		ret = kvm_ft_vcpu_save(kvm_get_vcpu(kvm, i), &e->vcpus[i]);
		if (ret)
			break;
	}
	srcu_read_unlock(&kvm->srcu, idx);
	kthread_unuse_mm(kvm->mm);
	mmput(kvm->mm);
	return ret;
}

static bool parked_saved(struct kvm_ft_epoch *e)
{
	bool all;

	spin_lock(&e->lock);
	all = e->nr_saved == e->nr_parked;
	spin_unlock(&e->lock);
	return all;
}

/*
 * Every held vCPU's state, as KVM_GET_* ioctls would take it: the parked
 * ones save their own (park()), the engine's thread takes the locked ones.
 * A vCPU killed while held has left: -EINTR (its VMM is going).  No vCPU
 * leaves once taking is set, so the wait ends.  From the sender thread.
 */
static int take_vcpus(struct kvm_ft_epoch *e)
{
	int ret;

	spin_lock(&e->lock);
	e->taking = e->nr_parked + bitmap_weight(e->locked, e->nr_vcpus) == e->nr_vcpus;
	e->nr_saved = 0;
	e->save_err = 0;
	spin_unlock(&e->lock);
	if (!e->taking)
		return -EINTR;
	wake_up_all(&e->release);
	ret = take_locked(e);
	wait_event(e->wq, parked_saved(e));
	return ret ?: e->save_err;
}

/* Room for the snapshot's copies of the dirty frames, kept across epochs. */
static int pages_room(struct kvm_ft_epoch *e)
{
	u64 n = e->dirty.nr;

	if (n > e->pages_cap) {
		vfree(e->pages);
		e->pages_cap = 0;
		/* Not kvmalloc: it refuses (and warns) beyond INT_MAX bytes. */
		e->pages = __vmalloc(array_size(n, PAGE_SIZE), GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
		if (!e->pages)
			return -ENOMEM;
		e->pages_cap = n;
	}
	return 0;
}

/*
 * Run @fn on @e with the VM's mm, as the engine's thread copies guest
 * memory; -ESRCH: the VM's process is gone.
 */
static int with_mm(struct kvm_ft_epoch *e, int (*fn)(struct kvm_ft_epoch *e))
{
	struct mm_struct *mm = e->kvm->mm;
	int ret;

	if (!mmget_not_zero(mm))
		return -ESRCH;
	kthread_use_mm(mm);
	ret = fn(e);
	kthread_unuse_mm(mm);
	mmput(mm);
	return ret;
}

/*
 * The steal-time frames, now, while every vCPU is held: KVM writes their
 * "preempted" byte from a vCPU's sched-out, where no copy can be made.
 */
static int copy_steal_time(struct kvm_ft_epoch *e)
{
	struct kvm_vcpu *vcpu;
	unsigned long i;
	u64 msr;

	kvm_for_each_vcpu(i, vcpu, e->kvm) {
		if (i >= e->nr_vcpus)
			break;
		msr = READ_ONCE(vcpu->arch.st.msr_val);
		if (msr & KVM_MSR_ENABLED)
			kvm_ft_cow_claim(&e->cow, gpa_to_gfn(msr & KVM_STEAL_VALID_BITS), false);
	}
	return 0;
}

/*
 * The copies after resume, to the last, and disarmed; without the VM's
 * mm (its process is gone) each is left undone, with an error.
 */
static int finish_copies(struct kvm_ft_epoch *e)
{
	struct mm_struct *mm = e->kvm->mm;
	bool got = mmget_not_zero(mm);
	int ret;

	if (got)
		kthread_use_mm(mm);
	ret = kvm_ft_cow_finish(&e->cow, &e->early);
	if (got) {
		kthread_unuse_mm(mm);
		mmput(mm);
	}
	return ret;
}

/*
 * The dirty frames, every vCPU held: copied now, or, with copy after
 * resume (cow.c), left for whoever comes first once the vCPUs run:
 * *@armed says so, and the caller must then finish_copies().  Only
 * while the VMM keeps out of guest memory until its PUT returns (@vmm_out:
 * it handed its device state in, or it has none): a VMM whose blob came
 * late is not in that window, and a device's write of its could land in
 * a frame still to be copied.  And only where the harvest write-protects
 * the frames: with TDP, and without the CPU's own dirty logging (Intel's
 * PML), with which kvm_arch_mmu_enable_log_dirty_pt_masked() clears their
 * dirty bits instead and leaves them writable: a vCPU's write would then
 * take no fault, and so reach a frame before its copy.
 */
static int take_memory(struct kvm_ft_epoch *e, bool vmm_out, bool *armed)
{
	int ret = pages_room(e);

	*armed = false;
	if (ret)
		return ret;
	if (e->dirty.nr && vmm_out && READ_ONCE(kvm_ft_defaults.copy_after_resume) &&
	    tdp_enabled && !kvm_cpu_dirty_log_size() &&
	    !kvm_ft_cow_arm(&e->cow, e->kvm, e->dirty.gfns, e->dirty.nr, e->pages)) {
		*armed = true;
		return with_mm(e, copy_steal_time);
	}
	return kvm_ft_epoch_read(e, e->dirty.gfns, e->dirty.nr, e->pages);
}

int kvm_ft_epoch_read(struct kvm_ft_epoch *e, const u64 *gfns, u64 n, void *dst)
{
	struct kvm *kvm = e->kvm;
	int idx, ret = 0;
	u64 i;

	if (!mmget_not_zero(kvm->mm))
		return -ESRCH;
	kthread_use_mm(kvm->mm);
	idx = srcu_read_lock(&kvm->srcu);
	for (i = 0; i < n && !ret; i++) {
		ret = kvm_read_guest_page(kvm, gfns[i], dst + i * PAGE_SIZE, 0, PAGE_SIZE);
		if (!((i + 1) % 1024))
			cond_resched();		/* an epoch may be all of a large VM */
	}
	srcu_read_unlock(&kvm->srcu, idx);
	kthread_unuse_mm(kvm->mm);
	mmput(kvm->mm);
	return ret;
}

/* The VMM's device state, vCPUs held; a late one leaves the epoch without. */
static int take_device(struct kvm_ft_epoch *e, struct kvm_ft_snapshot *s)
{
	int ret;

	s->device = NULL;
	s->device_len = 0;
	s->device_late = false;
	if (!e->device)
		return 0;
	ret = kvm_ft_device_take(e->device, e->abort, &s->device, &s->device_len);
	s->device_late = ret == -ETIME;
	return s->device_late ? 0 : ret;	/* the epoch goes, but is no checkpoint */
}

/*
 * One instant: every vCPU held first, then the devices, the vCPUs' states
 * and the memory, then the vCPUs let go.  The devices before the vCPUs:
 * an interrupt a device raised before its capture is then in the LAPIC
 * state taken after it (the other way round, it would be in neither).
 * The devices before the memory: what the VMM wrote into guest memory for
 * the state it hands in, it marked before (KVM_FT_MARK_DIRTY), so the
 * harvest has it.  The memory is the dirty log's harvest; its frames are
 * copied in the pause, or after it as they were at this instant (copy
 * after resume, cow.c), and only then may the VMM's PUT return.  The
 * pause ends when the vCPUs are let go.  From the sender thread.
 */
int kvm_ft_epoch_snapshot(struct kvm_ft_epoch *e, struct kvm_ft_snapshot *s)
{
	u64 t0 = ktime_get_ns();
	bool armed = false;
	int ret, fin;

	/* A vCPU added while paired would run outside every snapshot. */
	if (atomic_read(&e->kvm->online_vcpus) != e->nr_vcpus)
		return -EBUSY;
	ret = park_all(e);
	if (!ret && e->held)
		e->held(e->held_ctx);
	if (!ret)
		ret = take_device(e, s);
	if (!ret)
		ret = take_vcpus(e);
	if (!ret)
		ret = kvm_ft_dirty_harvest(e->kvm, &e->dirty);
	if (!ret)
		ret = take_memory(e, !e->device || !s->device_late, &armed);
	if (!ret && s->verify)
		ret = kvm_ft_vm_mem_crc(e->kvm, &s->mem_crc, NULL);
	release_all(e);
	s->pause_ns = ktime_get_ns() - t0;
	e->early = 0;
	if (armed) {
		fin = finish_copies(e);
		ret = ret ?: fin;
	}
	if (e->device)
		kvm_ft_device_released(e->device);	/* its PUT may return */

	s->early_pages = e->early;
	s->nr_pages = e->dirty.nr;
	s->gfns = e->dirty.gfns;
	s->pages = e->pages;
	s->nr_vcpus = e->nr_vcpus;
	s->vcpus = e->vcpus;
	return ret;
}

/*
 * What the VMM wrote into guest memory before the sync, it marks only at
 * its next capture: at epoch 2, where those marks would send their pages
 * a second time.  QEMU, for one, folds KVM's whole initial dirty log
 * (KVM_DIRTY_LOG_INITIALLY_SET) into its own bitmap when the guest's
 * firmware rearranges its memslots at boot: all of memory, sent again
 * after the sync.  So the sync starts with a request in a hold, as in a
 * snapshot: the VMM marks (the harvest that follows takes the marks, the
 * sync reads every page after it) and hands in a device state, which is
 * dropped.  A VMM that does not answer in time leaves its marks to epoch
 * 2, as before.  From the sender thread.
 */
static int take_vmm_marks(struct kvm_ft_epoch *e)
{
	struct kvm_ft_snapshot s;
	int ret;

	if (!e->device)
		return 0;
	ret = park_all(e);
	if (!ret)
		ret = take_device(e, &s);
	release_all(e);
	kvm_ft_device_released(e->device);	/* its PUT may return */
	return ret;
}

int kvm_ft_epoch_start(struct kvm_ft_epoch *e)
{
	int ret = take_vmm_marks(e);

	if (!ret)
		ret = kvm_ft_dirty_harvest(e->kvm, &e->dirty);
	if (ret)
		return ret;
	hrtimer_start(&e->timer, period(e), HRTIMER_MODE_REL);
	return 0;
}

static void epoch_free(struct kvm_ft_epoch *e)
{
	kvm_ft_cow_free(&e->cow);
	kvm_ft_dirty_free(&e->dirty);
	vfree(e->pages);
	kvfree(e->vcpus);
	bitmap_free(e->parked);
	bitmap_free(e->locked);
	kfree(e);
}

struct kvm_ft_epoch *kvm_ft_epoch_create(struct kvm *kvm, const u32 *epoch_us,
					 const bool *abort, wait_queue_head_t *tick_wq,
					 struct kvm_ft_device *device)
{
	u32 n = atomic_read(&kvm->online_vcpus);
	struct kvm_ft_epoch *e;
	int ret;

	e = kzalloc(sizeof(*e), GFP_KERNEL_ACCOUNT);
	if (!e)
		return ERR_PTR(-ENOMEM);
	e->kvm = kvm;
	e->nr_vcpus = n;
	e->epoch_us = epoch_us;
	e->abort = abort;
	e->tick_wq = tick_wq;
	e->device = device;
	spin_lock_init(&e->lock);
	init_waitqueue_head(&e->wq);
	init_waitqueue_head(&e->release);
	hrtimer_init(&e->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	e->timer.function = tick;
	kvm_ft_cow_init(&e->cow);

	e->parked = bitmap_zalloc(max(n, 1U), GFP_KERNEL_ACCOUNT);
	e->locked = bitmap_zalloc(max(n, 1U), GFP_KERNEL_ACCOUNT);
	e->vcpus = kvcalloc(max(n, 1U), sizeof(*e->vcpus), GFP_KERNEL_ACCOUNT);
	ret = kvm_ft_dirty_init(&e->dirty, kvm);
	if (ret || !e->parked || !e->locked || !e->vcpus) {
		epoch_free(e);
		return ERR_PTR(-ENOMEM);
	}
	ret = xa_err(xa_store(&engines, (unsigned long)kvm, e, GFP_KERNEL_ACCOUNT));
	if (ret) {
		epoch_free(e);
		return ERR_PTR(ret);
	}
	return e;
}

void kvm_ft_epoch_destroy(struct kvm_ft_epoch *e)
{
	hrtimer_cancel(&e->timer);
	xa_erase(&engines, (unsigned long)e->kvm);
	synchronize_rcu();		/* every park() to come sees no engine */
	release_all(e);
	wait_event(e->wq, no_park(e));
	epoch_free(e);
}
