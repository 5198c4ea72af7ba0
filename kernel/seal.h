/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM_FT_SEAL_H
#define KVM_FT_SEAL_H

#include <linux/types.h>
#include <linux/kvm_ft.h>

/*
 * A connection's AEAD (ChaCha20-Poly1305, RFC 8439), one key per
 * direction from the handshake.  Each frame is sealed whole: the header,
 * in the clear, is the associated data; the payload is encrypted in place;
 * the tag follows it on the wire.  The nonce is the direction's frame
 * counter, never sent: a frame dropped, replayed, reordered or from
 * another connection does not open.
 *
 * Sealing is its sender's (under the link's send_lock), opening its one
 * reader's: a direction is never used by two threads at once.
 */
struct kvm_ft_seal;

/* The algorithms are there (loaded, instantiated, ready): 0, or -ENOPKG. */
int kvm_ft_seal_check(void);
struct kvm_ft_seal *kvm_ft_seal_new(const u8 *tx_key, const u8 *rx_key);
void kvm_ft_seal_free(struct kvm_ft_seal *s);
/* Encrypt @payload in place; the tag to send after it is returned. */
int kvm_ft_seal_frame(struct kvm_ft_seal *s, const void *hdr, void *payload, u32 len,
		      const u8 **tag);
/* Where the tag of the next frame to open is to be read into. */
u8 *kvm_ft_seal_rx_tag(struct kvm_ft_seal *s);
/* Authenticate and decrypt in place: 0, or -EBADMSG (or -ENOMEM). */
int kvm_ft_seal_open(struct kvm_ft_seal *s, const void *hdr, void *payload, u32 len);
/* A short fingerprint of @key, for administrators to compare. */
u32 kvm_ft_key_fpr(const u8 *key);

#endif /* KVM_FT_SEAL_H */
