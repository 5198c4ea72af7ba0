// SPDX-License-Identifier: GPL-2.0
/*
 * The control plane: a VMM registers its VM with KVM_FT_REGISTER (every
 * field validated), administrators see and set it through the generic
 * netlink family with ftnl, and the kernel refuses what it must (unknown
 * VM, out-of-range values, callers without CAP_NET_ADMIN) whether or not
 * the request came through ftnl.
 */
#include <errno.h>
#include <linux/kvm_ft.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crc32c.h"
#include "pair.h"
#include "run.h"
#include "test.h"
#include "vmm.h"

#define MiB (1UL << 20)

static int ft_register(struct vm *vm, const char *name, uint32_t role, uint32_t flags)
{
	struct kvm_ft_register r = { .role = role, .flags = flags };

	memcpy(r.name, name, strnlen(name, sizeof(r.name)));
	return ioctl(vm->fd, KVM_FT_REGISTER, &r) ? errno : 0;
}

FIXTURE(ctl) {
	struct vm *a, *b;
	char out[4096];
};

FIXTURE_SETUP(ctl)
{
	ASSERT_NE(NULL, getenv("CUJU_FTNL")) TH_LOG("run by the test runner");
	self->a = vm_create();
	vm_add_slot(self->a, 1, VMM_TEST_GPA, 4 * MiB, 0);
	vcpu_add(self->a, 0, NULL, 0, 0);
	self->b = vm_create();
}

FIXTURE_TEARDOWN(ctl)
{
	vm_destroy(self->a);
	vm_destroy(self->b);
}

TEST_F(ctl, register_validated)
{
	struct kvm_ft_register r = { .name = "ok", .role = KVM_FT_ROLE_PRIMARY };
	char long_name[KVM_FT_NAME_LEN];

	memset(long_name, 'x', sizeof(long_name));	/* no room for the NUL */
	EXPECT_EQ(EINVAL, ft_register(self->a, "", KVM_FT_ROLE_PRIMARY, 0));
	EXPECT_EQ(EINVAL, ft_register(self->a, "bad name", KVM_FT_ROLE_PRIMARY, 0));
	EXPECT_EQ(EINVAL, ft_register(self->a, "a/b", KVM_FT_ROLE_PRIMARY, 0));
	EXPECT_EQ(EINVAL, ft_register(self->a, long_name, KVM_FT_ROLE_PRIMARY, 0));
	EXPECT_EQ(EINVAL, ft_register(self->a, "vm", 0, 0));
	EXPECT_EQ(EINVAL, ft_register(self->a, "vm", 3, 0));
	EXPECT_EQ(EINVAL, ft_register(self->a, "vm", KVM_FT_ROLE_PRIMARY, 1U << 31));
	r.reserved[3] = 1;
	EXPECT_EQ(-1, ioctl(self->a->fd, KVM_FT_REGISTER, &r));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->a->fd, KVM_FT_REGISTER, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	/* Another ioctl of our type, unknown: like any unknown ioctl. */
	EXPECT_EQ(-1, ioctl(self->a->fd, _IO(KVM_FT_IO, 0x7f)));
	EXPECT_EQ(ENOTTY, errno);

	ASSERT_EQ(0, ft_register(self->a, "Vm-1.a_b", KVM_FT_ROLE_PRIMARY,
				 KVM_FT_F_NO_DEVICE_STATE));
	EXPECT_EQ(EBUSY, ft_register(self->a, "other", KVM_FT_ROLE_PRIMARY, 0));
	EXPECT_EQ(EEXIST, ft_register(self->b, "Vm-1.a_b", KVM_FT_ROLE_BACKUP, 0));
	ASSERT_EQ(0, ioctl(self->a->fd, KVM_FT_UNREGISTER));
	EXPECT_EQ(-1, ioctl(self->a->fd, KVM_FT_UNREGISTER));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(0, ft_register(self->b, "Vm-1.a_b", KVM_FT_ROLE_BACKUP, 0));
}

