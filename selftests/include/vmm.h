/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal VMM for Cuju's selftests, in the manner of the kernel's KVM
 * selftests: guest code is ordinary C in the test binary, which is loaded
 * into guest memory at its own addresses, so guest and host share symbols.
 *
 * Guest physical layout (identity-mapped, 64-bit long mode, 2 MiB pages):
 *   0x0000_1000  page tables (PML4, PDPT, 4 PDs covering 4 GiB)
 *   0x0000_7000  GDT; TSS at 0x8000; IDT at 0x9000 (exceptions 0-31 reported)
 *   0x0000_a000  4 more PDs, covering 4 to 8 GiB
 *   0x0020_0000  vCPU stacks, VMM_STACK_SIZE each
 *   0x0040_0000  the test binary (non-PIE), to VMM_MAIN_SIZE
 *   0x4000_0000  and up: memslots that tests add (VMM_TEST_GPA)
 */
#ifndef CUJU_SELFTEST_VMM_H
#define CUJU_SELFTEST_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <linux/kvm.h>

#define VMM_PAGE_SIZE		4096UL
#define VMM_MAIN_SIZE		(16UL << 20)
#define VMM_STACK_BASE		0x200000UL
#define VMM_STACK_SIZE		0x10000UL
#define VMM_MAX_VCPUS		16
#define VMM_MAX_SLOTS		8
#define VMM_TEST_GPA		(1UL << 30)
#define VMM_MAPPED_SIZE		(8UL << 30)
#define VMM_RUN_LIMIT_S		60	/* the longest a guest may go without an exit */

struct vmm_slot {
	uint32_t id;
	uint32_t flags;
	uint64_t gpa;
	uint64_t size;
	void *hva;
};

struct vcpu {
	struct vm *vm;
	int id;
	int fd;
	struct kvm_run *run;
};

struct vm {
	int kvm_fd;
	int fd;
	size_t run_size;
	struct kvm_cpuid2 *cpuid;
	struct vmm_slot slots[VMM_MAX_SLOTS];
	int nr_slots;
	struct vcpu *vcpus[VMM_MAX_VCPUS];
	bool irqchip;			/* in-kernel LAPICs (vm_irqchip()) */
};

/*
 * Library failures are test failures: print where and why, then abort, which
 * the kselftest harness reports as a failed test.
 */
#define VMM_ASSERT(cond, fmt, ...) do {					\
	if (!(cond))							\
		vmm_fail(__FILE__, __LINE__, #cond, fmt, ##__VA_ARGS__);\
} while (0)

void vmm_fail(const char *file, int line, const char *cond,
	      const char *fmt, ...) __attribute__((noreturn, format(printf, 4, 5)));

/* A VM with main memory (slot 0) holding the test binary and page tables. */
struct vm *vm_create(void);
/* The same, main memory's memslot with @main_flags (KVM_MEM_*). */
struct vm *vm_create_with(uint32_t main_flags);
void vm_destroy(struct vm *vm);

/*
 * The in-kernel irqchip (LAPICs, IOAPIC, PIC), before any vCPU: for guests
 * that use their local APIC (x2APIC: no MMIO page needed).
 */
void vm_irqchip(struct vm *vm);
/*
 * Guest interrupt @vector enters @handler (an interrupt gate, no stack
 * switch: it must save what it uses and end in iretq).
 */
void vm_set_handler(struct vm *vm, int vector, void *handler);

/* Add a memslot of @size bytes at @gpa; @flags as KVM_MEM_*. */
void *vm_add_slot(struct vm *vm, uint32_t id, uint64_t gpa, uint64_t size,
		  uint32_t flags);
/* Host address of guest physical @gpa; aborts if no slot holds it. */
void *vm_gpa2hva(struct vm *vm, uint64_t gpa);
/* Fetch (and reset) the dirty bitmap of slot @id into @bitmap. */
void vm_get_dirty_log(struct vm *vm, uint32_t id, uint64_t *bitmap);

/* The guest's copy of a global of the test binary, as an lvalue. */
#define GUEST_VAR(vm, var) (*(__typeof__(var) *)vm_gpa2hva(vm, (uint64_t)&(var)))

/*
 * A vCPU that starts at @entry(arg0, arg1) in 64-bit mode on its own stack;
 * when @entry returns, the vCPU reports UCALL_DONE.
 */
struct vcpu *vcpu_add(struct vm *vm, int id, void *entry, uint64_t arg0,
		      uint64_t arg1);
/* KVM_RUN once; returns the exit reason.  Fails after VMM_RUN_LIMIT_S. */
uint32_t vcpu_run(struct vcpu *vcpu);
/*
 * Complete the I/O access the last exit left pending, without running the
 * guest (KVM_RUN with immediate_exit): for a vCPU its VMM stops running.
 */
void vcpu_complete_io(struct vcpu *vcpu);
/*
 * The CPUID the VM's vCPUs get (KVM's supported one, without SVM and VMX:
 * the engine does not carry nested state): set or clear bit @bit of
 * register @reg (0 eax, 1 ebx, 2 ecx, 3 edx) of leaf @function; it takes
 * effect for vCPUs added after, or at vcpu_set_cpuid().
 */
void vm_cpuid_set_bit(struct vm *vm, uint32_t function, int reg, int bit, bool on);
void vcpu_set_cpuid(struct vcpu *vcpu);
void vcpu_get_regs(struct vcpu *vcpu, struct kvm_regs *regs);
void vcpu_get_sregs(struct vcpu *vcpu, struct kvm_sregs *sregs);
/*
 * The vCPU's KVM statistics: an fd to open while the vCPU is not in KVM_RUN
 * (the ioctl waits for it), then to read at any time; the statistic @name
 * (e.g. "pf_taken") from it, 0 if none.
 */
int vcpu_stats_fd(struct vcpu *vcpu);
uint64_t stats_read(int fd, const char *name);
/* Registers and the code at RIP, for a test that fails on a guest. */
void vcpu_dump(struct vcpu *vcpu, FILE *f);

#endif /* CUJU_SELFTEST_VMM_H */
