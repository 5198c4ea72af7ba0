// SPDX-License-Identifier: GPL-2.0
/*
 * Device state: what a VM's emulated devices hold lives in its VMM, so each
 * epoch the engine asks for it while the vCPUs are held.  It signals the
 * VMM's eventfd and waits, at most timeout_ms, for one KVM_FT_DEVICE_PUT;
 * the blob then travels with the epoch, opaque to the kernel.
 *
 * The PUT returns once the vCPUs run again and the epoch's frames are
 * copied (cow.c), so that a VMM that writes guest
 * memory for its devices (and marks it, KVM_FT_MARK_DIRTY) knows the
 * window in which a write would land in this epoch's memory but not in the
 * state it handed in: from reading the eventfd to the PUT's return.
 *
 * A request is numbered by the eventfd's running total: a VMM that reads
 * the eventfd, adds what it read, captures its devices and puts the blob
 * under that number can never hand a capture of one request in as the
 * answer to a later one, even when it was late and two signals folded into
 * one read.  A blob for anything but the pending request is refused.
 *
 * On a backup that took over, the checkpoint's blob is kept here for the
 * VMM to fetch with KVM_FT_DEVICE_GET, and the eventfd tells it to.
 */
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "device.h"
#include "vm.h"

void kvm_ft_device_init(struct kvm_ft_device *d)
{
	mutex_init(&d->lock);
	init_waitqueue_head(&d->wq);
}

void kvm_ft_device_free(struct kvm_ft_device *d)
{
	if (d->notify)
		eventfd_ctx_put(d->notify);
	d->notify = NULL;
	kvfree(d->blob);
	d->blob = NULL;
}

bool kvm_ft_device_used(const struct kvm_ft_vm *vm)
{
	return !(vm->flags & KVM_FT_F_NO_DEVICE_STATE);
}

/* What HELLO carries: set up before a pair, unchanged while paired. */
u32 kvm_ft_device_machine(struct kvm_ft_vm *vm)
{
	u32 machine;

	mutex_lock(&vm->dev.lock);
	machine = vm->dev.machine;
	mutex_unlock(&vm->dev.lock);
	return machine;
}

/* A primary handing over device state needs all three; anything else none. */
static bool setup_valid(const struct kvm_ft_vm *vm, const struct kvm_ft_device_setup *s)
{
	if (s->eventfd < -1)
		return false;
	if (vm->role == KVM_FT_ROLE_PRIMARY && kvm_ft_device_used(vm))
		return s->eventfd >= 0 &&
		       s->timeout_ms >= 1 && s->timeout_ms <= KVM_FT_DEVICE_TIMEOUT_MS_MAX &&
		       s->max_len >= 1 && s->max_len <= KVM_FT_WIRE_MAX_DEVICE;
	return !s->timeout_ms && !s->max_len;
}

int kvm_ft_device_setup(struct kvm_ft_vm *vm, void __user *argp)
{
	struct kvm_ft_device *d = &vm->dev;
	struct eventfd_ctx *notify = NULL;
	struct kvm_ft_device_setup s;
	void *blob = NULL;

	lockdep_assert_held(&vm->lock);
	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	if (!setup_valid(vm, &s))
		return -EINVAL;
	if (READ_ONCE(vm->state) != KVM_FT_STATE_IDLE)
		return -EBUSY;		/* the engine may be using it */
	if (s.eventfd >= 0) {
		notify = eventfd_ctx_fdget(s.eventfd);
		if (IS_ERR(notify))
			return PTR_ERR(notify);
	}
	if (s.max_len) {
		blob = kvmalloc(s.max_len, GFP_KERNEL_ACCOUNT);
		if (!blob) {
			if (notify)
				eventfd_ctx_put(notify);
			return -ENOMEM;
		}
	}
	mutex_lock(&d->lock);
	kvm_ft_device_free(d);
	d->notify = notify;
	d->blob = blob;
	d->len = 0;
	d->timeout_ms = s.timeout_ms;
	d->max_len = s.max_len;
	d->machine = s.machine;
	d->requested = d->answered = 0;	/* a new eventfd counts from 0 */
	WRITE_ONCE(d->released, 0);
	mutex_unlock(&d->lock);
	return 0;
}

