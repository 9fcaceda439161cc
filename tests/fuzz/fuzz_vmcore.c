/* SPDX-License-Identifier: MIT */
/* fuzz_vmcore: VM snapshots — ELF cores, kdump-compressed files and
 * flattened makedumpfile streams (lib/fmt_elf.c, fmt_kdump.c, fmt_vmnotes.c,
 * src_flat.c, and libkdumpfile behind them when exq is built with it).
 *
 * Input: one control byte, then the file. Control bits 0-2: 0 = default
 * vCPU, k = exq_image_set_cpu(k - 1) (k - 1 may name a vCPU that is not
 * there); bit 7: hand the file to exq_image_open_file through a memfd
 * (/proc/self/fd/N), so libkdumpfile reads a descriptor of the file as it
 * does for a plain file on disk, instead of exq_image_open_mem. Then
 * everything fuzz_open touches. */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "exq.h"
#include "fuzz.h"

static exq_status open_as_file(exq_image *img, const uint8_t *d, size_t n)
{
	char path[64];
	exq_status st;
	size_t done = 0;
	int fd = memfd_create("exq-fuzz", MFD_CLOEXEC);
	if (fd < 0)
		return exq_image_open_mem(img, d, n);
	while (done < n) {
		ssize_t w = write(fd, d + done, n - done);
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	st = done == n ? exq_image_open_file(img, path)
		       : exq_image_open_mem(img, d, n);
	close(fd);
	return st;
}

int exq_fuzz_vmcore(const uint8_t *d, size_t n)
{
	exq_image *img;
	unsigned ctl;
	if (n < 1)
		return 0;
	ctl = d[0];
	d++;
	n--;
	img = exq_image_new();
	if (!img)
		return 0;
	if (ctl & 7)
		exq_image_set_cpu(img, (ctl & 7) - 1);
	exq_fuzz_image_after_open(
	    img, ctl & 0x80 ? open_as_file(img, d, n)
			    : exq_image_open_mem(img, d, n));
	exq_image_free(img);
	return 0;
}

EXQ_FUZZ_MAIN(exq_fuzz_vmcore)