/*
 * Pairing a VM the engine cannot carry is refused before anything is
 * sent, with the kernel's reason: memory without dirty logging, a vCPU
 * that exposes nested virtualisation (SVM) to its guest.
 */
TEST_F(ctl, pair_refused_with_reason)
{
	struct vm *vm = vm_create_with(KVM_MEM_LOG_DIRTY_PAGES);
	struct vcpu *vcpu = vcpu_add(vm, 0, NULL, 0, 0);

	ASSERT_EQ(0, ft_register(self->a, "ctl-nolog", KVM_FT_ROLE_PRIMARY,
				 KVM_FT_F_NO_DEVICE_STATE));
	EXPECT_EQ(1, FTNL(self->out, "pair", "ctl-nolog", "127.0.0.1", "7999", TEST_KEY));
	EXPECT_NE(NULL, strstr(self->out, "does not log dirty pages")) TH_LOG("%s", self->out);

	vm_cpuid_set_bit(vm, 0x80000001, 2, 2, true);		/* SVM */
	vcpu_set_cpuid(vcpu);
	ASSERT_EQ(0, ft_register(vm, "ctl-nested", KVM_FT_ROLE_PRIMARY, KVM_FT_F_NO_DEVICE_STATE));
	EXPECT_EQ(1, FTNL(self->out, "pair", "ctl-nested", "127.0.0.1", "7999", TEST_KEY));
	EXPECT_NE(NULL, strstr(self->out, "nested virtualisation")) TH_LOG("%s", self->out);
	vm_cpuid_set_bit(vm, 0x80000001, 2, 2, false);
	vcpu_set_cpuid(vcpu);
	EXPECT_EQ(0, FTNL(self->out, "pair", "ctl-nested", "127.0.0.1", "7999", TEST_KEY)) TH_LOG("%s", self->out);
	EXPECT_EQ(0, FTNL(self->out, "stop", "ctl-nested")) TH_LOG("%s", self->out);
	vm_destroy(vm);
}

/*
 * A VM is owned by the uid that registered it (any user of /dev/kvm can
 * register a name): ftnl show names the owner, and another user's VM is
 * linked only when the administrator confirms whose it is.
 */
TEST_F(ctl, names_are_owned)
{
	/* Only this thread's effective uid: the VM's ioctls need our mm. */
	ASSERT_EQ(0, syscall(SYS_setresuid, -1, 65534, -1));
	EXPECT_EQ(0, ft_register(self->b, "ctl-owned", KVM_FT_ROLE_BACKUP, KVM_FT_F_NO_DEVICE_STATE));
	ASSERT_EQ(0, syscall(SYS_setresuid, -1, 0, -1));
	ASSERT_EQ(0, FTNL(self->out, "show", "ctl-owned"));
	EXPECT_NE(NULL, strstr(self->out, "(uid 65534)")) TH_LOG("%s", self->out);
	ASSERT_EQ(0, FTNL(self->out, "-j", "show", "ctl-owned"));
	EXPECT_NE(NULL, strstr(self->out, "\"owner_uid\":65534,")) TH_LOG("%s", self->out);
	EXPECT_EQ(4, FTNL(self->out, "listen", "ctl-owned", "127.0.0.1", "7998", TEST_KEY));
	EXPECT_NE(NULL, strstr(self->out, "registered by another user")) TH_LOG("%s", self->out);
	EXPECT_EQ(4, FTNL(self->out, "listen", "ctl-owned", "127.0.0.1", "7998", "owner", "0", TEST_KEY));
	EXPECT_EQ(2, FTNL(self->out, "listen", "ctl-owned", "127.0.0.1", "7998", "uid", "65534", TEST_KEY));
	EXPECT_EQ(0, FTNL(self->out, "listen", "ctl-owned", "127.0.0.1", "7998", "owner", "65534", TEST_KEY))
		TH_LOG("%s", self->out);
	EXPECT_EQ(0, FTNL(self->out, "stop", "ctl-owned")) TH_LOG("%s", self->out);
}

