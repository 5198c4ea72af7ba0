// SPDX-License-Identifier: GPL-2.0
/*
 * The link's cryptography, from the kernel's crypto API: the AEAD that
 * seals every frame after the handshake (seal.h), and the hashes the
 * handshake in wire.c asks for (wire.h: HMAC-SHA256 and SHA-256).
 *
 * The AEAD works on scatterlists, so what it reads and writes must be in
 * memory with a page behind it: the payloads are kvmalloc()ed (a vmalloc
 * area is mapped page by page), and the header and tag are copied into
 * this side's kmalloc()ed state, never used from a (virtually mapped)
 * stack.
 *
 * Contexts: a link's threads, in process context; all may sleep.
 */
#include <crypto/aead.h>
#include <crypto/hash.h>
#include <crypto/sha2.h>
#include <asm/unaligned.h>
#include <linux/mm.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "seal.h"
#include "wire.h"

#define AEAD_ALG	"rfc7539(chacha20,poly1305)"
#define HDR_LEN		sizeof(struct kvm_ft_wire_hdr)
#define TAG_LEN		KVM_FT_WIRE_TAG_LEN
#define IV_LEN		12

/* One direction: its key, its frame counter, and room for what sg needs. */
struct seal_dir {
	struct crypto_aead *tfm;
	struct aead_request *req;
	u64 seq;
	u8 ad[HDR_LEN];
	u8 tag[TAG_LEN];
	u8 iv[IV_LEN];
};

struct kvm_ft_seal {
	struct seal_dir tx, rx;
};

int kvm_ft_seal_check(void)
{
	struct crypto_aead *aead;
	struct crypto_shash *hmac;

	/*
	 * Allocated and let go: what a link will use is there, loaded, and
	 * its instances made (the crypto API builds "hmac(sha256)" from its
	 * template at the first request, asking for a module first, which took
	 * seconds on a slow host: longer than a handshake may).
	 */
	aead = crypto_alloc_aead(AEAD_ALG, 0, CRYPTO_ALG_ASYNC);
	if (IS_ERR(aead))
		return -ENOPKG;
	crypto_free_aead(aead);
	hmac = crypto_alloc_shash("hmac(sha256)", 0, 0);
	if (IS_ERR(hmac))
		return -ENOPKG;
	crypto_free_shash(hmac);
	return 0;
}

static int dir_init(struct seal_dir *d, const u8 *key)
{
	/* Synchronous implementations only: a frame is sealed where it is sent. */
	d->tfm = crypto_alloc_aead(AEAD_ALG, 0, CRYPTO_ALG_ASYNC);
	if (IS_ERR(d->tfm)) {
		int ret = PTR_ERR(d->tfm);

		d->tfm = NULL;
		return ret;
	}
	d->req = aead_request_alloc(d->tfm, GFP_KERNEL);
	if (!d->req)
		return -ENOMEM;
	aead_request_set_callback(d->req, 0, NULL, NULL);
	return crypto_aead_setauthsize(d->tfm, TAG_LEN) ?:
	       crypto_aead_setkey(d->tfm, key, KVM_FT_KEY_LEN);
}

static void dir_free(struct seal_dir *d)
{
	aead_request_free(d->req);	/* zeroes it */
	crypto_free_aead(d->tfm);
}

struct kvm_ft_seal *kvm_ft_seal_new(const u8 *tx_key, const u8 *rx_key)
{
	struct kvm_ft_seal *s = kzalloc(sizeof(*s), GFP_KERNEL);
	int ret;

	if (!s)
		return ERR_PTR(-ENOMEM);
	ret = dir_init(&s->tx, tx_key) ?: dir_init(&s->rx, rx_key);
	if (ret) {
		kvm_ft_seal_free(s);
		return ERR_PTR(ret);
	}
	return s;
}

void kvm_ft_seal_free(struct kvm_ft_seal *s)
{
	if (!s)
		return;
	dir_free(&s->rx);
	dir_free(&s->tx);
	kfree_sensitive(s);
}

