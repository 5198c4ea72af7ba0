// SPDX-License-Identifier: GPL-2.0
/*
 * x86-64 specifics: identity page tables, a flat GDT and TSS, and vCPUs that
 * start in 64-bit long mode at a C function of the test binary.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ucall.h"
#include "vmm.h"

#define PT_BASE		0x1000UL	/* PML4; PDPT at +0x1000; PDs after */
#define GDT_BASE	0x7000UL
#define TSS_BASE	0x8000UL
#define IDT_BASE	0x9000UL	/* 256 gates of 16 bytes */
#define PD_HIGH		0xa000UL	/* the PDs of the 5th to 8th GiB */
#define SEL_CODE	0x08
#define SEL_DATA	0x10
#define SEL_TSS		0x18

#define PTE_P		(1UL << 0)
#define PTE_RW		(1UL << 1)
#define PTE_PS		(1UL << 7)

#define CR0_PE		(1UL << 0)
#define CR0_MP		(1UL << 1)
#define CR0_NE		(1UL << 5)
#define CR0_PG		(1UL << 31)
#define CR4_PAE		(1UL << 5)
#define CR4_OSFXSR	(1UL << 9)
#define CR4_OSXMMEXCPT	(1UL << 10)
#define EFER_LME	(1UL << 8)
#define EFER_LMA	(1UL << 10)

/*
 * Exception entry: one 16-byte stub per vector 0-31 that pushes a zero error
 * code where the CPU pushes none, then the vector, so that every frame is
 * { vector, error, rip, cs, rflags, rsp, ss } for vmm_guest_exception().
 */
asm(".pushsection .text\n"
    ".align 16\n"
    "vmm_exception_stubs:\n"
    ".set vec, 0\n"
    ".rept 32\n"
    "  .align 16\n"
    "  .if vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30\n"
    "  .else\n"
    "  pushq $0\n"
    "  .endif\n"
    "  pushq $vec\n"
    "  jmp vmm_exception_common\n"
    "  .set vec, vec + 1\n"
    ".endr\n"
    "vmm_exception_common:\n"
    "  mov %rsp, %rdi\n"
    "  and $~15, %rsp\n"
    "  call vmm_guest_exception\n"
    ".popsection\n");

extern const char vmm_exception_stubs[];

void __attribute__((used, noreturn)) vmm_guest_exception(const uint64_t *frame)
{
	for (;;)
		ucall(UCALL_EXCEPTION, frame[0], frame[1], frame[2]);
}

static void setup_idt(struct vm *vm)
{
	int v;

	for (v = 0; v < 32; v++)
		vm_set_handler(vm, v, (void *)(vmm_exception_stubs + 16 * v));
}

void vm_set_handler(struct vm *vm, int vector, void *handler)
{
	uint64_t *idt = vm_gpa2hva(vm, IDT_BASE);
	uint64_t h = (uint64_t)handler;

	idt[2 * vector] = (h & 0xffff) | (uint64_t)SEL_CODE << 16 | 0x8eUL << 40 |
			  (h >> 16 & 0xffff) << 48;
	idt[2 * vector + 1] = h >> 32;
}

