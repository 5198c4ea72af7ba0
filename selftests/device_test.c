// SPDX-License-Identifier: GPL-2.0
/*
 * Device state per epoch: the VMM's own devices travel with each epoch and
 * are handed to the backup's VMM when it takes over.
 *
 *   +------ test host a ------+           +------ test host b ------+
 *   | VM "dev" (backup)       |  epochs   | VM "dev" (primary)      |
 *   | waits on its eventfd,   |<----------| guest feeds a device in |
 *   | fetches the blob, goes  |  + blobs  | its VMM; the VMM hands  |
 *   | on with the device      |           | in the device per epoch |
 *   +-------------------------+           +-------------------------+
 *
 * The device is an accumulator in the VMM: each OUT from the guest folds a
 * value into it, each IN reads it back, and the guest keeps the same
 * accumulator in a register and compares the two every few rounds.  After
 * a failover they still agree only if the device state came from the same
 * instant as the vCPU's registers, and no OUT was lost or replayed.  The
 * device also writes the accumulator into a mailbox in guest memory (as a
 * device's DMA would) and marks it (KVM_FT_MARK_DIRTY), and verify_memory
 * checks the backup's memory at every epoch: a write the VMM did not mark
 * would be caught.  It writes the accumulator into a read-only memslot
 * too (as QEMU reloads a ROM, or a flash device in ROM mode is written),
 * marked the same way: read-only to the guest, replicated all the same.
 */
#include <linux/kvm_ft.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "pair.h"
#include "run.h"
#include "test.h"
#include "ucall.h"
#include "vmm.h"

#define PORT		"7905"
#define WAIT_S		120
#define FAILOVER_MS	5000
#define DEV_PORT	0x1010
#define DEV_MAGIC	0x3156454455a4ac55UL
#define CHECK_EVERY	16		/* rounds between the guest's reads */
#define LATE_FROM	20		/* the VMM leaves these requests unanswered */
#define LATE_TO		23
#define TIMEOUT_MS	200
#define HOLD_PORT	"7915"
#define HOLD_TIMEOUT_MS	10000		/* the timeout of a request held */
#define ROM_SLOT	2
#define ROM_GPA		VMM_TEST_GPA	/* a page read-only to the guest */
#define BUF_PORT	"7932"
#define BUF_SLOT	3
#define BUF_GPA		(VMM_TEST_GPA + (16UL << 20))
#define BUF_SIZE	(8UL << 20)	/* a buffer the VMM fills before the pairing */

/* ---- the guest ------------------------------------------------------------ */

static volatile uint64_t dev_stop;
static volatile uint64_t dev_progress;
static volatile uint64_t dev_mailbox __attribute__((aligned(4096)));	/* the device writes */

static uint32_t dev_value(uint64_t i)
{
	return (uint32_t)((i * 0x9e3779b97f4a7c15UL) >> 32);
}

static uint64_t dev_fold(uint64_t acc, uint32_t v)
{
	return acc * 31 + v;
}

static void guest_dev(void)
{
	uint64_t acc = 0, i;
	uint32_t got, v;

	for (i = 1; !dev_stop; i++) {
		v = dev_value(i);
		asm volatile("outl %%eax, %%dx" : : "a"(v), "d"(DEV_PORT) : "memory");
		acc = dev_fold(acc, v);
		if (!(i % CHECK_EVERY)) {
			asm volatile("inl %%dx, %%eax" : "=a"(got) : "d"(DEV_PORT) : "memory");
			GUEST_ASSERT(got == (uint32_t)acc);
			GUEST_ASSERT(dev_mailbox == acc);
			GUEST_ASSERT(*(volatile uint64_t *)ROM_GPA == acc);
		}
		dev_progress = i;
	}
	ucall(UCALL_SYNC, i - 1, acc, 0);
}

/* ---- the host: the device, its state, the VMM's threads ------------------- */

/*
 * A blob of 80 KiB, as QEMU's for a small guest (some 75 KiB), whose last
 * word changes with the device: after the first epoch it goes as its
 * differences (DEVICE_DELTA), that word's beyond what 16-bit offsets reach.
 */
