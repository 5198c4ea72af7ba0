// SPDX-License-Identifier: GPL-2.0
/*
 * CRC-32C for the wire: frames in the clear, the bases and results of
 * deltas, verify_memory's checksum of all memory.  The crypto API's
 * "crc32c" is the driver of highest priority, on x86 crc32c-intel, which
 * uses the CPU's crc32 instruction; under an emulator that executes that
 * instruction slowly it is the slowest: under QEMU's TCG (the test hosts)
 * a page takes 28 us with it against 6 to 10 with crc32c-generic's tables.
 * So, as the kernel does for its xor and raid6 routines, the engine times
 * both over a page when it loads and keeps the faster for its life.
 */
#include <crypto/hash.h>
#include <linux/crc32.h>
#include <linux/gfp.h>
#include <linux/ktime.h>
#include <linux/minmax.h>
#include <linux/mm.h>

#include "crc.h"
#include "wire.h"

static struct crypto_shash *crc_tfm;

/* As libcrc32c's crc32c(): the state is the running CRC, no inversions. */
static u32 update(struct crypto_shash *tfm, u32 crc, const void *buf, unsigned long len)
{
	SHASH_DESC_ON_STACK(desc, tfm);
	u32 *ctx = shash_desc_ctx(desc);

	desc->tfm = tfm;
	*ctx = crc;
	crypto_shash_update(desc, buf, len);	/* no CRC-32C driver fails */
	return *ctx;
}

u32 kvm_ft_crc32c(u32 crc, const void *buf, unsigned long len)
{
	return update(crc_tfm, crc, buf, len);
}

/* The library's, in O(log len): the same polynomial, bit order and state. */
u32 kvm_ft_crc32c_shift(u32 crc, unsigned long len)
{
	return __crc32c_le_shift(crc, len);
}

/* The best of a few runs over @page: preemption only ever adds. */
static u64 page_ns(struct crypto_shash *tfm, const void *page)
{
	u64 best = U64_MAX, t;
	int i;

	for (i = 0; i < 5; i++) {
		t = ktime_get_ns();
		update(tfm, ~0U, page, PAGE_SIZE);
		best = min(best, ktime_get_ns() - t);
	}
	return best;
}

/* Process context (module load). */
int kvm_ft_crc_init(void)
{
	static const char *const names[] = { "crc32c", "crc32c-generic" };
	u8 *page = (u8 *)__get_free_page(GFP_KERNEL);
	struct crypto_shash *tfm;
	u64 ns, best = U64_MAX;
	int i, ret = -ENOENT;

	if (!page)
		return -ENOMEM;
	for (i = 0; i < PAGE_SIZE; i++)
		page[i] = i * 37;
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		tfm = crypto_alloc_shash(names[i], 0, 0);
		if (IS_ERR(tfm)) {
			ret = PTR_ERR(tfm);
			continue;
		}
		ns = page_ns(tfm, page);
		if (ns < best) {
			swap(tfm, crc_tfm);
			best = ns;
		}
		if (tfm)
			crypto_free_shash(tfm);
	}
	free_page((unsigned long)page);
	if (!crc_tfm)
		return ret;
	pr_info("CRC-32C by %s, %llu ns a page\n",
		crypto_tfm_alg_driver_name(crypto_shash_tfm(crc_tfm)), best);
	return 0;
}

void kvm_ft_crc_exit(void)
{
	crypto_free_shash(crc_tfm);
	crc_tfm = NULL;
}
