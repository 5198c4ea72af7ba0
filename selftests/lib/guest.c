// SPDX-License-Identifier: GPL-2.0
/* The QEMU tests' guest under the patched QEMU: include/guest.h. */
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"
#include "run.h"

static bool tracing;		/* KVM traced since guest_kvm_trace_on() */

#define GUEST_CMD	"/run/qemu_guest.cmd"	/* the guest's ttyS1 */

bool guest_tap_up(void)
{
	const char *bridge = getenv("CUJU_BRIDGE");
	char out[1024] = "";
	bool ok;

	ok = !IP(out, "tuntap", "add", "dev", GUEST_TAP, "mode", "tap");
	/* A trio's host: the tap is a port of the client's segment. */
	if (ok && bridge)
		ok = !IP(out, "link", "set", GUEST_TAP, "master", bridge);
	else if (ok)
		ok = !IP(out, "addr", "add", GUEST_HOST_IP "/24", "dev", GUEST_TAP);
	ok = ok && !IP(out, "link", "set", GUEST_TAP, "up");
	if (!ok)
		printf("# the tap " GUEST_TAP ": ip says: %s\n", out);
	return ok;
}

void guest_tap_down(void)
{
	char out[1024];

	IP(out, "link", "del", GUEST_TAP);
}

pid_t guest_qemu_start(const char *vm, const char *role, const char *job, unsigned int mib,
		       const char *hmp, const char *const *extra, int *fd)
{
	const char *dir = getenv("CUJU_GUEST"), *qemu = getenv("CUJU_QEMU");
	char kernel[512], initrd[512], object[128], append[256], cpus[16], mem[16], mon[128];
	/*
	 * One vCPU, whatever the host has: on this testbed KVM under QEMU's
	 * TCG resets 2-vCPU guests while their dirty log is harvested, Cuju
	 * or not (make probe; Documentation/testing.rst).  On a 2-CPU host
	 * the vCPU and the engine's threads still run at once.
	 */
	long ncpus = 1;
	const char *argv[48] = {
		"qemu-system-x86_64", "-machine", "q35,accel=kvm,smm=off",
		"-cpu", "host,-svm", "-m", mem, "-smp", cpus,
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-kernel", kernel, "-initrd", initrd, "-append", append,
		"-serial", "file:" GUEST_SERIAL,
		"-chardev", "socket,id=cmd,path=" GUEST_CMD ",server=on,wait=off",
		"-serial", "chardev:cmd",
		"-netdev", "tap,id=n0,ifname=" GUEST_TAP ",script=no,downscript=no,vhost=off",
		"-device", "virtio-net-pci,netdev=n0,mac=52:54:00:78:00:02,romfile=",
		"-object", object,
	};
	int n = 0;

	if (!dir || !qemu || access(qemu, X_OK)) {
		printf("# no QEMU (%s) or guest (%s): make qemu, make guest\n", qemu, dir);
		return -1;
	}
	snprintf(kernel, sizeof(kernel), "%s/vmlinuz", dir);
	snprintf(initrd, sizeof(initrd), "%s/initramfs.cpio.gz", dir);
	snprintf(object, sizeof(object), "cuju,id=ft,name=%s,role=%s", vm, role);
	snprintf(append, sizeof(append), "console=ttyS0 panic=-1 sysrq_always_enabled %s cuju_ip="
		 GUEST_IP "/24",
		 job);
	snprintf(cpus, sizeof(cpus), "%ld", ncpus);
	snprintf(mem, sizeof(mem), "%u", mib);
	while (argv[n])
		n++;
	if (hmp) {
		snprintf(mon, sizeof(mon), "unix:%s,server=on,wait=off", hmp);
		argv[n++] = "-monitor";
		argv[n++] = mon;
	}
	while (extra && *extra && n < 46)
		argv[n++] = *extra++;
	argv[n] = NULL;
	unlink(GUEST_SERIAL);
	return run_start(0, fd, qemu, argv);
}