/* @text into a new file of @mode under TMPDIR; its path (static). */
static const char *temp_file(const char *name, const char *text, mode_t mode)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", getenv("TMPDIR") ?: "/tmp", name);
	unlink(path);
	f = fopen(path, "w");
	if (!f)
		return "/nonexistent";
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
	return path;
}

/*
 * A link needs a key, or the administrator's explicit "insecure"; a key
 * comes from a file (ftnl genkey makes one) and never comes back out:
 * show gives its fingerprint.
 */
TEST_F(ctl, keys_asked_for_and_never_shown)
{
	char key[80], again[80];
	const char *file;

	ASSERT_EQ(0, ft_register(self->b, "ctl-key", KVM_FT_ROLE_BACKUP, KVM_FT_F_NO_DEVICE_STATE));
	EXPECT_EQ(1, FTNL(self->out, "listen", "ctl-key", "127.0.0.1", "7995"));
	EXPECT_NE(NULL, strstr(self->out, "no key")) TH_LOG("%s", self->out);
	ASSERT_EQ(0, FTNL(self->out, "show", "ctl-key"));
	EXPECT_NE(NULL, strstr(self->out, ", no key yet")) TH_LOG("%s", self->out);

	ASSERT_EQ(0, FTNL(key, "genkey"));
	ASSERT_EQ(65, strlen(key)) TH_LOG("%s", key);
	EXPECT_EQ(64, strspn(key, "0123456789abcdef"));
	ASSERT_EQ(0, FTNL(again, "genkey"));
	EXPECT_NE(0, strcmp(key, again));

	file = temp_file("ctl-short.key", "0123456789abcdef\n", 0600);
	EXPECT_EQ(2, FTNL(self->out, "listen", "ctl-key", "127.0.0.1", "7995", "key", file));
	EXPECT_NE(NULL, strstr(self->out, "expected 64 hex digits")) TH_LOG("%s", self->out);
	file = temp_file("ctl.key", key, 0644);
	EXPECT_EQ(1, FTNL(self->out, "listen", "ctl-key", "127.0.0.1", "7995", "key", file,
			  "insecure"));
	EXPECT_NE(NULL, strstr(self->out, "not both")) TH_LOG("%s", self->out);

	/* Set apart from a listen, it holds for the next ones; a readable file is warned of. */
	EXPECT_EQ(0, FTNL(self->out, "set", "ctl-key", "key", file)) TH_LOG("%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, "accessible to others")) TH_LOG("%s", self->out);
	ASSERT_EQ(0, FTNL(self->out, "show", "ctl-key"));
	EXPECT_NE(NULL, strstr(self->out, ", key ")) TH_LOG("%s", self->out);
	key[64] = 0;
	EXPECT_EQ(NULL, strstr(self->out, key)) TH_LOG("%s", self->out);
	ASSERT_EQ(0, FTNL(self->out, "-j", "show", "ctl-key"));
	EXPECT_NE(NULL, strstr(self->out, "\"key_fpr\":\"")) TH_LOG("%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, "\"insecure\":false")) TH_LOG("%s", self->out);
	EXPECT_EQ(NULL, strstr(self->out, key)) TH_LOG("%s", self->out);
	EXPECT_EQ(0, FTNL(self->out, "listen", "ctl-key", "127.0.0.1", "7995")) TH_LOG("%s", self->out);
	EXPECT_EQ(0, FTNL(self->out, "stop", "ctl-key")) TH_LOG("%s", self->out);

	/* Insecure drops the key, and says so. */
	EXPECT_EQ(0, FTNL(self->out, "set", "ctl-key", "insecure")) TH_LOG("%s", self->out);
	ASSERT_EQ(0, FTNL(self->out, "-j", "show", "ctl-key"));
	EXPECT_NE(NULL, strstr(self->out, "\"key_fpr\":null,\"insecure\":true")) TH_LOG("%s", self->out);
	EXPECT_EQ(0, FTNL(self->out, "listen", "ctl-key", "127.0.0.1", "7995")) TH_LOG("%s", self->out);
	EXPECT_EQ(0, FTNL(self->out, "stop", "ctl-key")) TH_LOG("%s", self->out);
}

