// SPDX-License-Identifier: GPL-2.0
/*
 * The primary's link to its backup.  A kernel thread connects (retrying
 * once a second while the backup does not answer), says HELLO with the VM's
 * shape, and then keeps the link alive: heartbeats while idle, the
 * backup's acknowledgements and heartbeats as proof of its life.  When the
 * backup is lost (an error, a bad frame, or silence beyond the failover
 * timeout), the VM runs on unprotected, and the kernel log says so once.
 */
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/wait.h>

#include "netlink.h"
#include "primary.h"
#include "sysfs.h"
#include "transfer.h"
#include "vm.h"
#include "wire.h"

#define HDR_LEN		sizeof(struct kvm_ft_wire_hdr)

struct kvm_ft_primary {
	struct kvm_ft_vm *vm;
	struct kvm_ft_link link;
	__be32 addr;
	u16 port;
};

static int send_hello(struct kvm_ft_primary *p)
{
	u8 frame[HDR_LEN + sizeof(struct kvm_ft_wire_hello)] = { 0 };
	u8 *hello = frame + HDR_LEN;

	kvm_ft_wire_put_le64(hello, kvm_ft_vm_mem_bytes(p->vm) >> PAGE_SHIFT);
	kvm_ft_wire_put_le32(hello + 8, kvm_ft_vm_nr_vcpus(p->vm));
	strscpy(hello + 16, p->vm->name, KVM_FT_NAME_LEN);
	kvm_ft_wire_put_hdr(frame, KVM_FT_WIRE_HELLO, 0, sizeof(struct kvm_ft_wire_hello));
	kvm_ft_wire_seal(frame, hello);
	return kvm_ft_link_send(&p->link, frame, sizeof(frame));
}

/* Take the backup's frames until the link fails; return why, as a kind. */
static int converse(struct kvm_ft_primary *p)
{
	struct kvm_ft_wire_msg m;
	u8 hdr[HDR_LEN];
	int ret;

	if (send_hello(p))
		return KVM_FT_WIRE_E_IO;
	for (;;) {
		ret = kvm_ft_link_recv(&p->link, hdr, HDR_LEN);
		if (ret)
			return ret == -ETIMEDOUT ? KVM_FT_WIRE_E_SILENCE :
			       ret == -ENODATA || ret == -EPIPE ? KVM_FT_WIRE_E_TRUNCATED :
			       KVM_FT_WIRE_E_IO;
		ret = kvm_ft_wire_decode(hdr, NULL, &m);
		if (ret == KVM_FT_WIRE_OK && m.len)
			ret = KVM_FT_WIRE_E_LEN;
		if (ret)
			return ret;
		/* A backup sends acknowledgements and heartbeats, nothing else. */
		if (m.type != KVM_FT_WIRE_ACK && m.type != KVM_FT_WIRE_HEARTBEAT)
			return KVM_FT_WIRE_E_ORDER;
		if (m.type == KVM_FT_WIRE_HEARTBEAT)
			atomic64_inc(&p->vm->stats.heartbeats);
	}
}

/* Connect, retrying once a second; false if told to stop meanwhile. */
static bool connect_backup(struct kvm_ft_primary *p)
{
	struct socket *sock;

	while (!READ_ONCE(p->link.stopping)) {
		if (!kvm_ft_sock_connect(p->addr, p->port,
					 READ_ONCE(kvm_ft_defaults.failover_timeout_ms), &sock)) {
			if (kvm_ft_link_attach(&p->link, sock))
				return true;
			sock_release(sock);
			return false;
		}
		msleep_interruptible(1000);
	}
	return false;
}

static int primary_thread(void *arg)
{
	struct kvm_ft_primary *p = arg;
	struct kvm_ft_vm *vm = p->vm;
	int why;

	if (connect_backup(p)) {
		WRITE_ONCE(vm->state, KVM_FT_STATE_CONNECTED);
		pr_info("%s: linked to the backup at %pI4:%u\n", vm->name, &p->addr, p->port);
		kvm_ft_netlink_event(vm, KVM_FT_EV_LINKED, 0);
		why = converse(p);
		kvm_ft_link_detach(&p->link);
		if (!READ_ONCE(p->link.stopping)) {
			atomic64_inc(&vm->stats.errors[why]);
			atomic64_inc(&vm->stats.peer_lost);
			WRITE_ONCE(vm->state, KVM_FT_STATE_UNPROTECTED);
			pr_warn("%s: backup lost (%s): running unprotected\n", vm->name,
				kvm_ft_wire_strerror(why));
			kvm_ft_netlink_event(vm, KVM_FT_EV_PEER_LOST, why);
		}
	}
	return kvm_ft_link_park();
}

int kvm_ft_primary_start(struct kvm_ft_vm *vm, __be32 addr, u16 port)
{
	struct kvm_ft_primary *p;

	p = kzalloc(sizeof(*p), GFP_KERNEL_ACCOUNT);
	if (!p)
		return -ENOMEM;
	p->vm = vm;
	p->addr = addr;
	p->port = port;
	kvm_ft_link_init(&p->link);
	WRITE_ONCE(vm->state, KVM_FT_STATE_CONNECTING);
	p->link.thread = kthread_run(primary_thread, p, "kvm_ft_tx/%s", vm->name);
	if (IS_ERR(p->link.thread)) {
		int ret = PTR_ERR(p->link.thread);

		WRITE_ONCE(vm->state, KVM_FT_STATE_IDLE);
		kfree(p);
		return ret;
	}
	vm->primary = p;
	return 0;
}

void kvm_ft_primary_stop(struct kvm_ft_vm *vm)
{
	struct kvm_ft_primary *p = vm->primary;

	if (!p)
		return;
	kvm_ft_link_stop(&p->link, NULL);
	vm->primary = NULL;
	kfree(p);
	WRITE_ONCE(vm->state, KVM_FT_STATE_IDLE);
}