static unsigned int pages_spanned(const void *buf, u32 len)
{
	return len ? (offset_in_page(buf) + len + PAGE_SIZE - 1) >> PAGE_SHIFT : 0;
}

/* @d->ad, then @len bytes at @buf page by page, then @d->tag: one list. */
static int frame_sg(struct sg_table *t, struct seal_dir *d, void *buf, u32 len)
{
	struct scatterlist *sg;
	int ret;

	ret = sg_alloc_table(t, 2 + pages_spanned(buf, len), GFP_KERNEL);
	if (ret)
		return ret;
	sg = t->sgl;
	sg_set_buf(sg, d->ad, HDR_LEN);
	while (len) {
		u32 chunk = min_t(u32, len, PAGE_SIZE - offset_in_page(buf));
		struct page *page = is_vmalloc_addr(buf) ? vmalloc_to_page(buf) :
							   virt_to_page(buf);

		sg = sg_next(sg);
		sg_set_page(sg, page, chunk, offset_in_page(buf));
		buf += chunk;
		len -= chunk;
	}
	sg_set_buf(sg_next(sg), d->tag, TAG_LEN);
	return 0;
}

/* Seal (@enc) or open the frame whose header is in @d->ad; the counter moves on. */
static int crypt(struct seal_dir *d, void *payload, u32 len, bool enc)
{
	struct sg_table t;
	int ret = frame_sg(&t, d, payload, len);

	if (ret)
		return ret;
	memset(d->iv, 0, 4);
	put_unaligned_le64(d->seq++, d->iv + 4);
	aead_request_set_ad(d->req, HDR_LEN);
	aead_request_set_crypt(d->req, t.sgl, t.sgl, enc ? len : len + TAG_LEN, d->iv);
	ret = enc ? crypto_aead_encrypt(d->req) : crypto_aead_decrypt(d->req);
	sg_free_table(&t);
	return ret;
}

int kvm_ft_seal_frame(struct kvm_ft_seal *s, const void *hdr, void *payload, u32 len,
		      const u8 **tag)
{
	memcpy(s->tx.ad, hdr, HDR_LEN);
	*tag = s->tx.tag;
	return crypt(&s->tx, payload, len, true);
}

u8 *kvm_ft_seal_rx_tag(struct kvm_ft_seal *s)
{
	return s->rx.tag;
}

int kvm_ft_seal_open(struct kvm_ft_seal *s, const void *hdr, void *payload, u32 len)
{
	memcpy(s->rx.ad, hdr, HDR_LEN);
	return crypt(&s->rx, payload, len, false);
}

u32 kvm_ft_key_fpr(const u8 *key)
{
	u8 digest[SHA256_DIGEST_SIZE];

	sha256(key, KVM_FT_KEY_LEN, digest);
	return get_unaligned_be32(digest);
}

/* ---- The handshake's hashes (wire.h) ------------------------------------ */

int kvm_ft_wire_sha256(const struct kvm_ft_wire_buf *v, int n, __u8 *out)
{
	struct sha256_state st;
	int i;

	sha256_init(&st);
	for (i = 0; i < n; i++)
		sha256_update(&st, v[i].p, v[i].len);
	sha256_final(&st, out);
	return 0;
}

int kvm_ft_wire_hmac(const __u8 *key, __u32 key_len, const struct kvm_ft_wire_buf *v, int n,
		     __u8 *out)
{
	struct crypto_shash *tfm = crypto_alloc_shash("hmac(sha256)", 0, 0);
	int i, ret;

	if (IS_ERR(tfm))
		return PTR_ERR(tfm);
	ret = crypto_shash_setkey(tfm, key, key_len);
	if (!ret) {
		SHASH_DESC_ON_STACK(desc, tfm);

		desc->tfm = tfm;
		ret = crypto_shash_init(desc);
		for (i = 0; !ret && i < n; i++)
			ret = crypto_shash_update(desc, v[i].p, v[i].len);
		if (!ret)
			ret = crypto_shash_final(desc, out);
		shash_desc_zero(desc);
	}
	crypto_free_shash(tfm);
	return ret;
}