int guest_qemu_stop(pid_t pid, int fd, char *out, size_t len)
{
	siginfo_t si = { 0 };
	int i;

	kill(pid, SIGTERM);
	for (i = 0; i < 300; i++) {	/* exited? (reaped by run_finish) */
		if (!waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) && si.si_pid == pid)
			break;
		usleep(100 * 1000);
	}
	if (i == 300) {
		printf("# QEMU did not exit within 30 s of SIGTERM\n");
		guest_qemu_dump(pid);
		kill(pid, SIGKILL);
	}
	return run_finish(pid, fd, out, len);
}

bool guest_registered(const char *vm, int wait_s)
{
	time_t deadline = time(NULL) + wait_s;
	char out[4096];

	while (FTNL(out, "show", vm)) {
		if (time(NULL) >= deadline)
			return false;
		usleep(100 * 1000);
	}
	return true;
}

void guest_qemu_dump(pid_t pid)
{
	char cmd[256], out[16384];

	snprintf(cmd, sizeof(cmd), "%d", pid);
	if (run_capture(0, out, sizeof(out), "gdb", (const char *const[]){
			"gdb", "-p", cmd, "-batch", "-ex", "thread apply all bt", NULL }) >= 0)
		printf("# QEMU's threads:\n%s\n", out);
}

bool guest_host_setup(struct guest_host *h)
{
	h->role = getenv("CUJU_ROLE");
	h->peer = getenv("CUJU_PEER");
	h->qemu = -1;
	h->extra = NULL;
	if (!h->role || !h->peer) {
		printf("# run by the test runner, on two hosts\n");
		return false;
	}
	return guest_tap_up() && monitor_start(&h->mon);
}

int guest_trio_setup(struct guest_host *h)
{
	const char *role = getenv("CUJU_ROLE");

	h->role = role;
	h->qemu = -1;
	if (role && !strcmp(role, "c"))
		return 1;
	if (!getenv("CUJU_BRIDGE")) {
		printf("# run in a trio (selftests/testbed/run --trio)\n");
		return -1;
	}
	return guest_host_setup(h) ? 0 : -1;
}

/* The console's last @n lines, for a test's log: why a guest ended. */
static void console_tail(int n)
{
	char lines[16][160];
	FILE *f = fopen(GUEST_SERIAL, "r");
	int i = 0, k;

	if (!f)
		return;
	while (fgets(lines[i % 16], sizeof(lines[0]), f))
		i++;
	fclose(f);
	if (n > 16)
		n = 16;
	for (k = i > n ? i - n : 0; k < i; k++)
		printf("# console: %.*s\n", (int)strcspn(lines[k % 16], "\n"), lines[k % 16]);
}

void guest_host_teardown(struct guest_host *h, const char *vm)
{
	if (h->role && !strcmp(h->role, "c"))
		return;		/* a trio's client: no QEMU, no tap */
	siginfo_t si = { 0 };
	int status;

	if (h->qemu > 0) {
		/* QEMU leaves by itself when its guest resets (-no-reboot). */
		if (!waitid(P_PID, h->qemu, &si, WEXITED | WNOHANG | WNOWAIT) &&
		    si.si_pid == h->qemu) {
			printf("# QEMU had exited by itself (%s %d)\n",
			       si.si_code == CLD_EXITED ? "status" : "signal", si.si_status);
			if (tracing)	/* its guest reset: what KVM saw it do last */
				guest_kvm_trace_dump(300);
		}
		status = guest_qemu_stop(h->qemu, h->qemu_fd, h->out, sizeof(h->out));
		if (*h->out)
			printf("# QEMU said: %s\n", h->out);
		if (status)
			printf("# QEMU's exit status: %#x\n", status);
		h->qemu = -1;
	}
	console_tail(12);
	guest_tap_down();
	pair_teardown(&h->mon, vm);
}