void vm_irqchip(struct vm *vm)
{
	VMM_ASSERT(!vm->vcpus[0], "the irqchip comes before the vCPUs");
	VMM_ASSERT(!ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");
	vm->irqchip = true;
}

/* The PD that maps the @i-th GiB: the first four follow the PDPT. */
static uint64_t pd_gpa(uint64_t i)
{
	return i < 4 ? PT_BASE + 0x2000 + i * 0x1000 : PD_HIGH + (i - 4) * 0x1000;
}

/* The 2 MiB-page identity map of the low 8 GiB, the GDT and the IDT. */
void vmm_x86_setup_memory(struct vm *vm)
{
	uint64_t *pml4 = vm_gpa2hva(vm, PT_BASE);
	uint64_t *pdpt = vm_gpa2hva(vm, PT_BASE + 0x1000);
	uint64_t *gdt = vm_gpa2hva(vm, GDT_BASE);
	uint64_t i;

	pml4[0] = (PT_BASE + 0x1000) | PTE_P | PTE_RW;
	for (i = 0; i < VMM_MAPPED_SIZE >> 30; i++) {
		uint64_t *pd = vm_gpa2hva(vm, pd_gpa(i));
		int j;

		pdpt[i] = pd_gpa(i) | PTE_P | PTE_RW;
		for (j = 0; j < 512; j++)
			pd[j] = ((i << 30) + ((uint64_t)j << 21)) | PTE_P | PTE_RW | PTE_PS;
	}

	gdt[SEL_CODE / 8] = 0x00af9b000000ffffUL;	/* 64-bit code, DPL 0 */
	gdt[SEL_DATA / 8] = 0x00cf93000000ffffUL;	/* flat data */
	gdt[SEL_TSS / 8] = 0x0000890000000067UL |	/* 64-bit TSS, 2 slots */
			   ((TSS_BASE & 0xffffff) << 16) |
			   ((TSS_BASE >> 24 & 0xff) << 56);
	gdt[SEL_TSS / 8 + 1] = TSS_BASE >> 32;
	setup_idt(vm);
}

static void seg_flat(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code)
{
	*s = (struct kvm_segment) {
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .s = 1, .g = 1, .l = code, .db = !code,
	};
}

void vm_cpuid_set_bit(struct vm *vm, uint32_t function, int reg, int bit, bool on)
{
	uint32_t i;

	for (i = 0; i < vm->cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &vm->cpuid->entries[i];
		uint32_t *r = reg == 0 ? &e->eax : reg == 1 ? &e->ebx : reg == 2 ? &e->ecx : &e->edx;

		if (e->function != function)
			continue;
		*r = on ? *r | 1U << bit : *r & ~(1U << bit);
	}
}

void vcpu_set_cpuid(struct vcpu *vcpu)
{
	VMM_ASSERT(!ioctl(vcpu->fd, KVM_SET_CPUID2, vcpu->vm->cpuid), "KVM_SET_CPUID2");
}

static void vcpu_setup_cpuid(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	int n = 128;

	if (!vm->cpuid) {
		vm->cpuid = calloc(1, sizeof(*vm->cpuid) +
				   n * sizeof(struct kvm_cpuid_entry2));
		VMM_ASSERT(vm->cpuid, "out of memory");
		vm->cpuid->nent = n;
		VMM_ASSERT(!ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid),
			   "KVM_GET_SUPPORTED_CPUID");
		vm_cpuid_set_bit(vm, 0x1, 2, 5, false);		/* VMX */
		vm_cpuid_set_bit(vm, 0x80000001, 2, 2, false);	/* SVM */
	}
	/* Long mode is refused unless the guest's CPUID says it has it. */
	VMM_ASSERT(!ioctl(vcpu->fd, KVM_SET_CPUID2, vm->cpuid), "KVM_SET_CPUID2");
}