struct dev_state {
	uint64_t magic;
	uint64_t acc;
	uint64_t outs;
	uint8_t filler[80 * 1024 - 32];
	uint64_t tail;			/* acc again */
};

struct device {
	pthread_mutex_t lock;
	uint64_t acc, outs;		/* under lock */
	struct vm *vm;
	volatile uint64_t *rom;		/* the VMM's mapping of ROM_GPA */
	int efd;
	uint64_t total;			/* the eventfd's running total */
	uint64_t puts, stale, late;
	int err;			/* errno of a PUT that failed otherwise */
	bool answer_all;		/* none late (LATE_FROM, LATE_TO) */
	volatile bool hold_next;	/* hold the next request until let_go */
	volatile bool held, let_go, held_done;
	int held_err;			/* errno of that PUT, or 0 */
	volatile bool stop;
	volatile bool buf_due;		/* BUF_GPA written, to mark at the next capture */
	pthread_t thread;
	struct dev_state blob;
};

/* An I/O exit to the device, from the vCPU thread. */
static void device_io(struct device *d, struct kvm_run *run)
{
	uint32_t *data = (uint32_t *)((uint8_t *)run + run->io.data_offset);

	VMM_ASSERT(run->io.size == 4 && run->io.count == 1, "device access %u x %u",
		   run->io.size, run->io.count);
	struct kvm_ft_range mailbox = {
		.gpa = (uint64_t)&dev_mailbox, .size = sizeof(dev_mailbox),
	};
	struct kvm_ft_range rom = { .gpa = ROM_GPA, .size = sizeof(*d->rom) };

	pthread_mutex_lock(&d->lock);
	if (run->io.direction == KVM_EXIT_IO_OUT) {
		d->acc = dev_fold(d->acc, *data);
		d->outs++;
		/* As a device's DMA: written behind KVM's log, so marked. */
		GUEST_VAR(d->vm, dev_mailbox) = d->acc;
		VMM_ASSERT(!ioctl(d->vm->fd, KVM_FT_MARK_DIRTY, &mailbox), "KVM_FT_MARK_DIRTY");
		*d->rom = d->acc;
		VMM_ASSERT(!ioctl(d->vm->fd, KVM_FT_MARK_DIRTY, &rom), "KVM_FT_MARK_DIRTY (ROM)");
	} else {
		*data = (uint32_t)d->acc;
	}
	pthread_mutex_unlock(&d->lock);
}

/* The VMM's answer to the kernel's requests for device state. */
static void *serve_device(void *arg)
{
	struct device *d = arg;
	struct pollfd pfd = { .fd = d->efd, .events = POLLIN };
	struct kvm_ft_device_blob b = { .addr = (uintptr_t)&d->blob, .len = sizeof(d->blob) };
	bool held;
	uint64_t n;
	int ret;

	while (!d->stop) {
		if (poll(&pfd, 1, 100) <= 0 || read(d->efd, &n, sizeof(n)) != sizeof(n))
			continue;
		d->total += n;
		if (!d->answer_all && d->total >= LATE_FROM && d->total < LATE_TO) {
			d->late++;		/* play a VMM too busy to answer */
			continue;
		}
		held = d->hold_next;
		if (held) {			/* a slow VMM, within its timeout */
			time_t deadline = time(NULL) + WAIT_S;

			d->hold_next = false;
			d->held = true;
			while (!d->let_go && time(NULL) < deadline)
				usleep(1000);
		}
		/*
		 * The lock held from the capture until the PUT returns, as
		 * Documentation/vmm-interface.rst asks: the vCPU runs again
		 * before that (its epoch's pages are copied after it is let
		 * go), and an OUT it makes meanwhile must wait to write the
		 * mailbox, or the write could land in this epoch's pages
		 * without being in its device state.
		 */
		pthread_mutex_lock(&d->lock);
		if (d->buf_due) {		/* as QEMU marks what it wrote */
			struct kvm_ft_range r = { .gpa = BUF_GPA, .size = BUF_SIZE };

			VMM_ASSERT(!ioctl(d->vm->fd, KVM_FT_MARK_DIRTY, &r), "KVM_FT_MARK_DIRTY");
			d->buf_due = false;
		}
		d->blob.magic = DEV_MAGIC;
		d->blob.acc = d->acc;
		d->blob.outs = d->outs;
		d->blob.tail = d->acc;
		b.seq = d->total;
		ret = ioctl(d->vm->fd, KVM_FT_DEVICE_PUT, &b);
		pthread_mutex_unlock(&d->lock);
		if (held) {
			d->held_err = ret ? errno : 0;
			d->held_done = true;
		}
		if (!ret)
			d->puts++;
		else if (errno == ESTALE)
			d->stale++;
		else
			d->err = errno;
	}
	return NULL;
}

