// SPDX-License-Identifier: GPL-2.0
/*
 * The wire codec (kernel/wire.c, built here in user space): frames round-trip,
 * and every malformed or out-of-order frame is refused with its own reason.
 */
#include <string.h>

#include "test.h"
#include "wire.h"

#define HDR	sizeof(struct kvm_ft_wire_hdr)
#define MAXF	(HDR + 8 + KVM_FT_WIRE_MAX_PAGES * (8 + KVM_FT_WIRE_PAGE_SIZE))

static __u8 frame[MAXF];

/* Build a sealed frame of @type with @len payload bytes from @payload. */
static __u8 *build(__u8 type, __u64 epoch, const void *payload, __u32 len)
{
	kvm_ft_wire_put_hdr(frame, type, epoch, len);
	memcpy(frame + HDR, payload, len);
	kvm_ft_wire_seal(frame, frame + HDR);
	return frame;
}

static int decode(struct kvm_ft_wire_msg *m)
{
	return kvm_ft_wire_decode(frame, frame + HDR, m);
}

/* HELLO of a VM whose VMM hands in device state (as the receiver's). */
static __u32 hello(__u8 *p, __u64 pages, __u32 vcpus, const char *name)
{
	memset(p, 0, sizeof(struct kvm_ft_wire_hello));
	kvm_ft_wire_put_le64(p, pages);
	kvm_ft_wire_put_le32(p + 8, vcpus);
	kvm_ft_wire_put_le32(p + 12, KVM_FT_WIRE_HELLO_F_DEVICE);
	strcpy((char *)p + 16, name);
	return sizeof(struct kvm_ft_wire_hello);
}

/* A PAGES payload: @count frames from @gfn0 up, page i filled with byte i. */
static __u32 pages(__u8 *p, __u32 count, __u64 gfn0)
{
	__u32 i;

	kvm_ft_wire_put_le32(p, count);
	kvm_ft_wire_put_le32(p + 4, 0);
	for (i = 0; i < count; i++) {
		kvm_ft_wire_put_le64(p + 8 + 8 * i, gfn0 + i);
		memset(p + 8 + 8 * count + i * KVM_FT_WIRE_PAGE_SIZE, i, KVM_FT_WIRE_PAGE_SIZE);
	}
	return 8 + count * (8 + KVM_FT_WIRE_PAGE_SIZE);
}

static __u32 vcpu(__u8 *p, __u32 index, __u32 size)
{
	kvm_ft_wire_put_le32(p, index);
	kvm_ft_wire_put_le32(p + 4, size);
	memset(p + 8, 0xab, size);
	return 8 + size;
}

static __u32 end(__u8 *p, __u64 npages, __u32 nvcpus, __u32 dev)
{
	kvm_ft_wire_put_le64(p, npages);
	kvm_ft_wire_put_le32(p + 8, nvcpus);
	kvm_ft_wire_put_le32(p + 12, dev);
	return 16;
}

static __u8 pl[MAXF];

/* The receiver's VM: 1024 frames from gfn 0. */
static int gfn_below_1024(void *ctx, __u64 gfn)
{
	return gfn < 1024;
}

/* Decode the frame in @frame and feed it to @rx; the first error wins. */
static int feed(struct kvm_ft_wire_rx *rx, struct kvm_ft_wire_msg *m)
{
	int err = decode(m);

	return err ? err : kvm_ft_wire_rx(rx, m);
}

FIXTURE(rx) {
	struct kvm_ft_wire_rx rx;
	struct kvm_ft_wire_msg m;
};

FIXTURE_SETUP(rx)
{
	memset(&self->rx, 0, sizeof(self->rx));
	self->rx.mem_pages = 1024;
	self->rx.nr_vcpus = 2;
	self->rx.flags = KVM_FT_WIRE_HELLO_F_DEVICE;
	self->rx.gfn_valid = gfn_below_1024;
	build(KVM_FT_WIRE_HELLO, 0, pl, hello(pl, 1024, 2, "vm0"));
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
}

FIXTURE_TEARDOWN(rx)
{
}

