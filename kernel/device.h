/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM_FT_DEVICE_H
#define KVM_FT_DEVICE_H

#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/wait.h>

struct eventfd_ctx;
struct kvm_ft_vm;

/*
 * A VM's device state, which lives in its VMM: the eventfd by which the
 * kernel asks for it (primary, per epoch) or says the VM took over
 * (backup), and the blob last handed over.
 */
struct kvm_ft_device {
	struct mutex lock;		/* all below */
	struct eventfd_ctx *notify;	/* NULL: the VMM set none up */
	u32 timeout_ms;			/* primary: the longest the vCPUs wait */
	u32 max_len;			/* primary: the largest blob */
	u32 machine;			/* the VMM's digest of its devices */
	wait_queue_head_t wq;		/* the engine, for the blob */
	u64 requested;			/* requests made: the eventfd's total */
	u64 answered;			/* the request the blob answers */
	bool pending;			/* the engine waits for request @requested */
	u64 released;			/* the last request whose vCPUs run again */
	void *blob;			/* primary: staging; backup: the checkpoint's */
	u32 len;
	u64 epoch;			/* backup: the checkpoint @blob belongs to */
	bool resumed;			/* backup: took over; @blob is for its VMM */
};

void kvm_ft_device_init(struct kvm_ft_device *d);
void kvm_ft_device_free(struct kvm_ft_device *d);

/* The VM ioctls (see uapi/linux/kvm_ft.h); setup under vm->lock. */
int kvm_ft_device_setup(struct kvm_ft_vm *vm, void __user *argp);
int kvm_ft_device_put(struct kvm_ft_vm *vm, void __user *argp);
int kvm_ft_device_get(struct kvm_ft_vm *vm, void __user *argp);

/* Is the VM's device state handed over each epoch (not declared absent)? */
bool kvm_ft_device_used(const struct kvm_ft_vm *vm);
u32 kvm_ft_device_machine(struct kvm_ft_vm *vm);

/*
 * From the epoch engine, vCPUs held: ask the VMM for its device state and
 * wait for it, at most timeout_ms.  0 and the blob (valid until the next
 * call); -ETIME if it did not come; -EINTR if @abort was set meanwhile.
 */
int kvm_ft_device_take(struct kvm_ft_device *d, const bool *abort,
		       const void **blob, u32 *len);

/* From the epoch engine: the vCPUs held for the last request run again. */
void kvm_ft_device_released(struct kvm_ft_device *d);

/*
 * Backup: the VM took over from the checkpoint of @epoch; @blob (kvmalloc'd,
 * may be NULL) is now the device's, for the VMM to fetch.  Wake the VMM.
 */
void kvm_ft_device_resume(struct kvm_ft_device *d, void *blob, u32 len, u64 epoch);

#endif /* KVM_FT_DEVICE_H */