struct vcpu_thread {
	struct vcpu *vcpu;
	struct device *dev;
	pthread_t thread;
	struct ucall uc;
	uint64_t cmd;
};

static void *run_vcpu(void *arg)
{
	struct vcpu_thread *t = arg;
	uint32_t reason;

	for (;;) {
		reason = vcpu_run(t->vcpu);
		if (reason != KVM_EXIT_IO || t->vcpu->run->io.port != DEV_PORT)
			break;
		device_io(t->dev, t->vcpu->run);
	}
	t->cmd = vcpu_get_ucall(t->vcpu, reason, &t->uc);
	return NULL;
}

FIXTURE(dev) {
	const char *role, *peer;
	struct vm *vm;
	struct vcpu_thread vt;
	struct device dev;
	struct monitor mon;
	char out[4096];
};

FIXTURE_SETUP(dev)
{
	struct kvm_ft_register r = { .name = "dev" };	/* with device state */
	struct kvm_ft_device_setup s = { .eventfd = -1 };

	self->role = getenv("CUJU_ROLE");
	self->peer = getenv("CUJU_PEER");
	ASSERT_NE(NULL, self->role) TH_LOG("run by the test runner on two hosts");
	knob_set("failover_timeout_ms", FAILOVER_MS);
	r.role = strcmp(self->role, "a") ? KVM_FT_ROLE_PRIMARY : KVM_FT_ROLE_BACKUP;
	self->vm = vm_create_with(KVM_MEM_LOG_DIRTY_PAGES);
	self->vt.vcpu = vcpu_add(self->vm, 0, guest_dev, 0, 0);
	self->vt.dev = &self->dev;
	pthread_mutex_init(&self->dev.lock, NULL);
	self->dev.vm = self->vm;
	self->dev.rom = vm_add_slot(self->vm, ROM_SLOT, ROM_GPA, VMM_PAGE_SIZE,
				    KVM_MEM_READONLY | KVM_MEM_LOG_DIRTY_PAGES);
	self->dev.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, self->dev.efd);
	ASSERT_EQ(0, ioctl(self->vm->fd, KVM_FT_REGISTER, &r));
	s.eventfd = self->dev.efd;
	if (r.role == KVM_FT_ROLE_PRIMARY) {
		s.timeout_ms = TIMEOUT_MS;
		s.max_len = sizeof(struct dev_state);
	}
	ASSERT_EQ(0, ioctl(self->vm->fd, KVM_FT_DEVICE_SETUP, &s));
	ASSERT_TRUE(monitor_start(&self->mon));
}

FIXTURE_TEARDOWN(dev)
{
	pair_teardown(&self->mon, "dev");
	vm_destroy(self->vm);
	close(self->dev.efd);
}

#define EVENT(want) ASSERT_TRUE(monitor_next(&self->mon, want, WAIT_S)) \
	TH_LOG("expected event '%s', got '%s'", want, self->mon.event)
#define COUNTER_REACHES(key, min) \
	ASSERT_TRUE(ftnl_counter_reaches("dev", key, min, WAIT_S)) TH_LOG("%s", ftnl_last())

/* The backup's VMM: wait for the takeover on the eventfd, as a VMM would. */
static bool wait_takeover(int efd)
{
	struct pollfd pfd = { .fd = efd, .events = POLLIN };
	uint64_t n;

	return poll(&pfd, 1, WAIT_S * 1000) == 1 && read(efd, &n, sizeof(n)) == sizeof(n);
}