TEST_F(rx, whole_epochs_in_sequence)
{
	__u64 e;

	for (e = 1; e <= 3; e++) {
		build(KVM_FT_WIRE_EPOCH_BEGIN, e, pl, 0);
		ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
		build(KVM_FT_WIRE_PAGES, e, pl, pages(pl, 3, 1021));
		ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
		ASSERT_EQ(3, self->m.pages.count);
		ASSERT_EQ(1023, kvm_ft_wire_gfn(&self->m, 2));
		ASSERT_EQ(2, self->m.pages.data[2 * KVM_FT_WIRE_PAGE_SIZE + 17]);
		build(KVM_FT_WIRE_VCPU, e, pl, vcpu(pl, 1, 100));
		ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
		ASSERT_EQ(1, self->m.vcpu.index);
		ASSERT_EQ(100, self->m.vcpu.size);
		build(KVM_FT_WIRE_DEVICE, e, "devstate", 8);
		ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
		ASSERT_EQ(0, memcmp(self->m.device.data, "devstate", 8));
		build(KVM_FT_WIRE_HEARTBEAT, 0, pl, 0);
		ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
		build(KVM_FT_WIRE_EPOCH_END, e, pl, end(pl, 3, 1, 8));
		ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
		ASSERT_EQ(e, self->rx.last_epoch);
	}
}

TEST_F(rx, order_and_sequence_refused)
{
	/* Outside an epoch. */
	build(KVM_FT_WIRE_PAGES, 1, pl, pages(pl, 1, 0));
	EXPECT_EQ(KVM_FT_WIRE_E_ORDER, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_EPOCH_END, 1, pl, end(pl, 0, 0, 0));
	EXPECT_EQ(KVM_FT_WIRE_E_ORDER, feed(&self->rx, &self->m));
	/* A second HELLO, an ACK to a receiver. */
	build(KVM_FT_WIRE_HELLO, 0, pl, hello(pl, 1024, 2, "vm0"));
	EXPECT_EQ(KVM_FT_WIRE_E_ORDER, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_ACK, 1, pl, 0);
	EXPECT_EQ(KVM_FT_WIRE_E_ORDER, feed(&self->rx, &self->m));
	/* Epochs start at 1 and have no gaps. */
	build(KVM_FT_WIRE_EPOCH_BEGIN, 2, pl, 0);
	EXPECT_EQ(KVM_FT_WIRE_E_EPOCH, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_EPOCH_BEGIN, 1, pl, 0);
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
	EXPECT_EQ(KVM_FT_WIRE_E_ORDER, feed(&self->rx, &self->m));	/* nested */
	build(KVM_FT_WIRE_PAGES, 7, pl, pages(pl, 1, 0));
	EXPECT_EQ(KVM_FT_WIRE_E_EPOCH, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_DEVICE, 1, "x", 1);
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
	EXPECT_EQ(KVM_FT_WIRE_E_ORDER, feed(&self->rx, &self->m));	/* two blobs */
	/* Totals that disagree with what arrived: the epoch is not closed. */
	build(KVM_FT_WIRE_EPOCH_END, 1, pl, end(pl, 1, 0, 1));
	EXPECT_EQ(KVM_FT_WIRE_E_TOTALS, feed(&self->rx, &self->m));
	EXPECT_EQ(0, self->rx.last_epoch);
	build(KVM_FT_WIRE_EPOCH_END, 1, pl, end(pl, 0, 0, 1));
	EXPECT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
	EXPECT_EQ(1, self->rx.last_epoch);
}

TEST_F(rx, out_of_range_refused)
{
	build(KVM_FT_WIRE_EPOCH_BEGIN, 1, pl, 0);
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_PAGES, 1, pl, pages(pl, 2, 1023));	/* 1023, 1024 */
	EXPECT_EQ(KVM_FT_WIRE_E_GFN, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_PAGES, 1, pl, pages(pl, 1, ~0ULL));
	EXPECT_EQ(KVM_FT_WIRE_E_GFN, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_VCPU, 1, pl, vcpu(pl, 2, 8));
	EXPECT_EQ(KVM_FT_WIRE_E_VCPU, feed(&self->rx, &self->m));
	build(KVM_FT_WIRE_VCPU, 1, pl, vcpu(pl, 0xffffffff, 8));
	EXPECT_EQ(KVM_FT_WIRE_E_VCPU, feed(&self->rx, &self->m));
	EXPECT_EQ(0, self->rx.pages);
	EXPECT_EQ(0, self->rx.vcpus);
}