bool guest_host_qemu(struct guest_host *h, const char *vm, const char *role,
		     const char *job, unsigned int mib, const char *hmp)
{
	time_t t0 = time(NULL);

	h->qemu = guest_qemu_start(vm, role, job, mib, hmp, h->extra, &h->qemu_fd);
	if (h->qemu < 0)
		return false;
	/* Registered once the machine is built: seconds in a test host. */
	if (!guest_registered(vm, 120)) {
		printf("# QEMU did not register %s within 120 s\n", vm);
		guest_qemu_dump(h->qemu);
		return false;
	}
	printf("# QEMU registered %s as %s after %ld s\n", vm, role, (long)(time(NULL) - t0));
	return true;
}

unsigned long long guest_chain(unsigned long long n)
{
	unsigned long long h = 1, i;

	for (i = 1; i <= n; i++)
		h = (h * 1103515245ULL + i) % 2147483648ULL;
	return h;
}

bool guest_line(const char *prefix, int wait_s, char *line, size_t len)
{
	time_t deadline = time(NULL) + wait_s;
	char buf[256];
	bool found;

	do {
		FILE *f = fopen(GUEST_SERIAL, "r");

		found = false;
		while (f && fgets(buf, sizeof(buf), f)) {
			/*
			 * Whole lines only: the UART writes the console a byte
			 * at a time, so its last line may still be coming.
			 */
			if (!strchr(buf, '\n'))
				continue;
			if (!strncmp(buf, prefix, strlen(prefix))) {
				snprintf(line, len, "%s", buf);
				found = true;
			}
		}
		if (f)
			fclose(f);
		if (found)
			return true;
		usleep(200 * 1000);
	} while (time(NULL) < deadline);
	return false;
}

/* The "total" of wl's last line on the console; 0 if none yet. */
static unsigned long long wl_total(void)
{
	unsigned long long total = 0;
	char line[256];
	const char *p;

	if (guest_line("WL seq=", 0, line, sizeof(line)) && (p = strstr(line, "total=")))
		total = strtoull(p + 6, NULL, 10);
	return total;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

double guest_wl_rate(int secs)
{
	unsigned long long t0 = wl_total(), first = 0, last = 0, now;
	double start = now_s(), t_first = 0, t_last = 0;

	while (now_s() - start < secs) {
		usleep(20 * 1000);
		now = wl_total();
		if (now == t0 || now == last)
			continue;
		if (!first)
			first = now, t_first = now_s();
		last = now, t_last = now_s();
	}
	return last > first ? (last - first) / (t_last - t_first) : 0;
}

unsigned long long guest_step(int wait_s)
{
	unsigned long long i = 0, h;
	char line[256];

	if (guest_line("guest: step ", wait_s, line, sizeof(line)))
		sscanf(line, "guest: step %llu %llu", &i, &h);
	return i;
}

/* A line to a unix socket, which QEMU reads before the hang-up. */
static bool say_to(const char *path, const char *line)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	bool ok;

	if (fd < 0)
		return false;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ok = !connect(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
	     write(fd, line, strlen(line)) == (ssize_t)strlen(line);
	sleep(1);
	close(fd);
	return ok;
}

bool guest_command(const char *cmd)
{
	return say_to(GUEST_CMD, cmd);
}

static const char *tracefs(void)
{
	return access("/sys/kernel/tracing/trace", R_OK) ? "/sys/kernel/debug/tracing" :
							   "/sys/kernel/tracing";
}

static void trace_write(const char *file, const char *what)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tracefs(), file);
	f = fopen(path, "w");
	if (!f || fputs(what, f) < 0 || fclose(f))
		printf("# cannot write '%s' to %s\n", what, path);
}

void guest_kvm_trace_on(void)
{
	static const char *const events[] = {
		"kvm/kvm_exit", "kvm/kvm_inj_exception", "kvm/kvm_userspace_exit",
		"kvm/kvm_msi_set_irq", "kvm/kvm_apic_ipi", "kvm/kvm_apic_accept_irq",
		"kvm/kvm_inj_virq", "kvm/kvm_ioapic_set_irq", "kvm/kvm_pio",
	};
	char file[128];
	size_t i;

	trace_write("buffer_size_kb", "8192");
	trace_write("trace", "");
	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		snprintf(file, sizeof(file), "events/%s/enable", events[i]);
		trace_write(file, "1");
	}
	trace_write("tracing_on", "1");
	tracing = true;
}