/*
 * While a VM is paired or listens, its vCPU count is fixed: a vCPU made
 * then would run outside every snapshot (primary) or before a takeover
 * (backup).  KVM_CREATE_VCPU says EBUSY until the VM is stopped.
 */
TEST_F(ctl, vcpus_fixed_while_linked)
{
	struct vm *vm = vm_create_with(KVM_MEM_LOG_DIRTY_PAGES);
	int fd;

	vcpu_add(vm, 0, NULL, 0, 0);
	vcpu_add(self->b, 0, NULL, 0, 0);
	ASSERT_EQ(0, ft_register(vm, "ctl-fixed-p", KVM_FT_ROLE_PRIMARY, KVM_FT_F_NO_DEVICE_STATE));
	ASSERT_EQ(0, ft_register(self->b, "ctl-fixed-b", KVM_FT_ROLE_BACKUP, KVM_FT_F_NO_DEVICE_STATE));
	ASSERT_EQ(0, FTNL(self->out, "listen", "ctl-fixed-b", "127.0.0.1", "7997", TEST_KEY)) TH_LOG("%s", self->out);
	/* Nobody listens at 7996: the primary stays connecting, and paired. */
	ASSERT_EQ(0, FTNL(self->out, "pair", "ctl-fixed-p", "127.0.0.1", "7996", TEST_KEY)) TH_LOG("%s", self->out);
	EXPECT_EQ(-1, ioctl(self->b->fd, KVM_CREATE_VCPU, 1));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(-1, ioctl(vm->fd, KVM_CREATE_VCPU, 1));
	EXPECT_EQ(EBUSY, errno);

	EXPECT_EQ(0, FTNL(self->out, "stop", "ctl-fixed-p")) TH_LOG("%s", self->out);
	EXPECT_EQ(0, FTNL(self->out, "stop", "ctl-fixed-b")) TH_LOG("%s", self->out);
	fd = ioctl(vm->fd, KVM_CREATE_VCPU, 1);
	EXPECT_LE(0, fd) TH_LOG("errno %d", errno);
	close(fd);
	fd = ioctl(self->b->fd, KVM_CREATE_VCPU, 1);
	EXPECT_LE(0, fd) TH_LOG("errno %d", errno);
	close(fd);
	vm_destroy(vm);
}

/*
 * IPv6, on the test host's loopback: a primary pairs with a backup of the
 * same host at [::1], syncs and sends epochs; show gives the address as
 * an administrator writes it.  A link-local address is refused (it would
 * need an interface), and something that is no address by ftnl.
 */