static void backup_side(struct __test_metadata *_metadata, FIXTURE_DATA(dev) *self)
{
	struct kvm_ft_device_blob b = { .addr = (uintptr_t)&self->dev.blob, .len = 8 };
	uint64_t progress;

	errno = 0;
	EXPECT_EQ(-1, ioctl(self->vm->fd, KVM_FT_DEVICE_GET, &b));
	EXPECT_EQ(ENODATA, errno) TH_LOG("nothing to fetch before a takeover");
	ASSERT_EQ(0, FTNL(self->out, "listen", "dev", "0.0.0.0", PORT, TEST_KEY)) TH_LOG("%s", self->out);
	EVENT("dev: linked");
	ASSERT_TRUE(wait_takeover(self->dev.efd)) TH_LOG("no wake-up on the eventfd");

	/* Too little room: refused, with the size it needs. */
	EXPECT_EQ(-1, ioctl(self->vm->fd, KVM_FT_DEVICE_GET, &b));
	EXPECT_EQ(E2BIG, errno);
	ASSERT_EQ(sizeof(struct dev_state), b.len);
	ASSERT_EQ(0, ioctl(self->vm->fd, KVM_FT_DEVICE_GET, &b)) TH_LOG("errno %d", errno);
	EXPECT_LT(1, b.seq) TH_LOG("the checkpoint is an epoch after the sync");
	EXPECT_LE(b.seq - 1, ftnl_counter("dev", "\"verified\":")) TH_LOG("%s", ftnl_last());
	EXPECT_EQ(0, ftnl_last_counter("\"verify\":"));
	ASSERT_EQ(DEV_MAGIC, self->dev.blob.magic);
	EXPECT_EQ(self->dev.blob.acc, self->dev.blob.tail) TH_LOG("the blob's differences applied");
	ASSERT_TRUE(ftnl_counter_reaches("dev", "\"epochs\":", 1, WAIT_S));
	EXPECT_LT(0, ftnl_last_counter("\"device_deltas\":")) TH_LOG("%s", ftnl_last());
	EXPECT_NE(NULL, strstr(ftnl_last(), "\"state\":\"active\"")) TH_LOG("%s", ftnl_last());

	/* The devices as they were at the checkpoint, with its vCPU and memory. */
	EXPECT_EQ(self->dev.blob.acc, GUEST_VAR(self->vm, dev_mailbox));
	EXPECT_EQ(self->dev.blob.acc, *self->dev.rom) TH_LOG("the read-only slot");
	self->dev.acc = self->dev.blob.acc;
	self->dev.outs = self->dev.blob.outs;
	progress = GUEST_VAR(self->vm, dev_progress);
	EXPECT_LT(0, progress);
	EXPECT_TRUE(self->dev.outs == progress || self->dev.outs == progress + 1)
		TH_LOG("device saw %lu OUTs, guest memory says %lu rounds", self->dev.outs, progress);

	pthread_create(&self->vt.thread, NULL, run_vcpu, &self->vt);
	while (GUEST_VAR(self->vm, dev_progress) < progress + 10 * CHECK_EVERY)
		usleep(1000);
	GUEST_VAR(self->vm, dev_stop) = 1;
	pthread_join(self->vt.thread, NULL);
	ASSERT_EQ(UCALL_SYNC, self->vt.cmd);
	EXPECT_EQ(self->dev.acc, self->vt.uc.args[1]) TH_LOG("guest and device disagree");
	EXPECT_EQ(self->dev.outs, self->vt.uc.args[0]);
}

/*
 * The primary dies with its guest feeding the device; the backup's VMM is
 * woken by its eventfd, fetches the checkpoint's device state, and guest
 * and device go on in agreement.  Three requests go unanswered on the
 * way: those epochs go without device state, counted.
 */