TEST(hello_shape_refused)
{
	struct kvm_ft_wire_rx rx = { .mem_pages = 1024, .nr_vcpus = 2,
				     .flags = KVM_FT_WIRE_HELLO_F_DEVICE,
				     .gfn_valid = gfn_below_1024 };
	struct kvm_ft_wire_msg m;

	/* Device state on one side only; flags this version does not know. */
	hello(pl, 1024, 2, "vm0");
	kvm_ft_wire_put_le32(pl + 12, 0);
	build(KVM_FT_WIRE_HELLO, 0, pl, sizeof(struct kvm_ft_wire_hello));
	EXPECT_EQ(KVM_FT_WIRE_E_SHAPE, feed(&rx, &m));
	kvm_ft_wire_put_le32(pl + 12, KVM_FT_WIRE_HELLO_F_DEVICE | 2);
	build(KVM_FT_WIRE_HELLO, 0, pl, sizeof(struct kvm_ft_wire_hello));
	EXPECT_EQ(KVM_FT_WIRE_E_RESERVED, feed(&rx, &m));
	build(KVM_FT_WIRE_HELLO, 0, pl, hello(pl, 2048, 2, "vm0"));
	EXPECT_EQ(KVM_FT_WIRE_E_SHAPE, feed(&rx, &m));
	build(KVM_FT_WIRE_HELLO, 0, pl, hello(pl, 1024, 1, "vm0"));
	EXPECT_EQ(KVM_FT_WIRE_E_SHAPE, feed(&rx, &m));
	hello(pl, 1024, 2, "vm0");
	memset(pl + 16, 'x', KVM_FT_NAME_LEN);		/* no NUL */
	build(KVM_FT_WIRE_HELLO, 0, pl, sizeof(struct kvm_ft_wire_hello));
	EXPECT_EQ(KVM_FT_WIRE_E_LEN, feed(&rx, &m));
	/* Nothing but HELLO before HELLO. */
	build(KVM_FT_WIRE_EPOCH_BEGIN, 1, pl, 0);
	EXPECT_EQ(KVM_FT_WIRE_E_ORDER, feed(&rx, &m));
	EXPECT_EQ(0, rx.hello_seen);
}

/*
 * The VMMs' digests of their machines (KVM_FT_DEVICE_SETUP's machine)
 * must agree: a backup whose QEMU has other devices could not load the
 * primary's device state at a takeover.
 */
TEST(hello_machine_refused)
{
	struct kvm_ft_wire_rx rx = { .mem_pages = 1024, .nr_vcpus = 2,
				     .flags = KVM_FT_WIRE_HELLO_F_DEVICE, .machine = 0x1234abcd,
				     .gfn_valid = gfn_below_1024 };
	const int machine_off = 16 + KVM_FT_NAME_LEN;
	struct kvm_ft_wire_msg m;

	hello(pl, 1024, 2, "vm0");
	build(KVM_FT_WIRE_HELLO, 0, pl, sizeof(struct kvm_ft_wire_hello));
	EXPECT_EQ(KVM_FT_WIRE_E_MACHINE, feed(&rx, &m));
	kvm_ft_wire_put_le32(pl + machine_off, 0x1234abcc);
	build(KVM_FT_WIRE_HELLO, 0, pl, sizeof(struct kvm_ft_wire_hello));
	EXPECT_EQ(KVM_FT_WIRE_E_MACHINE, feed(&rx, &m));
	kvm_ft_wire_put_le32(pl + machine_off + 4, 1);	/* reserved */
	kvm_ft_wire_put_le32(pl + machine_off, 0x1234abcd);
	build(KVM_FT_WIRE_HELLO, 0, pl, sizeof(struct kvm_ft_wire_hello));
	EXPECT_EQ(KVM_FT_WIRE_E_RESERVED, feed(&rx, &m));
	EXPECT_EQ(0, rx.hello_seen);
	kvm_ft_wire_put_le32(pl + machine_off + 4, 0);
	build(KVM_FT_WIRE_HELLO, 0, pl, sizeof(struct kvm_ft_wire_hello));
	EXPECT_EQ(KVM_FT_WIRE_OK, feed(&rx, &m));
	EXPECT_EQ(0x1234abcd, m.hello.machine);
	EXPECT_EQ(1, rx.hello_seen);
}