TEST_F(ctl, ipv6_link)
{
	struct vm *p = vm_create_with(KVM_MEM_LOG_DIRTY_PAGES);
	struct vm *b = vm_create_with(KVM_MEM_LOG_DIRTY_PAGES);

	vcpu_add(p, 0, NULL, 0, 0);
	vcpu_add(b, 0, NULL, 0, 0);
	ASSERT_EQ(0, ft_register(p, "ctl-v6p", KVM_FT_ROLE_PRIMARY, KVM_FT_F_NO_DEVICE_STATE));
	ASSERT_EQ(0, ft_register(b, "ctl-v6b", KVM_FT_ROLE_BACKUP, KVM_FT_F_NO_DEVICE_STATE));
	EXPECT_EQ(1, FTNL(self->out, "listen", "ctl-v6b", "fe80::1", "7990", TEST_KEY));
	EXPECT_NE(NULL, strstr(self->out, "link-local")) TH_LOG("%s", self->out);
	EXPECT_EQ(2, FTNL(self->out, "listen", "ctl-v6b", "::1::2", "7990", TEST_KEY));
	EXPECT_NE(NULL, strstr(self->out, "not an IPv4 or IPv6 address")) TH_LOG("%s", self->out);

	ASSERT_EQ(0, FTNL(self->out, "listen", "ctl-v6b", "::1", "7990", TEST_KEY))
		TH_LOG("%s", self->out);
	ASSERT_EQ(0, FTNL(self->out, "pair", "ctl-v6p", "::1", "7990", TEST_KEY))
		TH_LOG("%s", self->out);
	/* The sync and an epoch after it, acknowledged over [::1]. */
	ASSERT_TRUE(ftnl_counter_reaches("ctl-v6p", "\"epochs\":", 2, 90)) TH_LOG("%s", ftnl_last());
	ASSERT_EQ(0, FTNL(self->out, "show", "ctl-v6p"));
	EXPECT_NE(NULL, strstr(self->out, "backup:    [::1]:7990 (VM ctl-v6b), key ")) TH_LOG("%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, "ctl-v6p: primary, protected")) TH_LOG("%s", self->out);
	ASSERT_EQ(0, FTNL(self->out, "-j", "show", "ctl-v6b"));
	EXPECT_NE(NULL, strstr(self->out, "\"addr\":\"::1\",\"port\":7990,")) TH_LOG("%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, "\"state\":\"receiving\"")) TH_LOG("%s", self->out);
	EXPECT_EQ(0, FTNL(self->out, "stop", "ctl-v6p")) TH_LOG("%s", self->out);
	EXPECT_EQ(0, FTNL(self->out, "stop", "ctl-v6b")) TH_LOG("%s", self->out);
	vm_destroy(p);
	vm_destroy(b);
}