TEST_F(dev, device_state_survives_failover)
{
	if (!strcmp(self->role, "a")) {
		backup_side(_metadata, self);
		return;
	}
	ASSERT_TRUE(knob_set("verify_memory", 1));
	pthread_create(&self->vt.thread, NULL, run_vcpu, &self->vt);
	pthread_create(&self->dev.thread, NULL, serve_device, &self->dev);
	ASSERT_EQ(0, FTNL(self->out, "pair", "dev", self->peer, PORT, TEST_KEY)) TH_LOG("%s", self->out);
	EVENT("dev: linked");
	EVENT("dev: synced");
	COUNTER_REACHES("\"device_timeouts\":", LATE_TO - LATE_FROM);
	COUNTER_REACHES("\"epochs\":", LATE_TO + 10);
	EXPECT_EQ(sizeof(struct dev_state), ftnl_last_counter("\"device_len\":"));
	EXPECT_EQ(LATE_TO - LATE_FROM, ftnl_last_counter("\"device_timeouts\":"))
		TH_LOG("%s", ftnl_last());
	/* Each blob after the first went as its differences, across the late ones too. */
	EXPECT_LE(LATE_FROM + 5, ftnl_last_counter("\"device_deltas\":")) TH_LOG("%s", ftnl_last());
	ASSERT_EQ(0, IP(self->out, "link", "set", "eth0", "down")) TH_LOG("%s", self->out);
	EVENT("dev: peer lost (silence)");

	GUEST_VAR(self->vm, dev_stop) = 1;
	pthread_join(self->vt.thread, NULL);
	self->dev.stop = true;
	pthread_join(self->dev.thread, NULL);
	ASSERT_EQ(UCALL_SYNC, self->vt.cmd);
	EXPECT_EQ(self->dev.acc, self->vt.uc.args[1]);
	EXPECT_EQ(0, self->dev.err) TH_LOG("a PUT failed: %s", strerror(self->dev.err));
	EXPECT_EQ(LATE_TO - LATE_FROM, self->dev.late);
	EXPECT_LT(LATE_TO, self->dev.puts);
	sleep(FAILOVER_MS / 1000 + 5);	/* a takes over before the link is back */
}

/*
 * What a VMM wrote into guest memory before the pairing and marks only at
 * its next capture (QEMU folds KVM's initial dirty log into its own bitmap
 * at boot, and marks it so) goes with the sync: the engine asks for the
 * marks before it reads memory, and epoch 2 does not send those pages a
 * second time.  Memory is verified at every epoch meanwhile.
 */
TEST_F(dev, marks_made_before_the_sync_go_with_it)
{
	void *buf = vm_add_slot(self->vm, BUF_SLOT, BUF_GPA, BUF_SIZE, KVM_MEM_LOG_DIRTY_PAGES);
	uint64_t sync, after;

	if (!strcmp(self->role, "a")) {
		ASSERT_EQ(0, FTNL(self->out, "listen", "dev", "0.0.0.0", BUF_PORT, TEST_KEY))
			TH_LOG("%s", self->out);
		EVENT("dev: linked");
		COUNTER_REACHES("\"verified\":", 5);
		EVENT("dev: peer lost (closed)");	/* b stopped: no takeover */
		return;
	}
	memset(buf, 0x5a, BUF_SIZE);		/* behind KVM's log, as a device's DMA */
	self->dev.buf_due = true;
	self->dev.answer_all = true;
	ASSERT_TRUE(knob_set("verify_memory", 1));
	pthread_create(&self->vt.thread, NULL, run_vcpu, &self->vt);
	pthread_create(&self->dev.thread, NULL, serve_device, &self->dev);
	ASSERT_EQ(0, FTNL(self->out, "pair", "dev", self->peer, BUF_PORT, TEST_KEY)) TH_LOG("%s", self->out);
	EVENT("dev: linked");
	EVENT("dev: synced");
	COUNTER_REACHES("\"epochs\":", 10);
	sync = ftnl_last_counter("\"sync_total\":");
	after = ftnl_last_counter("\"pages\":") - sync;
	EXPECT_FALSE(self->dev.buf_due) TH_LOG("no request for device state");
	EXPECT_LE(BUF_SIZE / VMM_PAGE_SIZE, sync) TH_LOG("the sync covers the buffer");
	EXPECT_GT(BUF_SIZE / VMM_PAGE_SIZE / 4, after)
		TH_LOG("%lu pages sent after the sync: the marks went again", after);
	EXPECT_EQ(0, FTNL(self->out, "stop", "dev")) TH_LOG("%s", self->out);

	GUEST_VAR(self->vm, dev_stop) = 1;
	pthread_join(self->vt.thread, NULL);
	self->dev.stop = true;
	pthread_join(self->dev.thread, NULL);
	ASSERT_EQ(UCALL_SYNC, self->vt.cmd);
	EXPECT_EQ(0, self->dev.err) TH_LOG("a PUT failed: %s", strerror(self->dev.err));
}

