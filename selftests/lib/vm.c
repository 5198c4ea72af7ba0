// SPDX-License-Identifier: GPL-2.0
/*
 * VMs and their memory: create and destroy a VM, add memslots, translate
 * guest physical addresses, read the dirty log, load the test binary.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm.h"

void vmm_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fprintf(stderr, "# vmm: %s:%d: '%s' failed (errno %d: %s): ",
		file, line, cond, err, strerror(err));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static void vm_load_self(struct vm *vm);
void vmm_x86_setup_memory(struct vm *vm);

struct vm *vm_create(void)
{
	return vm_create_with(0);
}

struct vm *vm_create_with(uint32_t main_flags)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	int ret;

	VMM_ASSERT(vm, "out of memory");
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	VMM_ASSERT(vm->kvm_fd >= 0, "open /dev/kvm");
	ret = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	VMM_ASSERT(ret == KVM_API_VERSION, "KVM API version %d", ret);
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	VMM_ASSERT((long)vm->run_size > 0, "KVM_GET_VCPU_MMAP_SIZE");
	vm->fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	VMM_ASSERT(vm->fd >= 0, "KVM_CREATE_VM");

	vm_add_slot(vm, 0, 0, VMM_MAIN_SIZE, main_flags);
	vm_load_self(vm);
	vmm_x86_setup_memory(vm);
	return vm;
}

void vm_destroy(struct vm *vm)
{
	int i;

	for (i = 0; i < VMM_MAX_VCPUS; i++) {
		struct vcpu *vcpu = vm->vcpus[i];

		if (!vcpu)
			continue;
		munmap(vcpu->run, vm->run_size);
		close(vcpu->fd);
		free(vcpu);
	}
	close(vm->fd);
	for (i = 0; i < vm->nr_slots; i++)
		munmap(vm->slots[i].hva, vm->slots[i].size);
	close(vm->kvm_fd);
	free(vm->cpuid);
	free(vm);
}

void *vm_add_slot(struct vm *vm, uint32_t id, uint64_t gpa, uint64_t size,
		  uint32_t flags)
{
	struct vmm_slot *s = &vm->slots[vm->nr_slots];
	struct kvm_userspace_memory_region region;

	VMM_ASSERT(vm->nr_slots < VMM_MAX_SLOTS, "too many slots");
	VMM_ASSERT(!(gpa % VMM_PAGE_SIZE) && size && !(size % VMM_PAGE_SIZE),
		   "slot %u: unaligned gpa 0x%lx size 0x%lx", id, gpa, size);
	VMM_ASSERT(gpa + size <= VMM_MAPPED_SIZE, "slot %u beyond the page tables", id);

	s->hva = mmap(NULL, size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	VMM_ASSERT(s->hva != MAP_FAILED, "mmap %lu bytes", size);
	s->id = id;
	s->flags = flags;
	s->gpa = gpa;
	s->size = size;

	region = (struct kvm_userspace_memory_region) {
		.slot = id, .flags = flags, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = (uintptr_t)s->hva,
	};
	VMM_ASSERT(!ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region),
		   "KVM_SET_USER_MEMORY_REGION slot %u", id);
	vm->nr_slots++;
	return s->hva;
}

void *vm_gpa2hva(struct vm *vm, uint64_t gpa)
{
	int i;

	for (i = 0; i < vm->nr_slots; i++) {
		struct vmm_slot *s = &vm->slots[i];

		if (gpa >= s->gpa && gpa - s->gpa < s->size)
			return (char *)s->hva + (gpa - s->gpa);
	}
	vmm_fail(__FILE__, __LINE__, "slot found", "no slot holds gpa 0x%lx", gpa);
}

void vm_get_dirty_log(struct vm *vm, uint32_t id, uint64_t *bitmap)
{
	struct kvm_dirty_log log = { .slot = id, .dirty_bitmap = bitmap };

	VMM_ASSERT(!ioctl(vm->fd, KVM_GET_DIRTY_LOG, &log),
		   "KVM_GET_DIRTY_LOG slot %u", id);
}

/*
 * Copy the PT_LOAD segments of this very binary into slot 0 at their link
 * addresses (the binary is not position-independent), so guest code can be
 * called by its C name and the host can find a guest global by its address.
 */
static void vm_load_self(struct vm *vm)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int fd, i;

	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	VMM_ASSERT(fd >= 0, "open /proc/self/exe");
	VMM_ASSERT(pread(fd, &eh, sizeof(eh), 0) == sizeof(eh), "ELF header");
	VMM_ASSERT(!memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
		   eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_type == ET_EXEC,
		   "the test binary must be a non-PIE 64-bit ELF executable");

	for (i = 0; i < eh.e_phnum; i++) {
		off_t off = eh.e_phoff + (off_t)i * eh.e_phentsize;

		VMM_ASSERT(pread(fd, &ph, sizeof(ph), off) == sizeof(ph), "phdr %d", i);
		if (ph.p_type != PT_LOAD)
			continue;
		VMM_ASSERT(ph.p_vaddr >= VMM_STACK_BASE + VMM_MAX_VCPUS * VMM_STACK_SIZE &&
			   ph.p_vaddr + ph.p_memsz <= VMM_MAIN_SIZE &&
			   ph.p_filesz <= ph.p_memsz,
			   "segment 0x%lx+0x%lx does not fit guest memory",
			   ph.p_vaddr, ph.p_memsz);
		VMM_ASSERT(pread(fd, vm_gpa2hva(vm, ph.p_vaddr), ph.p_filesz,
				 ph.p_offset) == (ssize_t)ph.p_filesz,
			   "segment at 0x%lx", ph.p_vaddr);
	}
	close(fd);
}
