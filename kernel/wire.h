/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The wire codec: decode and check frames of the protocol in
 * uapi/linux/kvm_ft.h.  No kernel-only dependency: the same wire.c builds in
 * user space for unit tests and fuzzing (selftests/wire_test.c,
 * selftests/fuzz/).  Only __u8/__u32/__u64 from <linux/types.h> and a
 * crc32c() with the kernel's meaning are assumed.
 */
#ifndef KVM_FT_WIRE_H
#define KVM_FT_WIRE_H

#include <linux/types.h>
#include <linux/kvm_ft.h>

const char *kvm_ft_wire_strerror(int err);

/* A decoded frame: views into the caller's header and payload buffers. */
struct kvm_ft_wire_msg {
	__u8 type;
	__u32 len;
	__u64 epoch;
	union {
		struct {
			__u64 mem_pages;
			__u32 nr_vcpus;
			__u32 flags;		/* KVM_FT_WIRE_HELLO_F_* */
			char name[KVM_FT_NAME_LEN];
			__u32 machine;
		} hello;
		struct {
			__u32 count;
			const __u8 *gfns;	/* count little-endian __u64 */
			const __u8 *data;	/* count pages */
		} pages;
		struct {
			__u32 index, size;
			const __u8 *state;
		} vcpu;
		struct {
			const __u8 *data;	/* len bytes */
		} device;
		struct {
			__u64 nr_pages;
			__u32 nr_vcpus, device_len;
		} end;
		struct {
			__u32 crc;
		} verify;
	};
};

/* What a receiver tracks to check the order and totals of frames. */
struct kvm_ft_wire_rx {
	__u64 mem_pages;	/* of the local VM, for HELLO's check */
	__u32 nr_vcpus;		/* of the local VM */
	__u32 flags;		/* the local VM's KVM_FT_WIRE_HELLO_F_* */
	__u32 machine;		/* the local VMM's digest of its devices */
	/* Whether @gfn is guest memory the stream may write; nonzero: yes. */
	int (*gfn_valid)(void *ctx, __u64 gfn);
	void *ctx;
	int hello_seen;
	int in_epoch;
	int verify_seen;	/* in the open epoch */
	__u64 last_epoch;	/* last epoch completed; 0 before any */
	__u64 pages;		/* received in the open epoch */
	__u32 vcpus, device_len;
};

/* Fill a header (crc zero); seal it once the payload is in place. */
void kvm_ft_wire_put_hdr(void *hdr, __u8 type, __u64 epoch, __u32 len);
void kvm_ft_wire_seal(void *hdr, const void *payload);

/* Check a header alone (before its payload is read, to bound the read). */
int kvm_ft_wire_decode_hdr(const void *hdr, struct kvm_ft_wire_msg *m);
/* Check the checksum and the payload's structure; fill @m. */
int kvm_ft_wire_decode(const void *hdr, const void *payload, struct kvm_ft_wire_msg *m);
/*
 * A frame from a backup to its primary: ACK or HEARTBEAT, no payload.  The
 * header alone is the frame; any other type is E_ORDER.
 */
int kvm_ft_wire_decode_reply(const void *hdr, struct kvm_ft_wire_msg *m);
/* Check @m against the receiver's state and VM, and advance the state. */
int kvm_ft_wire_rx(struct kvm_ft_wire_rx *rx, const struct kvm_ft_wire_msg *m);

__u64 kvm_ft_wire_gfn(const struct kvm_ft_wire_msg *m, __u32 i);
void kvm_ft_wire_put_le32(void *p, __u32 v);
void kvm_ft_wire_put_le64(void *p, __u64 v);

#endif /* KVM_FT_WIRE_H */