int kvm_ft_device_put(struct kvm_ft_vm *vm, void __user *argp)
{
	struct kvm_ft_device *d = &vm->dev;
	struct kvm_ft_device_blob b;
	int ret = 0;

	if (copy_from_user(&b, argp, sizeof(b)))
		return -EFAULT;
	if (b.reserved || !b.len || vm->role != KVM_FT_ROLE_PRIMARY || !kvm_ft_device_used(vm))
		return -EINVAL;

	mutex_lock(&d->lock);
	if (!d->blob)
		ret = -EINVAL;			/* never set up */
	else if (b.len > d->max_len)
		ret = -EMSGSIZE;
	else if (!d->pending || b.seq != d->requested)
		ret = -ESTALE;			/* not what the engine waits for */
	else if (copy_from_user(d->blob, u64_to_user_ptr(b.addr), b.len))
		ret = -EFAULT;
	if (!ret) {
		d->len = b.len;
		WRITE_ONCE(d->answered, b.seq);
		d->pending = false;
	}
	mutex_unlock(&d->lock);
	if (ret)
		return ret;
	/*
	 * Back to the VMM once the vCPUs run: until then it writes nothing.
	 * The engine says so after every request it made, whatever became of
	 * it, so this wait ends with the snapshot.
	 */
	wake_up(&d->wq);
	return wait_event_killable(d->wq, READ_ONCE(d->released) >= b.seq);
}

int kvm_ft_device_get(struct kvm_ft_vm *vm, void __user *argp)
{
	struct kvm_ft_device *d = &vm->dev;
	struct kvm_ft_device_blob b;
	int ret = 0;

	if (copy_from_user(&b, argp, sizeof(b)))
		return -EFAULT;
	if (b.reserved || vm->role != KVM_FT_ROLE_BACKUP)
		return -EINVAL;

	mutex_lock(&d->lock);
	if (!d->resumed)
		ret = -ENODATA;			/* it has not taken over */
	else if (b.len < d->len)
		ret = -E2BIG;
	else if (d->len && copy_to_user(u64_to_user_ptr(b.addr), d->blob, d->len))
		ret = -EFAULT;
	b.len = d->len;
	b.seq = d->epoch;
	mutex_unlock(&d->lock);
	if ((!ret || ret == -E2BIG) && copy_to_user(argp, &b, sizeof(b)))
		ret = -EFAULT;
	return ret;
}

/* A wait condition: it may not sleep, so no d->lock (see the PUT). */
static bool answered(struct kvm_ft_device *d, u64 req, const bool *abort)
{
	return READ_ONCE(d->answered) == req || READ_ONCE(*abort);
}

int kvm_ft_device_take(struct kvm_ft_device *d, const bool *abort,
		       const void **blob, u32 *len)
{
	unsigned long timeout;
	int ret = 0;
	u64 req;

	mutex_lock(&d->lock);
	req = ++d->requested;
	d->pending = true;
	timeout = msecs_to_jiffies(d->timeout_ms);
	eventfd_signal(d->notify, 1);
	mutex_unlock(&d->lock);

	wait_event_timeout(d->wq, answered(d, req, abort), timeout);

	mutex_lock(&d->lock);
	d->pending = false;		/* a late blob is refused */
	if (d->answered != req)
		ret = READ_ONCE(*abort) ? -EINTR : -ETIME;
	*blob = d->blob;
	*len = ret ? 0 : d->len;
	mutex_unlock(&d->lock);
	return ret;
}

void kvm_ft_device_released(struct kvm_ft_device *d)
{
	mutex_lock(&d->lock);
	WRITE_ONCE(d->released, d->requested);
	mutex_unlock(&d->lock);
	wake_up(&d->wq);
}

void kvm_ft_device_resume(struct kvm_ft_device *d, void *blob, u32 len, u64 epoch)
{
	mutex_lock(&d->lock);
	kvfree(d->blob);
	d->blob = blob;
	d->len = blob ? len : 0;
	d->epoch = epoch;
	d->resumed = true;
	if (d->notify)
		eventfd_signal(d->notify, 1);
	mutex_unlock(&d->lock);
}