TEST_F(ctl, list_and_show)
{
	char want[256];

	ASSERT_EQ(0, FTNL(self->out, "list"));
	EXPECT_NE(NULL, strstr(self->out, "no protected VMs")) TH_LOG("%s", self->out);

	ASSERT_EQ(0, ft_register(self->a, "ctl-a", KVM_FT_ROLE_PRIMARY, 0));
	ASSERT_EQ(0, ft_register(self->b, "ctl-b", KVM_FT_ROLE_BACKUP, 0));
	ASSERT_EQ(0, FTNL(self->out, "-j", "list"));
	snprintf(want, sizeof(want), "{\"name\":\"ctl-a\",\"role\":\"primary\",\"state\":\"idle\","
		 "\"epoch_us\":%u,\"vcpus\":1,\"mem_bytes\":%lu,\"vmm_pid\":%d,",
		 KVM_FT_EPOCH_US_DEFAULT, VMM_MAIN_SIZE + 4 * MiB, getpid());
	EXPECT_NE(NULL, strstr(self->out, want)) TH_LOG("%s\nwant %s", self->out, want);
	snprintf(want, sizeof(want), "{\"name\":\"ctl-b\",\"role\":\"backup\",\"state\":\"idle\","
		 "\"epoch_us\":%u,\"vcpus\":0,\"mem_bytes\":%lu,\"vmm_pid\":%d,",
		 KVM_FT_EPOCH_US_DEFAULT, VMM_MAIN_SIZE, getpid());
	EXPECT_NE(NULL, strstr(self->out, want)) TH_LOG("%s\nwant %s", self->out, want);

	ASSERT_EQ(0, FTNL(self->out, "list"));
	EXPECT_NE(NULL, strstr(self->out, "ctl-a")) TH_LOG("%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, "NAME")) TH_LOG("%s", self->out);
	ASSERT_EQ(0, FTNL(self->out, "show", "ctl-b"));
	EXPECT_NE(NULL, strstr(self->out, "ctl-b: backup, idle")) TH_LOG("%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, "  state:     idle\n")) TH_LOG("%s", self->out);
}

TEST_F(ctl, set_epoch)
{
	ASSERT_EQ(0, ft_register(self->a, "ctl-a", KVM_FT_ROLE_PRIMARY, 0));
	ASSERT_EQ(0, FTNL(self->out, "set", "ctl-a", "epoch-us", "5000"));
	ASSERT_EQ(0, FTNL(self->out, "-j", "show", "ctl-a"));
	EXPECT_NE(NULL, strstr(self->out, "\"epoch_us\":5000,")) TH_LOG("%s", self->out);
	/* Refused by ftnl before it asks the kernel. */
	EXPECT_EQ(2, FTNL(self->out, "set", "ctl-a", "epoch-us", "999"));
	EXPECT_EQ(2, FTNL(self->out, "set", "ctl-a", "epoch-us", "-5000"));
	EXPECT_EQ(2, FTNL(self->out, "set", "ctl-a", "epoch-us", "5000x"));
	EXPECT_EQ(2, FTNL(self->out, "set", "ctl-a", "epoch-ms", "5"));
	ASSERT_EQ(0, FTNL(self->out, "-j", "show", "ctl-a"));
	EXPECT_NE(NULL, strstr(self->out, "\"epoch_us\":5000,")) TH_LOG("%s", self->out);
}

TEST_F(ctl, sysfs_default_applies_at_registration)
{
	FILE *f = fopen(KVM_FT_SYSFS_DIR "/epoch_us", "w");

	ASSERT_NE(NULL, f);
	ASSERT_LT(0, fprintf(f, "7000\n"));
	ASSERT_EQ(0, fclose(f));
	ASSERT_EQ(0, ft_register(self->a, "ctl-a", KVM_FT_ROLE_PRIMARY, 0));
	f = fopen(KVM_FT_SYSFS_DIR "/epoch_us", "w");
	ASSERT_NE(NULL, f);
	fprintf(f, "%u\n", KVM_FT_EPOCH_US_DEFAULT);
	ASSERT_EQ(0, fclose(f));
	ASSERT_EQ(0, FTNL(self->out, "-j", "show", "ctl-a"));
	EXPECT_NE(NULL, strstr(self->out, "\"epoch_us\":7000,")) TH_LOG("%s", self->out);
}

TEST_F(ctl, errors_explained)
{
	ASSERT_EQ(0, ft_register(self->a, "ctl-a", KVM_FT_ROLE_PRIMARY, 0));
	EXPECT_EQ(5, FTNL(self->out, "show", "nope"));
	EXPECT_NE(NULL, strstr(self->out, "no protected VM named 'nope'")) TH_LOG("%s", self->out);
	EXPECT_EQ(5, FTNL(self->out, "set", "nope", "epoch-us", "5000"));
	EXPECT_NE(NULL, strstr(self->out, "no protected VM named 'nope'")) TH_LOG("%s", self->out);
	EXPECT_EQ(2, FTNL(self->out, "show", "bad name"));
	EXPECT_NE(NULL, strstr(self->out, "is not a VM name")) TH_LOG("%s", self->out);
	EXPECT_EQ(2, FTNL(self->out, "frobnicate"));
	EXPECT_NE(NULL, strstr(self->out, "unknown command")) TH_LOG("%s", self->out);
	EXPECT_EQ(2, FTNL(self->out, "show", "ctl-a", "ctl-b"));

	/* Without CAP_NET_ADMIN, every command is refused by the kernel. */
	EXPECT_EQ(4, FTNL_AS(65534, self->out, "list"));
	EXPECT_NE(NULL, strstr(self->out, "not permitted")) TH_LOG("%s", self->out);
	EXPECT_EQ(4, FTNL_AS(65534, self->out, "show", "ctl-a"));
	EXPECT_EQ(4, FTNL_AS(65534, self->out, "set", "ctl-a", "epoch-us", "5000"));
	EXPECT_NE(NULL, strstr(self->out, "not permitted")) TH_LOG("%s", self->out);
	EXPECT_EQ(4, FTNL_AS(65534, self->out, "monitor", "1"));
	EXPECT_NE(NULL, strstr(self->out, "not permitted")) TH_LOG("%s", self->out);
	EXPECT_EQ(4, FTNL_AS(65534, self->out, "pair", "ctl-a", "127.0.0.1", "7999"));
	EXPECT_NE(NULL, strstr(self->out, "not permitted")) TH_LOG("%s", self->out);
	EXPECT_EQ(4, FTNL_AS(65534, self->out, "listen", "ctl-a", "0.0.0.0", "7999"));
	EXPECT_NE(NULL, strstr(self->out, "not permitted")) TH_LOG("%s", self->out);
	EXPECT_EQ(4, FTNL_AS(65534, self->out, "start", "ctl-a"));
	EXPECT_NE(NULL, strstr(self->out, "not permitted")) TH_LOG("%s", self->out);
	EXPECT_EQ(4, FTNL_AS(65534, self->out, "stop", "ctl-a"));
	EXPECT_NE(NULL, strstr(self->out, "not permitted")) TH_LOG("%s", self->out);
	EXPECT_EQ(4, FTNL_AS(65534, self->out, "failover", "ctl-a"));
	EXPECT_NE(NULL, strstr(self->out, "not permitted")) TH_LOG("%s", self->out);
	EXPECT_EQ(5, FTNL(self->out, "start", "nope"));
	EXPECT_NE(NULL, strstr(self->out, "no protected VM named 'nope'")) TH_LOG("%s", self->out);
	EXPECT_EQ(2, FTNL(self->out, "start"));
	EXPECT_EQ(2, FTNL(self->out, "monitor", "count", "0"));
	EXPECT_EQ(2, FTNL(self->out, "monitor", "a", "b"));
	EXPECT_EQ(2, FTNL(self->out, "monitor", "bad name"));
	ASSERT_EQ(0, FTNL(self->out, "-j", "show", "ctl-a"));
	EXPECT_NE(NULL, strstr(self->out, "\"epoch_us\":10000,")) TH_LOG("%s", self->out);
}

/* @cmd straight to the kernel, past ftnl's own checks; the libnl error. */
static int raw_cmd(uint8_t cmd, const char *name, const uint32_t *epoch_us)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_msg *msg = nlmsg_alloc();
	int family, err;

	if (!sk || !msg || genl_connect(sk))
		return -1000;
	family = genl_ctrl_resolve(sk, KVM_FT_GENL_NAME);
	genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0, cmd, KVM_FT_GENL_VERSION);
	if (name)
		nla_put_string(msg, KVM_FT_A_VM_NAME, name);
	if (epoch_us)
		nla_put_u32(msg, KVM_FT_A_VM_EPOCH_US, *epoch_us);
	err = nl_send_sync(sk, msg);	/* frees msg; waits for the ACK */
	nl_socket_free(sk);
	return err;
}

