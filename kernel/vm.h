/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM_FT_VM_H
#define KVM_FT_VM_H

#include <linux/kvm_ft.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/types.h>

struct kvm;

/* A VM registered with the engine by its VMM (KVM_FT_REGISTER). */
struct kvm_ft_vm {
	struct list_head node;		/* in kvm_ft_vms, under kvm_ft_vms_lock */
	struct kvm *kvm;
	char name[KVM_FT_NAME_LEN];
	u32 role;			/* enum kvm_ft_role */
	u32 flags;			/* KVM_FT_F_* */
	u32 state;			/* enum kvm_ft_state */
	u32 epoch_us;
	pid_t vmm_pid;
};

/*
 * Every registered VM.  The lock is held while a VM is looked at from
 * outside its VMM (netlink), and while one is added or removed, so a VM
 * being destroyed is never seen half gone.
 */
extern struct list_head kvm_ft_vms;
extern struct mutex kvm_ft_vms_lock;

struct kvm_ft_vm *kvm_ft_vm_find(const char *name);
u64 kvm_ft_vm_mem_bytes(struct kvm_ft_vm *vm);
u32 kvm_ft_vm_nr_vcpus(struct kvm_ft_vm *vm);

#endif /* KVM_FT_VM_H */
