// SPDX-License-Identifier: GPL-2.0
/* See useal.h.  ChaCha20-Poly1305 (RFC 8439), as kernel/seal.c. */
#include <linux/kvm_ft.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "useal.h"

#define HDR_LEN		sizeof(struct kvm_ft_wire_hdr)
#define TAG_LEN		KVM_FT_WIRE_TAG_LEN

/* wire.h's, for kernel/wire.c built here; the pieces are small (a handshake's). */
struct kvm_ft_wire_buf {
	const void *p;
	uint32_t len;
};

static size_t flatten(const struct kvm_ft_wire_buf *v, int n, uint8_t *buf, size_t room)
{
	size_t len = 0;
	int i;

	for (i = 0; i < n && len + v[i].len <= room; i++) {
		memcpy(buf + len, v[i].p, v[i].len);
		len += v[i].len;
	}
	return i == n ? len : (size_t)-1;
}

int kvm_ft_wire_sha256(const struct kvm_ft_wire_buf *v, int n, uint8_t *out)
{
	uint8_t buf[1024];
	size_t len = flatten(v, n, buf, sizeof(buf));

	return len == (size_t)-1 || !EVP_Digest(buf, len, out, NULL, EVP_sha256(), NULL);
}

int kvm_ft_wire_hmac(const uint8_t *key, uint32_t key_len, const struct kvm_ft_wire_buf *v,
		     int n, uint8_t *out)
{
	uint8_t buf[1024];
	size_t len = flatten(v, n, buf, sizeof(buf));

	return len == (size_t)-1 || !HMAC(EVP_sha256(), key, key_len, buf, len, out, NULL);
}

/*
 * libcrypto loads its configuration and providers at first use: once, in
 * the harness's process, rather than in every test it forks (over 9p, in
 * a slow test host, that took longer than a handshake may).
 */
__attribute__((constructor)) static void useal_ready(void)
{
	uint8_t out[32];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

	EVP_Digest("", 0, out, NULL, EVP_sha256(), NULL);
	if (c) {
		EVP_EncryptInit_ex(c, EVP_chacha20_poly1305(), NULL, out, out);
		EVP_CIPHER_CTX_free(c);
	}
}

void useal_init(struct useal *s, const uint8_t *tx_key, const uint8_t *rx_key)
{
	memset(s, 0, sizeof(*s));
	s->on = 1;
	memcpy(s->tx_key, tx_key, sizeof(s->tx_key));
	memcpy(s->rx_key, rx_key, sizeof(s->rx_key));
}

static void nonce(uint8_t *iv, uint64_t seq)
{
	int i;

	memset(iv, 0, 4);
	for (i = 0; i < 8; i++)
		iv[4 + i] = seq >> (8 * i);
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* kernel/wire.c's, built into the same program. */
void kvm_ft_wire_put_crc(void *hdr, const void *payload);

size_t useal_frame(struct useal *s, uint8_t *frame)
{
	uint32_t len = le32(frame + 8);
	EVP_CIPHER_CTX *c;
	uint8_t iv[12];
	int n, ok;

	if (!s->on) {
		kvm_ft_wire_put_crc(frame, frame + HDR_LEN);
		return HDR_LEN + len;
	}
	nonce(iv, s->tx_seq++);
	c = EVP_CIPHER_CTX_new();
	ok = c && EVP_EncryptInit_ex(c, EVP_chacha20_poly1305(), NULL, s->tx_key, iv) &&
	     EVP_EncryptUpdate(c, NULL, &n, frame, HDR_LEN) &&
	     (!len || EVP_EncryptUpdate(c, frame + HDR_LEN, &n, frame + HDR_LEN, len)) &&
	     EVP_EncryptFinal_ex(c, frame + HDR_LEN + len, &n) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, frame + HDR_LEN + len);
	EVP_CIPHER_CTX_free(c);
	return ok ? HDR_LEN + len + TAG_LEN : 0;
}

int useal_open(struct useal *s, const uint8_t *hdr, uint8_t *payload, uint32_t len,
	       const uint8_t *tag)
{
	uint8_t iv[12], t[TAG_LEN], rest[TAG_LEN];
	EVP_CIPHER_CTX *c;
	int n, ok;

	memcpy(t, tag, TAG_LEN);
	nonce(iv, s->rx_seq++);
	c = EVP_CIPHER_CTX_new();
	ok = c && EVP_DecryptInit_ex(c, EVP_chacha20_poly1305(), NULL, s->rx_key, iv) &&
	     EVP_DecryptUpdate(c, NULL, &n, hdr, HDR_LEN) &&
	     (!len || EVP_DecryptUpdate(c, payload, &n, payload, len)) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, t) &&
	     EVP_DecryptFinal_ex(c, rest, &n) > 0;	/* an AEAD writes nothing here */
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}