static int raw_set(const char *name, const uint32_t *epoch_us)
{
	return raw_cmd(KVM_FT_CMD_SET_VM, name, epoch_us);
}

TEST_F(ctl, kernel_validates_netlink)
{
	static const uint32_t low = KVM_FT_EPOCH_US_MIN - 1, high = KVM_FT_EPOCH_US_MAX + 1;
	static const uint32_t good = 6000;
	char long_name[KVM_FT_NAME_LEN + 1];

	memset(long_name, 'x', KVM_FT_NAME_LEN);
	long_name[KVM_FT_NAME_LEN] = 0;
	ASSERT_EQ(0, ft_register(self->a, "ctl-a", KVM_FT_ROLE_PRIMARY, 0));
	EXPECT_EQ(-NLE_RANGE, raw_set("ctl-a", &low));
	EXPECT_EQ(-NLE_RANGE, raw_set("ctl-a", &high));
	EXPECT_EQ(-NLE_INVAL, raw_set(NULL, &good));
	EXPECT_EQ(-NLE_INVAL, raw_set(long_name, &good));	/* policy: too long */
	EXPECT_EQ(-NLE_OBJ_NOTFOUND, raw_set("nope", &good));
	/* Each command takes its own attributes only: STOP has no epoch length. */
	EXPECT_EQ(-NLE_INVAL, raw_cmd(KVM_FT_CMD_STOP, "ctl-a", &good));
	EXPECT_EQ(-NLE_INVAL, raw_cmd(KVM_FT_CMD_START, "ctl-a", &good));
	ASSERT_EQ(0, raw_set("ctl-a", &good));
	ASSERT_EQ(0, FTNL(self->out, "-j", "show", "ctl-a"));
	EXPECT_NE(NULL, strstr(self->out, "\"epoch_us\":6000,")) TH_LOG("%s", self->out);
}

