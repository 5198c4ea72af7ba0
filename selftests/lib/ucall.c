// SPDX-License-Identifier: GPL-2.0
/* The host side of ucalls (see ucall.h). */
#include <errno.h>
#include <string.h>

#include "ucall.h"
#include "vmm.h"

uint64_t vcpu_run_ucall(struct vcpu *vcpu, struct ucall *uc)
{
	return vcpu_get_ucall(vcpu, vcpu_run(vcpu), uc);
}

uint64_t vcpu_get_ucall(struct vcpu *vcpu, uint32_t reason, struct ucall *uc)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_regs regs;

	vcpu_get_regs(vcpu, &regs);
	if (reason != KVM_EXIT_IO || run->io.port != UCALL_PORT ||
	    run->io.direction != KVM_EXIT_IO_IN)
		vcpu_dump(vcpu, stderr);
	errno = 0;
	VMM_ASSERT(reason == KVM_EXIT_IO && run->io.port == UCALL_PORT &&
		   run->io.direction == KVM_EXIT_IO_IN,
		   "vcpu %d: unexpected exit %u (io port 0x%x)", vcpu->id, reason,
		   reason == KVM_EXIT_IO ? run->io.port : 0);
	memcpy(uc, vm_gpa2hva(vcpu->vm, regs.rdi), sizeof(*uc));
	/* Strings of a guest assertion live in the shared binary image. */
	VMM_ASSERT(uc->cmd != UCALL_ABORT, "guest assertion '%s' failed at %s:%lu",
		   (const char *)uc->args[1], (const char *)uc->args[2], uc->args[0]);
	VMM_ASSERT(uc->cmd != UCALL_EXCEPTION,
		   "guest exception: vector %lu, error code 0x%lx, at rip 0x%lx",
		   uc->args[0], uc->args[1], uc->args[2]);
	/*
	 * Finish the IN now, as QEMU does before it leaves a vCPU: a vCPU left
	 * mid-I/O holds up the epoch engine (kernel/epoch.c).
	 */
	vcpu_complete_io(vcpu);
	return uc->cmd;
}

static void *guest_thread_run(void *arg)
{
	struct guest_thread *g = arg;
	struct kvm_run *run = g->vcpu->run;
	uint32_t reason;

	for (;;) {
		reason = vcpu_run(g->vcpu);
		if (reason == KVM_EXIT_IO && run->io.port == UCALL_TICK_PORT)
			continue;
		if (reason != KVM_EXIT_IO || run->io.port != UCALL_ASK_PORT)
			break;
		*((uint8_t *)run + run->io.data_offset) = g->stop;
	}
	g->cmd = vcpu_get_ucall(g->vcpu, reason, &g->uc);
	return NULL;
}

void guest_thread_start(struct guest_thread *g, struct vcpu *vcpu)
{
	g->vcpu = vcpu;
	g->stop = false;
	VMM_ASSERT(!pthread_create(&g->thread, NULL, guest_thread_run, g), "pthread_create");
}

uint64_t guest_thread_stop(struct guest_thread *g)
{
	if (!g->vcpu)
		return 0;
	g->stop = true;
	pthread_join(g->thread, NULL);
	g->vcpu = NULL;
	return g->cmd;
}
