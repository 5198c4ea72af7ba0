// SPDX-License-Identifier: GPL-2.0
/*
 * A backup VM's vCPUs.  While the VM listens for its primary, its memory
 * is being written by epochs and its vCPUs' state is not the guest's: a
 * vCPU that enters KVM_RUN is held at the start of it (the hook of
 * kernel/patches/0004) until a takeover.  At a takeover, each vCPU loads
 * the checkpoint's state on its next KVM_RUN, in its own thread, as the
 * KVM_SET_* vCPU ioctls would: with its VMM's mm (MSRs such as kvmclock's
 * translate guest addresses through current->mm) and kvm->srcu held.  A
 * VMM that reads a vCPU's registers must do so after that KVM_RUN.
 *
 * No vCPU enters the guest before every vCPU has loaded: the checkpoint
 * is one instant of all of them.  A vCPU that ran early could send an IPI
 * to one still in the backup's own state; that vCPU's load would then
 * overwrite the IPI in its LAPIC (seen on two CPUs: a pinger waiting for
 * ever for its answer after a takeover).  A vCPU that has loaded waits in
 * KVM_RUN for the others; a signal takes it out (KVM_EXIT_INTR), and it
 * waits again on its next KVM_RUN.
 *
 * The state lives per struct kvm from the first LISTEN until the VM is
 * destroyed, when no vCPU ioctl can run any more: a vCPU thread never sees
 * it go, and a stop of the backup after a takeover cannot take the states
 * away from vCPUs that have not loaded them yet.
 */
#include <linux/kvm_host.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "resume.h"
#include "vcpu.h"

struct kvm_ft_resume {
	spinlock_t lock;		/* all below */
	bool holding;			/* a listening backup: vCPUs wait */
	u32 nr_vcpus;
	unsigned long *pending;		/* vCPUs yet to load vcpus[] */
	struct kvm_ft_arch_vcpu *vcpus;
	wait_queue_head_t wq;		/* held vCPUs */
};

static DEFINE_XARRAY(resumes);		/* struct kvm * -> struct kvm_ft_resume * */

static void resume_free(struct kvm_ft_resume *r)
{
	if (!r)
		return;
	bitmap_free(r->pending);
	kvfree(r->vcpus);
	kfree(r);
}

static struct kvm_ft_resume *resume_alloc(u32 n)
{
	struct kvm_ft_resume *r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);

	if (!r)
		return NULL;
	spin_lock_init(&r->lock);
	init_waitqueue_head(&r->wq);
	r->nr_vcpus = n;
	r->pending = bitmap_zalloc(max(n, 1U), GFP_KERNEL_ACCOUNT);
	r->vcpus = kvcalloc(max(n, 1U), sizeof(*r->vcpus), GFP_KERNEL_ACCOUNT);
	if (!r->pending || !r->vcpus) {
		resume_free(r);
		return NULL;
	}
	return r;
}

/* Make every vCPU look at us before it runs again. */
static void ask_all(struct kvm *kvm)
{
	struct kvm_vcpu *vcpu;
	unsigned long i;

	kvm_for_each_vcpu(i, vcpu, kvm) {
		kvm_make_request(KVM_REQ_FT_PARK, vcpu);
		kvm_make_request(KVM_REQ_UNBLOCK, vcpu);
		kvm_vcpu_kick(vcpu);
	}
}

/*
 * The VM has another number of vCPUs than at its last LISTEN: resize in
 * place, under r->lock, so that a vCPU thread that found @r keeps a valid
 * one.  Refused while states wait to be loaded: they are read unlocked.
 */
static int resume_resize(struct kvm_ft_resume *r, u32 n)
{
	unsigned long *pending = bitmap_zalloc(max(n, 1U), GFP_KERNEL_ACCOUNT);
	struct kvm_ft_arch_vcpu *vcpus = kvcalloc(max(n, 1U), sizeof(*vcpus), GFP_KERNEL_ACCOUNT);
	int ret = -ENOMEM;

	if (pending && vcpus) {
		spin_lock(&r->lock);
		ret = bitmap_empty(r->pending, r->nr_vcpus) ? 0 : -EBUSY;
		if (!ret) {
			swap(r->pending, pending);
			swap(r->vcpus, vcpus);
			r->nr_vcpus = n;
		}
		spin_unlock(&r->lock);
	}
	bitmap_free(pending);
	kvfree(vcpus);
	return ret;
}

/* A netlink handler's, under vm->lock: never twice at once for a VM. */
int kvm_ft_resume_hold(struct kvm *kvm, u32 nr_vcpus)
{
	struct kvm_ft_resume *r = xa_load(&resumes, (unsigned long)kvm);
	int ret;

	if (r && r->nr_vcpus != nr_vcpus) {
		ret = resume_resize(r, nr_vcpus);
		if (ret)
			return ret;
	}
	if (!r) {
		r = resume_alloc(nr_vcpus);
		if (!r)
			return -ENOMEM;
		ret = xa_err(xa_store(&resumes, (unsigned long)kvm, r, GFP_KERNEL_ACCOUNT));
		if (ret) {
			resume_free(r);
			return ret;
		}
	}
	spin_lock(&r->lock);
	r->holding = true;
	spin_unlock(&r->lock);
	ask_all(kvm);
	return 0;
}