/*
 * Whether trace line @l, a kvm_exit, ends the platform's fault that
 * Documentation/testing.rst describes with the QEMU tests' one vCPU: an
 * exit for an NPF at some RIP, and its very next exit a SHUTDOWN at the
 * same RIP while a #PF is delivered: KVM had just mapped the frame, and
 * the emulated CPU walking the guest's page tables again found an entry
 * not present or with reserved bits, and then the handler's too.
 * @npf_rip: per vCPU, the RIP of its last exit if that was an NPF, else 0.
 */
#define TRACE_VCPUS	64
#define INTR_VALID	0x80000000u
#define PF_VECTOR	14

static bool npf_then_shutdown(const char *l, unsigned long long *npf_rip)
{
	unsigned long long rip;
	unsigned int vcpu, intr;
	char reason[32];
	const char *e = strstr(l, "kvm_exit: vcpu ");

	if (!e || sscanf(e, "kvm_exit: vcpu %u reason %31s rip %llx info1 %*x info2 %*x intr_info %x",
			 &vcpu, reason, &rip, &intr) != 4 || vcpu >= TRACE_VCPUS)
		return false;
	if (!strcmp(reason, "shutdown") && rip && npf_rip[vcpu] == rip &&
	    (intr & INTR_VALID) && (intr & 0xff) == PF_VECTOR)
		return true;
	npf_rip[vcpu] = !strcmp(reason, "npf") ? rip : 0;
	return false;
}

void guest_kvm_trace_dump(int lines)
{
	unsigned long long npf_rip[TRACE_VCPUS] = { 0 };
	char cmd[160], out[65536];
	bool platform = false;

	trace_write("tracing_on", "0");
	tracing = false;
	snprintf(cmd, sizeof(cmd), "tail -n %d %s/trace", lines, tracefs());
	if (run_capture(0, out, sizeof(out), "sh", (const char *const[]){
			"sh", "-c", cmd, NULL }) < 0)
		return;
	printf("# KVM's last %d events on this host:\n", lines);
	for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n")) {
		printf("# trace: %s\n", l);
		platform |= npf_then_shutdown(l, npf_rip);
	}
	/* The runner runs the session again, once (testing.rst). */
	if (platform)
		printf("# cuju: platform fault: the guest shut down delivering a #PF at the RIP of"
		       " the NPF KVM had just handled (QEMU's TCG walking nested page tables)\n");
}

/*
 * What the guest's kernel says of itself, for a test's log when the guest
 * stopped doing something (its disk's reader hangs, say): the requests a
 * disk has in flight, the interrupts of its virtio devices, its load, and
 * every CPU's and every blocked task's stack (SysRq l and w), all of it
 * printed by its shell and kernel on the console and copied here.
 */
void guest_diagnose(void)
{
	static const char *const cmd =
		"echo guest: diagnosis; cat /proc/loadavg;"
		" for d in /sys/block/vd*; do echo $d $(cat $d/inflight); done;"
		" grep -i -e virtio -e LOC -e RES -e CAL /proc/interrupts;"
		" echo l > /proc/sysrq-trigger; echo w > /proc/sysrq-trigger;"
		" sleep 2; echo guest: diagnosis done\n";
	char line[256], buf[256];
	bool on = false;
	FILE *f;
	int n = 0;

	if (!guest_command(cmd) || !guest_line("guest: diagnosis done", 30, line, sizeof(line))) {
		printf("# the guest's shell did not answer a diagnosis\n");
		return;
	}
	f = fopen(GUEST_SERIAL, "r");
	while (f && fgets(buf, sizeof(buf), f) && n < 400) {
		if (!strncmp(buf, "guest: diagnosis", 16))
			on = true;
		if (on) {
			printf("# guest: %.*s\n", (int)strcspn(buf, "\n"), buf);
			n++;
		}
	}
	if (f)
		fclose(f);
}