/* A VM without device state: a DEVICE frame has no place in its stream. */
TEST(device_without_devices_refused)
{
	struct kvm_ft_wire_rx rx = { .mem_pages = 1024, .nr_vcpus = 2,
				     .gfn_valid = gfn_below_1024 };
	struct kvm_ft_wire_msg m;

	hello(pl, 1024, 2, "vm0");
	kvm_ft_wire_put_le32(pl + 12, 0);
	build(KVM_FT_WIRE_HELLO, 0, pl, sizeof(struct kvm_ft_wire_hello));
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&rx, &m));
	build(KVM_FT_WIRE_EPOCH_BEGIN, 1, pl, 0);
	ASSERT_EQ(KVM_FT_WIRE_OK, feed(&rx, &m));
	build(KVM_FT_WIRE_DEVICE, 1, "x", 1);
	EXPECT_EQ(KVM_FT_WIRE_E_ORDER, feed(&rx, &m));
}

TEST(header_refused)
{
	struct kvm_ft_wire_msg m;

	build(KVM_FT_WIRE_HEARTBEAT, 0, pl, 0);
	ASSERT_EQ(KVM_FT_WIRE_OK, kvm_ft_wire_decode_hdr(frame, &m));
	frame[0] ^= 1;
	EXPECT_EQ(KVM_FT_WIRE_E_MAGIC, kvm_ft_wire_decode_hdr(frame, &m));
	build(KVM_FT_WIRE_HEARTBEAT, 0, pl, 0);
	frame[4] = 2;
	EXPECT_EQ(KVM_FT_WIRE_E_VERSION, kvm_ft_wire_decode_hdr(frame, &m));
	build(KVM_FT_WIRE_HEARTBEAT, 0, pl, 0);
	frame[5] = 0;
	EXPECT_EQ(KVM_FT_WIRE_E_TYPE, kvm_ft_wire_decode_hdr(frame, &m));
	frame[5] = KVM_FT_WIRE_VERIFY + 1;
	EXPECT_EQ(KVM_FT_WIRE_E_TYPE, kvm_ft_wire_decode_hdr(frame, &m));
	build(KVM_FT_WIRE_HEARTBEAT, 0, pl, 0);
	frame[7] = 1;
	EXPECT_EQ(KVM_FT_WIRE_E_RESERVED, kvm_ft_wire_decode_hdr(frame, &m));
}

TEST(lengths_refused)
{
	static const struct { __u8 type; __u32 len; } bad[] = {
		{ KVM_FT_WIRE_HELLO, sizeof(struct kvm_ft_wire_hello) - 1 },
		{ KVM_FT_WIRE_EPOCH_BEGIN, 1 },
		{ KVM_FT_WIRE_HEARTBEAT, 0xffffffff },
		{ KVM_FT_WIRE_PAGES, 8 },
		{ KVM_FT_WIRE_PAGES, 8 + (KVM_FT_WIRE_MAX_PAGES + 1) * (8 + KVM_FT_WIRE_PAGE_SIZE) },
		{ KVM_FT_WIRE_VCPU, 8 },
		{ KVM_FT_WIRE_VCPU, 9 + KVM_FT_WIRE_MAX_VCPU_STATE },
		{ KVM_FT_WIRE_DEVICE, 0 },
		{ KVM_FT_WIRE_DEVICE, KVM_FT_WIRE_MAX_DEVICE + 1 },
		{ KVM_FT_WIRE_EPOCH_END, 17 },
	};
	struct kvm_ft_wire_msg m;
	int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		kvm_ft_wire_put_hdr(frame, bad[i].type, 1, bad[i].len);
		EXPECT_EQ(KVM_FT_WIRE_E_LEN, kvm_ft_wire_decode_hdr(frame, &m))
			TH_LOG("type %u len %u", bad[i].type, bad[i].len);
	}

	/* Inside the bound for the type, but inconsistent with the payload. */
	pages(pl, 2, 0);
	build(KVM_FT_WIRE_PAGES, 1, pl, 8 + 2 * (8 + KVM_FT_WIRE_PAGE_SIZE) - 1);
	EXPECT_EQ(KVM_FT_WIRE_E_LEN, decode(&m));
	pages(pl, 0, 0);
	build(KVM_FT_WIRE_PAGES, 1, pl, 8 + 8 + KVM_FT_WIRE_PAGE_SIZE);
	EXPECT_EQ(KVM_FT_WIRE_E_LEN, decode(&m));
	vcpu(pl, 0, 16);
	build(KVM_FT_WIRE_VCPU, 1, pl, 8 + 15);
	EXPECT_EQ(KVM_FT_WIRE_E_LEN, decode(&m));
}

