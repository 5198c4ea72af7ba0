// SPDX-License-Identifier: GPL-2.0
/*
 * What the QEMU patch refuses to protect, each refused by name once the
 * machine is built: QEMU exits with status 1 and says what to change, and
 * the engine never lists the VM.  Then the same machine without them
 * registers, and a clean exit (SIGTERM) unregisters it.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest.h"
#include "run.h"
#include "test.h"

#define VM	"qr"
#define HMP	"/run/qemu_refusal.hmp"

/*
 * QEMU for a primary VM with @extra options (NULL-ended, at most 8); its
 * exit status, its output in @out.
 */
static int qemu_refused(char *out, size_t len, const char *const *extra)
{
	/* Bounded: a QEMU that does not refuse stays paused (-S) for ever. */
	const char *argv[40] = {
		"timeout", "120", getenv("CUJU_QEMU"),
		"-machine", "q35,accel=kvm,smm=off", "-m", "64",
		"-nodefaults", "-no-user-config", "-display", "none", "-S",
		"-object", "cuju,id=ft,name=" VM ",role=primary",
	};
	int n = 14;

	while (*extra && n < 38)
		argv[n++] = *extra++;
	argv[n] = NULL;
	return run_capture(0, out, len, "timeout", argv);
}

FIXTURE(refuse) {
	char out[4096];
	char ftnl[4096];
};

FIXTURE_SETUP(refuse)
{
	ASSERT_NE(NULL, getenv("CUJU_QEMU"));
	ASSERT_EQ(0, access(getenv("CUJU_QEMU"), X_OK)) TH_LOG("make qemu builds it");
}

FIXTURE_TEARDOWN(refuse)
{
}

#define REFUSED(why, ...) do {								\
	EXPECT_EQ(1, qemu_refused(self->out, sizeof(self->out),			\
				  (const char *const[]){ __VA_ARGS__, NULL }));	\
	EXPECT_NE(NULL, strstr(self->out, why)) TH_LOG("%s", self->out);		\
	EXPECT_NE(0, FTNL(self->ftnl, "show", VM)) TH_LOG("listed: %s", self->ftnl);	\
} while (0)

TEST_F(refuse, display)
{
	REFUSED("-vga none", "-cpu", "host,-svm", "-vga", "std");
}

TEST_F(refuse, writable_disk)
{
	FILE *f = fopen("/run/qemu_refusal.img", "w");

	ASSERT_NE(NULL, f);
	ASSERT_EQ(0, ftruncate(fileno(f), 1 << 20));
	fclose(f);
	REFUSED("readonly=on", "-cpu", "host,-svm",
		"-drive", "file=/run/qemu_refusal.img,format=raw,if=virtio");
	unlink("/run/qemu_refusal.img");
}

TEST_F(refuse, disk_in_an_iothread)
{
	FILE *f = fopen("/run/qemu_refusal.img", "w");

	ASSERT_NE(NULL, f);
	ASSERT_EQ(0, ftruncate(fileno(f), 1 << 20));
	fclose(f);
	REFUSED("drop iothread=", "-cpu", "host,-svm", "-object", "iothread,id=io0",
		"-drive", "file=/run/qemu_refusal.img,format=raw,if=none,id=d0,readonly=on",
		"-device", "virtio-blk-pci,drive=d0,iothread=io0");
	unlink("/run/qemu_refusal.img");
}

TEST_F(refuse, nested_virtualization)
{
	REFUSED("-svm,-vmx", "-cpu", "host");
}

TEST_F(refuse, smm)
{
	REFUSED("smm=off", "-cpu", "host,-svm", "-machine", "smm=on");
}

TEST_F(refuse, packed_virtio_ring)
{
	REFUSED("packed=off", "-cpu", "host,-svm", "-netdev", "user,id=n0",
		"-device", "virtio-net-pci,netdev=n0,packed=on,romfile=");
}

/* The same machine without what was refused registers (and exits at once). */
TEST_F(refuse, fit_machine_registers)
{
	const char *argv[] = {
		"qemu-system-x86_64", "-machine", "q35,accel=kvm,smm=off", "-m", "64",
		"-cpu", "host,-svm", "-nodefaults", "-no-user-config", "-display", "none",
		"-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0,romfile=",
		"-S", "-object", "cuju,id=ft,name=" VM ",role=primary", NULL,
	};
	int fd;
	pid_t pid = run_start(0, &fd, getenv("CUJU_QEMU"), argv);

	ASSERT_LT(0, pid);
	EXPECT_TRUE(guest_registered(VM, 120)) TH_LOG("not registered");
	kill(pid, SIGTERM);		/* a clean exit: unregistered */
	run_finish(pid, fd, self->out, sizeof(self->out));
	EXPECT_NE(0, FTNL(self->ftnl, "show", VM)) TH_LOG("still listed: %s", self->ftnl);
}

/*
 * A registered VM's devices are fixed: device_add and device_del are
 * refused on its monitor, saying why, and the machine stays as it was.
 * The devices sit behind PCIe root ports, which take hot-plug (q35's
 * root bus does not): without the refusal, the device_add would succeed.
 */
TEST_F(refuse, hotplug)
{
	const char *argv[] = {
		"qemu-system-x86_64", "-machine", "q35,accel=kvm,smm=off", "-m", "64",
		"-cpu", "host,-svm", "-nodefaults", "-no-user-config", "-display", "none",
		"-device", "pcie-root-port,id=rp0,chassis=1,slot=1",
		"-device", "pcie-root-port,id=rp1,chassis=2,slot=2",
		"-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0,id=nic0,bus=rp1,romfile=",
		"-monitor", "unix:" HMP ",server=on,wait=off",
		"-S", "-object", "cuju,id=ft,name=" VM ",role=primary", NULL,
	};
	char answer[4096];
	int fd;
	pid_t pid = run_start(0, &fd, getenv("CUJU_QEMU"), argv);

	ASSERT_LT(0, pid);
	EXPECT_TRUE(guest_registered(VM, 120)) TH_LOG("not registered");
	EXPECT_TRUE(guest_hmp(HMP, "device_add virtio-rng-pci,id=rng0,bus=rp0\n", answer,
				 sizeof(answer)));
	EXPECT_NE(NULL, strstr(answer, "devices are fixed")) TH_LOG("device_add: %s", answer);
	EXPECT_TRUE(guest_hmp(HMP, "device_del nic0\n", answer, sizeof(answer)));
	EXPECT_NE(NULL, strstr(answer, "devices are fixed")) TH_LOG("device_del: %s", answer);
	EXPECT_TRUE(guest_hmp(HMP, "qom-list /machine/peripheral\n", answer, sizeof(answer)));
	EXPECT_NE(NULL, strstr(answer, "nic0")) TH_LOG("removed: %s", answer);
	EXPECT_EQ(NULL, strstr(answer, "rng0")) TH_LOG("added: %s", answer);
	kill(pid, SIGTERM);
	run_finish(pid, fd, self->out, sizeof(self->out));
}

TEST_HARNESS_MAIN