static long console_size(void)
{
	struct stat st;

	return stat(GUEST_SERIAL, &st) ? 0 : st.st_size;
}

void guest_sysrq(const char *hmp, const char *keys)
{
	long from = console_size(), last = from;
	char cmd[64], buf[256];
	int quiet = 0, n = 0;
	FILE *f;

	for (; *keys; keys++) {
		snprintf(cmd, sizeof(cmd), "sendkey alt-sysrq-%c\n", *keys);
		if (!guest_hmp(hmp, cmd, NULL, 0))
			printf("# HMP did not take '%.*s'\n", (int)strcspn(cmd, "\n"), cmd);
	}
	/* Done once the console has not grown for 2 s. */
	for (int s = 0; s < 30 && quiet < 2; s++) {
		sleep(1);
		quiet = console_size() == last ? quiet + 1 : 0;
		last = console_size();
	}
	f = fopen(GUEST_SERIAL, "r");
	if (!f || fseek(f, from, SEEK_SET)) {
		printf("# no console to read SysRq's answer from\n");
		if (f)
			fclose(f);
		return;
	}
	while (fgets(buf, sizeof(buf), f) && n++ < 600)
		printf("# sysrq: %.*s\n", (int)strcspn(buf, "\r\n"), buf);
	fclose(f);
}

/*
 * QEMU reads its monitor's socket only from its main loop, which a
 * capture stalls for seconds under TCG (a verify_memory epoch's CRC):
 * a command written and the socket closed a second later may be dropped
 * unread with the close.  So the socket stays open until QEMU has
 * answered: a second prompt (the first is its banner's), or its close
 * (quit).
 */
bool guest_hmp(const char *path, const char *cmd, char *out, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), prompts = 0;
	time_t deadline = time(NULL) + 60;
	char buf[4096], *p;
	size_t got = 0;
	ssize_t n;

	if (fd < 0)
		return false;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd)) {
		close(fd);
		return false;
	}
	buf[0] = 0;
	while (prompts < 2 && time(NULL) < deadline) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (poll(&pfd, 1, 1000) != 1)
			continue;
		n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			break;		/* closed: QEMU quit */
		got += n;
		buf[got] = 0;
		for (prompts = 0, p = buf; (p = strstr(p, "(qemu)")); p++)
			prompts++;
		if (got == sizeof(buf) - 1)
			got = 0;	/* a long answer: only prompts matter */
	}
	close(fd);
	if (out)
		snprintf(out, len, "%s", buf);
	return time(NULL) < deadline;
}

int guest_ping(int count, int wait_s, const char *size)
{
	char out[4096], c[16], w[16];
	const char *p;
	int sent = 0, got = 0;

	snprintf(c, sizeof(c), "%d", count);
	snprintf(w, sizeof(w), "%d", wait_s);
	run_capture(0, out, sizeof(out), "busybox", (const char *const[]){
		"busybox", "ping", "-A", "-q", "-c", c, "-w", w, "-s", size, GUEST_IP, NULL });
	p = strstr(out, "packets transmitted");
	if (p) {
		while (p > out && p[-1] != '\n')
			p--;
		sscanf(p, "%d packets transmitted, %d packets received", &sent, &got);
	}
	printf("# ping %s, %s bytes: %d sent, %d answered\n", GUEST_IP, size, sent, got);
	return got;
}

void guest_narrate(const char *fmt, ...)
{
	static time_t t0;
	va_list ap;

	if (!t0)
		t0 = time(NULL);
	printf("# ==> [%3ld s] ", (long)(time(NULL) - t0));
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

void guest_demo_show(const char *vm)
{
	const char *demo = getenv("CUJU_DEMO");
	char out[8192], *line, *save;

	if (!demo || !*demo || FTNL(out, "show", vm))
		return;
	printf("# $ ftnl show %s\n", vm);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		printf("#   %s\n", line);
	fflush(stdout);
}