/*
 * What a backup sends its primary: ACK and HEARTBEAT headers only.  A
 * header of any type whose payload was not read (NULL) is refused without
 * touching it: a PAGES header with a legal length once made the primary
 * checksum a NULL payload.
 */
TEST(replies_from_a_backup)
{
	static const __u8 types[] = {
		KVM_FT_WIRE_HELLO, KVM_FT_WIRE_PAGES, KVM_FT_WIRE_VCPU, KVM_FT_WIRE_DEVICE,
		KVM_FT_WIRE_EPOCH_END, KVM_FT_WIRE_VERIFY,
	};
	static const __u32 lens[] = {
		sizeof(struct kvm_ft_wire_hello), 8 + 8 + KVM_FT_WIRE_PAGE_SIZE, 8 + 16, 1,
		sizeof(struct kvm_ft_wire_epoch_end), sizeof(struct kvm_ft_wire_verify),
	};
	struct kvm_ft_wire_msg m;
	int i;

	build(KVM_FT_WIRE_ACK, 7, pl, 0);
	ASSERT_EQ(KVM_FT_WIRE_OK, kvm_ft_wire_decode_reply(frame, &m));
	EXPECT_EQ(KVM_FT_WIRE_ACK, m.type);
	EXPECT_EQ(7, m.epoch);
	build(KVM_FT_WIRE_HEARTBEAT, 0, pl, 0);
	ASSERT_EQ(KVM_FT_WIRE_OK, kvm_ft_wire_decode_reply(frame, &m));
	frame[16] ^= 1;
	EXPECT_EQ(KVM_FT_WIRE_E_CRC, kvm_ft_wire_decode_reply(frame, &m));
	for (i = 0; i < ARRAY_SIZE(types); i++) {
		kvm_ft_wire_put_hdr(frame, types[i], 1, lens[i]);
		ASSERT_EQ(KVM_FT_WIRE_OK, kvm_ft_wire_decode_hdr(frame, &m)) TH_LOG("type %u", types[i]);
		EXPECT_EQ(KVM_FT_WIRE_E_LEN, kvm_ft_wire_decode(frame, NULL, &m))
			TH_LOG("type %u", types[i]);
		EXPECT_EQ(KVM_FT_WIRE_E_ORDER, kvm_ft_wire_decode_reply(frame, &m))
			TH_LOG("type %u", types[i]);
	}
}

TEST(every_flipped_bit_refused)
{
	struct kvm_ft_wire_msg m;
	__u32 len = vcpu(pl, 1, 40), i, bitn;

	build(KVM_FT_WIRE_VCPU, 5, pl, len);
	ASSERT_EQ(KVM_FT_WIRE_OK, decode(&m));
	for (i = 0; i < HDR + len; i++) {
		for (bitn = 0; bitn < 8; bitn++) {
			frame[i] ^= 1 << bitn;
			EXPECT_NE(KVM_FT_WIRE_OK, decode(&m)) TH_LOG("byte %u bit %u", i, bitn);
			frame[i] ^= 1 << bitn;
		}
	}
	ASSERT_EQ(KVM_FT_WIRE_OK, decode(&m));
}

TEST(strerror_names_every_error)
{
	int e;

	for (e = 0; e < KVM_FT_WIRE_E_MAX; e++)
		EXPECT_NE(0, strcmp("unknown error", kvm_ft_wire_strerror(e)));
	EXPECT_EQ(0, strcmp("unknown error", kvm_ft_wire_strerror(KVM_FT_WIRE_E_MAX)));
	EXPECT_EQ(0, strcmp("unknown error", kvm_ft_wire_strerror(-1)));
}

TEST_HARNESS_MAIN
