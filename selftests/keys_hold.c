// SPDX-License-Identifier: GPL-2.0
/*
 * keys_hold: a test host's helper, not a test.  host.sh starts it on a
 * test host with more than one CPU, after loading kvm.ko, and kills it
 * before unloading.
 *
 * KVM turns static keys on and off as the first VM, vCPU or LAPIC comes
 * and the last goes: preempt_notifier_key at every VM's creation and
 * destruction, kvm_has_noapic_vcpu for a vCPU without an in-kernel LAPIC,
 * apic_sw_disabled (deferred, from a workqueue) for a LAPIC not yet
 * enabled.  Each switch rewrites kernel text on every CPU (text_poke_bp:
 * an int3, then IPIs).  Under QEMU 7.2's multi-threaded TCG, a 2-CPU test
 * host has been seen to stop for good in the middle of one, both CPUs
 * executing the patched site in finish_task_switch() without progress
 * (a soft lockup, the RCU grace-period kthread starved), right after a
 * test VM was destroyed.  The tests create and destroy VMs all the time;
 * the emulator, not the kernel or the engine, is at fault.  Holding one
 * VM with an in-kernel LAPIC and a vCPU, and one without, keeps every
 * such key on for the host's life, so no test switches them.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

/* A VM with one vCPU, with or without the in-kernel irqchip; 0 or -1. */
static int hold_vm(int kvm, int irqchip)
{
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);

	if (vm < 0)
		return -1;
	if (irqchip && ioctl(vm, KVM_CREATE_IRQCHIP, 0))
		return -1;
	return ioctl(vm, KVM_CREATE_VCPU, 0) < 0 ? -1 : 0;
}

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR);

	if (kvm < 0 || hold_vm(kvm, 1) || hold_vm(kvm, 0)) {
		perror("keys_hold: cannot create the VMs");
		return 1;
	}
	printf("# cuju: keys_hold: KVM's static keys held on\n");
	fflush(stdout);
	close(open("/run/keys_hold.ready", O_WRONLY | O_CREAT, 0644));	/* host.sh waits for it */
	for (;;)
		pause();
}