static void vcpu_setup_long_mode(struct vcpu *vcpu)
{
	struct kvm_sregs sregs;

	vcpu_get_sregs(vcpu, &sregs);
	sregs.cr0 = CR0_PE | CR0_MP | CR0_NE | CR0_PG;
	sregs.cr3 = PT_BASE;
	sregs.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	sregs.efer = EFER_LME | EFER_LMA;
	seg_flat(&sregs.cs, SEL_CODE, 0xb, true);
	seg_flat(&sregs.ds, SEL_DATA, 0x3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.tr = (struct kvm_segment) {
		.base = TSS_BASE, .limit = 0x67, .selector = SEL_TSS,
		.type = 0xb, .present = 1,
	};
	sregs.ldt = (struct kvm_segment) { .unusable = 1 };
	sregs.gdt.base = GDT_BASE;
	sregs.gdt.limit = 4 * 8 - 1;
	sregs.idt.base = IDT_BASE;
	sregs.idt.limit = 256 * 16 - 1;
	VMM_ASSERT(!ioctl(vcpu->fd, KVM_SET_SREGS, &sregs), "KVM_SET_SREGS");
}

/*
 * Where a guest entry function returns to.  Its RET leaves RSP 16-byte
 * aligned, which compiled code never expects at entry (RSP+8 is what the ABI
 * aligns), so realign and call into C rather than landing in C directly.
 */
asm(".pushsection .text\n"
    "vmm_guest_return:\n"
    "  and $~15, %rsp\n"
    "  call vmm_guest_done\n"
    ".popsection\n");

extern const char vmm_guest_return[];

void __attribute__((used, noreturn)) vmm_guest_done(void)
{
	for (;;)
		GUEST_DONE();
}

struct vcpu *vcpu_add(struct vm *vm, int id, void *entry, uint64_t arg0,
		      uint64_t arg1)
{
	uint64_t stack_top = VMM_STACK_BASE + (id + 1) * VMM_STACK_SIZE;
	struct vcpu *vcpu = calloc(1, sizeof(*vcpu));
	struct kvm_regs regs = { 0 };

	VMM_ASSERT(vcpu && id >= 0 && id < VMM_MAX_VCPUS && !vm->vcpus[id],
		   "vcpu %d", id);
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, id);
	VMM_ASSERT(vcpu->fd >= 0, "KVM_CREATE_VCPU %d", id);
	vcpu->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 vcpu->fd, 0);
	VMM_ASSERT(vcpu->run != MAP_FAILED, "mmap kvm_run");
	vm->vcpus[id] = vcpu;

	vcpu_setup_cpuid(vcpu);
	vcpu_setup_long_mode(vcpu);

	/* As if called: the return address on top, RSP+8 16-byte aligned. */
	*(uint64_t *)vm_gpa2hva(vm, stack_top - 8) = (uint64_t)vmm_guest_return;
	regs.rsp = stack_top - 8;
	regs.rip = (uint64_t)entry;
	regs.rdi = arg0;
	regs.rsi = arg1;
	regs.rflags = 0x2;
	VMM_ASSERT(!ioctl(vcpu->fd, KVM_SET_REGS, &regs), "KVM_SET_REGS");
	if (vm->irqchip) {
		/* An AP would wait for INIT and SIPI; ours start at @entry. */
		struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };

		VMM_ASSERT(!ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp), "KVM_SET_MP_STATE");
	}
	return vcpu;
}

static volatile sig_atomic_t run_expired;

static void run_alarm(int sig)
{
	run_expired = 1;
}

/*
 * Every guest of these tests exits to the VMM often; one that stays in the
 * guest for VMM_RUN_LIMIT_S is stuck.  Say where, rather than letting the
 * harness kill the test without a word.
 */
uint32_t vcpu_run(struct vcpu *vcpu)
{
	struct sigaction sa = { .sa_handler = run_alarm };	/* no SA_RESTART */
	int ret;

	sigaction(SIGALRM, &sa, NULL);
	run_expired = 0;
	alarm(VMM_RUN_LIMIT_S);
	do
		ret = ioctl(vcpu->fd, KVM_RUN, 0);
	while (ret < 0 && errno == EINTR && !run_expired);
	alarm(0);
	if (run_expired) {
		vcpu_dump(vcpu, stderr);
		vmm_fail(__FILE__, __LINE__, "!run_expired",
			 "vcpu %d: no exit for %d s", vcpu->id, VMM_RUN_LIMIT_S);
	}
	VMM_ASSERT(!ret, "KVM_RUN vcpu %d", vcpu->id);
	return vcpu->run->exit_reason;
}