TEST_F(ctl, destroyed_vm_leaves_registry)
{
	ASSERT_EQ(0, ft_register(self->b, "ctl-gone", KVM_FT_ROLE_BACKUP, 0));
	ASSERT_EQ(0, FTNL(self->out, "list"));
	ASSERT_NE(NULL, strstr(self->out, "ctl-gone"));
	vm_destroy(self->b);
	self->b = vm_create();
	ASSERT_EQ(0, FTNL(self->out, "list"));
	EXPECT_EQ(NULL, strstr(self->out, "ctl-gone")) TH_LOG("%s", self->out);
	/* The name is free again. */
	EXPECT_EQ(0, ft_register(self->b, "ctl-gone", KVM_FT_ROLE_BACKUP, 0));
}

static int checksum(struct vm *vm, uint64_t gpa, uint64_t size, uint32_t *crc)
{
	struct kvm_ft_checksum c = { .gpa = gpa, .size = size };

	if (ioctl(vm->fd, KVM_FT_CHECKSUM, &c))
		return errno;
	*crc = c.crc;
	return 0;
}

TEST_F(ctl, checksum_of_guest_memory)
{
	uint8_t *mem = vm_gpa2hva(self->a, VMM_TEST_GPA);
	struct kvm_ft_checksum c = { .gpa = VMM_TEST_GPA, .size = 4096, .reserved = 1 };
	uint32_t crc = 0, again = 0;
	size_t i;

	for (i = 0; i < 4 * MiB; i++)
		mem[i] = i * 7 + (i >> 12);
	ASSERT_EQ(0, checksum(self->a, VMM_TEST_GPA, 4 * MiB, &crc));
	EXPECT_EQ(~crc32c(~0u, mem, 4 * MiB), crc);
	mem[4 * MiB - 1] ^= 1;
	ASSERT_EQ(0, checksum(self->a, VMM_TEST_GPA, 4 * MiB, &again));
	EXPECT_NE(crc, again);
	EXPECT_EQ(~crc32c(~0u, mem, 4 * MiB), again);
	/* Across two memslots is fine when they touch: slot 0 alone here. */
	ASSERT_EQ(0, checksum(self->a, 0, VMM_MAIN_SIZE, &crc));
	EXPECT_EQ(~crc32c(~0u, vm_gpa2hva(self->a, 0), VMM_MAIN_SIZE), crc);

	EXPECT_EQ(EINVAL, checksum(self->a, VMM_TEST_GPA + 1, 4096, &crc));
	EXPECT_EQ(EINVAL, checksum(self->a, VMM_TEST_GPA, 4095, &crc));
	EXPECT_EQ(EINVAL, checksum(self->a, VMM_TEST_GPA, 0, &crc));
	EXPECT_EQ(EINVAL, checksum(self->a, VMM_TEST_GPA, 4 * MiB + 4096, &crc));
	EXPECT_EQ(EINVAL, checksum(self->a, VMM_MAIN_SIZE - 4096, 8192, &crc));
	EXPECT_EQ(EINVAL, checksum(self->a, ~0ULL & ~4095ULL, 8192, &crc));	/* wraps */
	EXPECT_EQ(-1, ioctl(self->a->fd, KVM_FT_CHECKSUM, &c));
	EXPECT_EQ(EINVAL, errno);
}

TEST_HARNESS_MAIN