/* ---- the ioctls' refusals, on each host alone ---------------------------- */

static int setup(struct vm *vm, int efd, uint32_t timeout_ms, uint32_t max_len)
{
	struct kvm_ft_device_setup s = {
		.eventfd = efd, .timeout_ms = timeout_ms, .max_len = max_len,
	};

	return ioctl(vm->fd, KVM_FT_DEVICE_SETUP, &s) ? errno : 0;
}

static int put(struct vm *vm, uint32_t len, uint64_t seq)
{
	static char blob[64];
	struct kvm_ft_device_blob b = { .addr = (uintptr_t)blob, .len = len, .seq = seq };

	return ioctl(vm->fd, KVM_FT_DEVICE_PUT, &b) ? errno : 0;
}

static int mark(struct vm *vm, uint64_t gpa, uint64_t size)
{
	struct kvm_ft_range r = { .gpa = gpa, .size = size };

	return ioctl(vm->fd, KVM_FT_MARK_DIRTY, &r) ? errno : 0;
}

static int get(struct vm *vm)
{
	static char blob[64];
	struct kvm_ft_device_blob b = { .addr = (uintptr_t)blob, .len = sizeof(blob) };

	return ioctl(vm->fd, KVM_FT_DEVICE_GET, &b) ? errno : 0;
}

/*
 * A stop while the engine waits for the VMM's blob: the stop withdraws the
 * request and ends the link cleanly, without waiting for the VMM (its PUT,
 * once the stop is done, finds nothing to answer) nor for the timeout (no
 * epoch goes without its device state).
 */
TEST_F(dev, stop_while_a_blob_is_due)
{
	time_t deadline;

	if (!strcmp(self->role, "a")) {
		ASSERT_EQ(0, FTNL(self->out, "listen", "dev", "0.0.0.0", HOLD_PORT, TEST_KEY))
			TH_LOG("%s", self->out);
		EVENT("dev: linked");
		EVENT("dev: peer lost (closed)");	/* b stopped: no takeover */
		return;
	}
	ASSERT_EQ(0, setup(self->vm, self->dev.efd, HOLD_TIMEOUT_MS, sizeof(struct dev_state)));
	self->dev.answer_all = true;
	pthread_create(&self->vt.thread, NULL, run_vcpu, &self->vt);
	pthread_create(&self->dev.thread, NULL, serve_device, &self->dev);
	ASSERT_EQ(0, FTNL(self->out, "pair", "dev", self->peer, HOLD_PORT, TEST_KEY)) TH_LOG("%s", self->out);
	EVENT("dev: linked");
	EVENT("dev: synced");
	COUNTER_REACHES("\"epochs\":", 5);
	self->dev.hold_next = true;
	deadline = time(NULL) + WAIT_S;
	while (!self->dev.held && time(NULL) < deadline)
		usleep(1000);
	ASSERT_TRUE(self->dev.held) TH_LOG("no request for device state");
	EXPECT_EQ(0, FTNL(self->out, "stop", "dev")) TH_LOG("%s", self->out);
	self->dev.let_go = true;

	GUEST_VAR(self->vm, dev_stop) = 1;
	pthread_join(self->vt.thread, NULL);
	self->dev.stop = true;
	pthread_join(self->dev.thread, NULL);
	ASSERT_TRUE(self->dev.held_done);
	EXPECT_EQ(ESTALE, self->dev.held_err) TH_LOG("the late PUT: %s",
						      strerror(self->dev.held_err));
	EXPECT_EQ(0, ftnl_counter("dev", "\"device_timeouts\":")) TH_LOG("%s", ftnl_last());
	EXPECT_NE(NULL, strstr(ftnl_last(), "\"state\":\"idle\"")) TH_LOG("%s", ftnl_last());
	EXPECT_EQ(0, self->dev.err) TH_LOG("a PUT failed: %s", strerror(self->dev.err));
}