void kvm_ft_resume_unhold(struct kvm *kvm)
{
	struct kvm_ft_resume *r = xa_load(&resumes, (unsigned long)kvm);

	if (!r)
		return;
	spin_lock(&r->lock);
	r->holding = false;
	spin_unlock(&r->lock);
	wake_up_all(&r->wq);
}

void kvm_ft_resume_load(struct kvm *kvm, const struct kvm_ft_arch_vcpu *vcpus, u32 n)
{
	struct kvm_ft_resume *r = xa_load(&resumes, (unsigned long)kvm);

	if (WARN_ON_ONCE(!r || n != r->nr_vcpus))
		return;
	spin_lock(&r->lock);
	memcpy(r->vcpus, vcpus, n * sizeof(*vcpus));
	bitmap_fill(r->pending, n);
	r->holding = false;
	spin_unlock(&r->lock);
	ask_all(kvm);
	wake_up_all(&r->wq);
}

static bool released(struct kvm_ft_resume *r)
{
	return !READ_ONCE(r->holding);
}

static bool all_loaded(struct kvm_ft_resume *r)
{
	bool all;

	spin_lock(&r->lock);
	all = bitmap_empty(r->pending, r->nr_vcpus);
	spin_unlock(&r->lock);
	return all;
}

/* Leave KVM_RUN for a signal; held again at the next one. */
static int interrupted(struct kvm_vcpu *vcpu)
{
	kvm_make_request(KVM_REQ_FT_PARK, vcpu);
	vcpu->run->exit_reason = KVM_EXIT_INTR;
	++vcpu->stat.signal_exits;
	return -EINTR;
}

/*
 * Every vCPU has loaded the checkpoint, or none runs: see the top.  A
 * KVM_RUN with immediate_exit does not enter the guest: it returns at
 * once (a VMM may load its vCPUs one after the other that way), and the
 * vCPU waits at its next KVM_RUN.
 */
static int wait_all_loaded(struct kvm_ft_resume *r, struct kvm_vcpu *vcpu)
{
	if (all_loaded(r))
		return 1;
	if (READ_ONCE(vcpu->run->immediate_exit)) {
		kvm_make_request(KVM_REQ_FT_PARK, vcpu);
		return 1;
	}
	if (wait_event_interruptible_timeout(r->wq, all_loaded(r), 10 * HZ) > 0)
		return 1;
	if (signal_pending(current))
		return interrupted(vcpu);
	pr_warn_ratelimited("vCPU %d waits for the others to load the checkpoint: "
			    "their VMM has not run them since the takeover\n", vcpu->vcpu_id);
	if (wait_event_interruptible(r->wq, all_loaded(r)))
		return interrupted(vcpu);
	return 1;
}

/* In the vCPU's thread, as kvm_ft_vcpu_hold() leaves it. */
int kvm_ft_resume_vcpu(struct kvm_vcpu *vcpu)
{
	struct kvm_ft_resume *r = xa_load(&resumes, (unsigned long)vcpu->kvm);
	unsigned int i = vcpu->vcpu_idx;
	bool load;
	int idx, ret;

	kvm_clear_request(KVM_REQ_FT_PARK, vcpu);
	if (!r)
		return 1;
	if (wait_event_killable(r->wq, released(r)))
		return interrupted(vcpu);
	spin_lock(&r->lock);
	load = i < r->nr_vcpus && test_bit(i, r->pending);
	spin_unlock(&r->lock);
	if (!load)
		return wait_all_loaded(r, vcpu);

	idx = srcu_read_lock(&vcpu->kvm->srcu);
	ret = kvm_ft_vcpu_load(vcpu, &r->vcpus[i]);
	srcu_read_unlock(&vcpu->kvm->srcu, idx);
	if (ret) {
		/* Never run half a state: every KVM_RUN fails the same way. */
		pr_err_ratelimited("vCPU %d refused the checkpoint's state (%d)\n",
				   vcpu->vcpu_id, ret);
		kvm_make_request(KVM_REQ_FT_PARK, vcpu);
		return ret;
	}
	spin_lock(&r->lock);
	__clear_bit(i, r->pending);
	spin_unlock(&r->lock);
	wake_up_all(&r->wq);
	return wait_all_loaded(r, vcpu);
}

bool kvm_ft_resume_pending(struct kvm *kvm)
{
	struct kvm_ft_resume *r = xa_load(&resumes, (unsigned long)kvm);

	return r && !all_loaded(r);
}

void kvm_ft_resume_destroy(struct kvm *kvm)
{
	resume_free(xa_erase(&resumes, (unsigned long)kvm));
}