void vcpu_complete_io(struct vcpu *vcpu)
{
	int ret;

	vcpu->run->immediate_exit = 1;
	ret = ioctl(vcpu->fd, KVM_RUN, 0);
	vcpu->run->immediate_exit = 0;
	VMM_ASSERT(ret < 0 && errno == EINTR, "KVM_RUN with immediate_exit, vcpu %d", vcpu->id);
}

void vcpu_get_regs(struct vcpu *vcpu, struct kvm_regs *regs)
{
	VMM_ASSERT(!ioctl(vcpu->fd, KVM_GET_REGS, regs), "KVM_GET_REGS");
}

void vcpu_get_sregs(struct vcpu *vcpu, struct kvm_sregs *sregs)
{
	VMM_ASSERT(!ioctl(vcpu->fd, KVM_GET_SREGS, sregs), "KVM_GET_SREGS");
}

/* KVM's own counters for @vcpu (exits, faults...), the non-zero ones. */
/* Call @fn with each statistic of stats fd @fd until it returns true. */
static void stats_walk(int fd, bool (*fn)(const char *, uint64_t, void *), void *arg)
{
	struct kvm_stats_header h;
	struct kvm_stats_desc *d = NULL;
	size_t dsize;
	uint32_t i;

	if (fd < 0 || pread(fd, &h, sizeof(h), 0) != sizeof(h))
		goto out;
	dsize = sizeof(*d) + h.name_size;
	d = malloc(dsize);
	for (i = 0; d && i < h.num_desc; i++) {
		uint64_t v;

		if (pread(fd, d, dsize, h.desc_offset + i * dsize) != (ssize_t)dsize ||
		    pread(fd, &v, sizeof(v), h.data_offset + d->offset) != sizeof(v) ||
		    fn(d->name, v, arg))
			break;
	}
out:
	free(d);
}

static bool print_stat(const char *name, uint64_t v, void *f)
{
	if (v)
		fprintf(f, " %s=%lu", name, v);
	return false;
}

static void vcpu_dump_stats(struct vcpu *vcpu, FILE *f)
{
	int fd = vcpu_stats_fd(vcpu);

	fprintf(f, "# vcpu %d: stats:", vcpu->id);
	stats_walk(fd, print_stat, f);
	fputc('\n', f);
	if (fd >= 0)
		close(fd);
}

struct stat_query {
	const char *name;
	uint64_t v;
};

static bool find_stat(const char *name, uint64_t v, void *arg)
{
	struct stat_query *q = arg;

	if (strcmp(name, q->name))
		return false;
	q->v = v;
	return true;
}

int vcpu_stats_fd(struct vcpu *vcpu)
{
	return ioctl(vcpu->fd, KVM_GET_STATS_FD, NULL);
}

uint64_t stats_read(int fd, const char *name)
{
	struct stat_query q = { .name = name };

	stats_walk(fd, find_stat, &q);
	return q.v;
}

void vcpu_dump(struct vcpu *vcpu, FILE *f)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int i;

	vcpu_get_regs(vcpu, &regs);
	vcpu_get_sregs(vcpu, &sregs);
	fprintf(f, "# vcpu %d: rip 0x%llx rsp 0x%llx rflags 0x%llx rax 0x%llx rdi 0x%llx\n",
		vcpu->id, regs.rip, regs.rsp, regs.rflags, regs.rax, regs.rdi);
	fprintf(f, "# vcpu %d: cr0 0x%llx cr2 0x%llx cr3 0x%llx cr4 0x%llx efer 0x%llx\n",
		vcpu->id, sregs.cr0, sregs.cr2, sregs.cr3, sregs.cr4, sregs.efer);
	if (regs.rip >= 0x400000 && regs.rip < VMM_MAIN_SIZE - 16) {
		const uint8_t *code = vm_gpa2hva(vcpu->vm, regs.rip);

		fprintf(f, "# vcpu %d: code at rip:", vcpu->id);
		for (i = 0; i < 16; i++)
			fprintf(f, " %02x", code[i]);
		fputc('\n', f);
	}
	vcpu_dump_stats(vcpu, f);
}