TEST(device_ioctl_refusals)
{
	struct kvm_ft_register r = { .name = "dioc", .role = KVM_FT_ROLE_PRIMARY };
	struct vm *vm = vm_create_with(KVM_MEM_LOG_DIRTY_PAGES);
	int efd = eventfd(0, EFD_CLOEXEC);
	char out[4096];

	vcpu_add(vm, 0, guest_dev, 0, 0);
	EXPECT_EQ(0, mark(vm, (uint64_t)&dev_mailbox, 8)) TH_LOG("any VM, registered or not");
	EXPECT_EQ(0, mark(vm, VMM_PAGE_SIZE - 1, 2)) TH_LOG("across two pages");
	EXPECT_EQ(EINVAL, mark(vm, 0, 0));
	EXPECT_EQ(EINVAL, mark(vm, VMM_MAIN_SIZE - 8, 16)) TH_LOG("past the end of memory");
	EXPECT_EQ(EINVAL, mark(vm, UINT64_MAX - 8, 16)) TH_LOG("wrapping");
	EXPECT_EQ(ENOENT, setup(vm, efd, 10, 64)) TH_LOG("not registered");
	ASSERT_EQ(0, ioctl(vm->fd, KVM_FT_REGISTER, &r));

	/* Not set up: pairing says what is missing, before it connects. */
	EXPECT_EQ(1, FTNL(out, "pair", "dioc", "127.0.0.1", "7999", TEST_KEY));
	EXPECT_NE(NULL, strstr(out, "KVM_FT_DEVICE_SETUP")) TH_LOG("%s", out);
	EXPECT_EQ(EINVAL, put(vm, 8, 1)) TH_LOG("nothing set up to put into");

	EXPECT_EQ(EINVAL, setup(vm, -1, 10, 64)) TH_LOG("a primary needs its eventfd");
	EXPECT_EQ(EINVAL, setup(vm, efd, 0, 64));
	EXPECT_EQ(EINVAL, setup(vm, efd, KVM_FT_DEVICE_TIMEOUT_MS_MAX + 1, 64));
	EXPECT_EQ(EINVAL, setup(vm, efd, 10, 0));
	EXPECT_EQ(EINVAL, setup(vm, efd, 10, KVM_FT_WIRE_MAX_DEVICE + 1));
	EXPECT_EQ(EBADF, setup(vm, 1000, 10, 64));
	EXPECT_EQ(EINVAL, setup(vm, vm->fd, 10, 64)) TH_LOG("not an eventfd");
	ASSERT_EQ(0, setup(vm, efd, 10, 64));

	EXPECT_EQ(ESTALE, put(vm, 8, 1)) TH_LOG("no epoch asks for it");
	EXPECT_EQ(EMSGSIZE, put(vm, 65, 1));
	EXPECT_EQ(EINVAL, put(vm, 0, 1));
	EXPECT_EQ(EINVAL, get(vm)) TH_LOG("a primary has nothing to fetch");
	ASSERT_EQ(0, ioctl(vm->fd, KVM_FT_UNREGISTER));

	/* A backup without device state: an eventfd at most. */
	r.role = KVM_FT_ROLE_BACKUP;
	r.flags = KVM_FT_F_NO_DEVICE_STATE;
	ASSERT_EQ(0, ioctl(vm->fd, KVM_FT_REGISTER, &r));
	EXPECT_EQ(EINVAL, setup(vm, efd, 0, 64));
	EXPECT_EQ(EINVAL, setup(vm, efd, 10, 0));
	EXPECT_EQ(0, setup(vm, efd, 0, 0));
	EXPECT_EQ(0, setup(vm, -1, 0, 0));
	EXPECT_EQ(ENODATA, get(vm));
	EXPECT_EQ(EINVAL, put(vm, 8, 1));

	vm_destroy(vm);
	close(efd);
}

TEST_HARNESS_MAIN
