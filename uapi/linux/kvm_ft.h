/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Cuju: fault tolerance for KVM virtual machines.
 *
 * The one header shared by the engine in kvm.ko, ftnl, the QEMU patch and
 * the selftests.  It holds only what is implemented; every name carries the
 * KVM_FT_ prefix.
 *
 * Global defaults (sysfs)
 * -----------------------
 * KVM_FT_SYSFS_DIR holds one file per default, each a decimal unsigned
 * integer.  A write is taken whole or refused with EINVAL, leaving the old
 * value: no number, trailing garbage, a sign, or a value outside [MIN, MAX].
 *
 *   epoch_us   length of an epoch in microseconds: how much guest execution
 *              one checkpoint covers, and so the most output commit delays
 *              a packet by, plus transfer time.
 *
 * Documentation/ABI/testing/sysfs-kernel-kvm_ft describes each file.
 *
 * Wire protocol (primary kernel <-> backup kernel, over TCP)
 * ----------------------------------------------------------
 * Every frame is a struct kvm_ft_wire_hdr followed by hdr.len bytes of
 * payload.  All integers are little-endian.  hdr.crc is the CRC-32C of the
 * header (with crc = 0) and the payload.  A frame that fails any check ends
 * the connection; nothing of an epoch is applied before its EPOCH_END has
 * arrived and checked.  Documentation/wire-protocol.rst has the whole
 * protocol; the payloads are:
 *
 *   HELLO        struct kvm_ft_wire_hello: the VM's shape, checked by the backup
 *   EPOCH_BEGIN  empty; hdr.epoch opens an epoch (one more than the last)
 *   PAGES        struct kvm_ft_wire_pages, count x __le64 guest frame numbers,
 *                then count x KVM_FT_WIRE_PAGE_SIZE bytes of page data
 *   VCPU         struct kvm_ft_wire_vcpu, then size bytes of vCPU state
 *   DEVICE       the VMM's device-state blob, opaque to the kernel
 *   EPOCH_END    struct kvm_ft_wire_epoch_end: totals to check the epoch by
 *   ACK          empty, backup to primary: epoch hdr.epoch is held
 *   HEARTBEAT    empty, either way: the sender is alive
 */
#ifndef _UAPI_LINUX_KVM_FT_H
#define _UAPI_LINUX_KVM_FT_H

#define KVM_FT_SYSFS_DIR		"/sys/kernel/kvm_ft"

#define KVM_FT_EPOCH_US_DEFAULT		10000U		/* 10 ms */
#define KVM_FT_EPOCH_US_MIN		1000U		/* 1 ms */
#define KVM_FT_EPOCH_US_MAX		2000000U	/* 2 s */

#include <linux/types.h>

#define KVM_FT_WIRE_MAGIC		0x554a5543U	/* "CUJU" on the wire */
#define KVM_FT_WIRE_VERSION		1
#define KVM_FT_WIRE_PAGE_SIZE		4096U
#define KVM_FT_WIRE_MAX_PAGES		64U		/* per PAGES frame */
#define KVM_FT_WIRE_MAX_VCPU_STATE	(64U << 10)
#define KVM_FT_WIRE_MAX_DEVICE		(16U << 20)
#define KVM_FT_WIRE_NAME_LEN		32

enum kvm_ft_wire_type {
	KVM_FT_WIRE_HELLO	= 0x01,
	KVM_FT_WIRE_EPOCH_BEGIN	= 0x02,
	KVM_FT_WIRE_PAGES	= 0x03,
	KVM_FT_WIRE_VCPU	= 0x04,
	KVM_FT_WIRE_DEVICE	= 0x05,
	KVM_FT_WIRE_EPOCH_END	= 0x06,
	KVM_FT_WIRE_ACK		= 0x07,
	KVM_FT_WIRE_HEARTBEAT	= 0x08,
};

struct kvm_ft_wire_hdr {
	__le32 magic;
	__u8 version;
	__u8 type;
	__le16 reserved;	/* 0 */
	__le32 len;		/* payload bytes after this header */
	__le32 crc;
	__le64 epoch;
} __attribute__((packed));

struct kvm_ft_wire_hello {
	__le64 mem_pages;	/* guest frames the backup must hold */
	__le32 nr_vcpus;
	__le32 reserved;	/* 0 */
	char name[KVM_FT_WIRE_NAME_LEN];	/* NUL-terminated */
} __attribute__((packed));

struct kvm_ft_wire_pages {
	__le32 count;		/* 1..KVM_FT_WIRE_MAX_PAGES */
	__le32 reserved;	/* 0 */
	/* __le64 gfn[count]; __u8 data[count][KVM_FT_WIRE_PAGE_SIZE]; */
} __attribute__((packed));

struct kvm_ft_wire_vcpu {
	__le32 index;		/* < nr_vcpus of HELLO */
	__le32 size;		/* 1..KVM_FT_WIRE_MAX_VCPU_STATE bytes follow */
} __attribute__((packed));

struct kvm_ft_wire_epoch_end {
	__le64 nr_pages;	/* pages sent in this epoch's PAGES frames */
	__le32 nr_vcpus;	/* VCPU frames sent */
	__le32 device_len;	/* bytes of DEVICE payload sent (0: none) */
} __attribute__((packed));

#endif /* _UAPI_LINUX_KVM_FT_H */
