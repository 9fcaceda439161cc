/* SPDX-License-Identifier: MIT */
/* Byte sources: the file (pread) and memory (caller's buffer) sources, and
 * the bounds-checked read every layer above goes through. The gzip source
 * lives in src_gzip.c. */
#include "exq_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

exq_status exq__src_read(exq__source *src, uint64_t off, void *buf,
			 size_t len, exq__err *err)
{
	uint64_t end;
	if (exq__add_ovf(off, len, &end) || end > src->size)
		return exq__err_set(err, EXQ_CORRUPT,
				    "read of 0x%zx bytes at offset 0x%llx is past "
				    "the end of the %s source (size 0x%llx)",
				    len, (unsigned long long)off, src->ops->name,
				    (unsigned long long)src->size);
	if (len == 0)
		return EXQ_OK;
	return src->ops->read(src, off, buf, len, err);
}

void exq__src_close(exq__source *src)
{
	if (src)
		src->ops->close(src);
}

int exq__src_is_gzip(exq__source *src)
{
	uint8_t m[3];
	exq__err e;
	if (src->size < 18 || exq__src_read(src, 0, m, 3, &e) != EXQ_OK)
		return 0;
	return m[0] == 0x1f && m[1] == 0x8b && m[2] == 0x08;
}

/* ---- memory ---- */

static exq_status mem_read(exq__source *src, uint64_t off, void *buf,
			   size_t len, exq__err *err)
{
	(void)err;
	memcpy(buf, (const uint8_t *)src->priv + off, len);
	return EXQ_OK;
}

static void mem_close(exq__source *src)
{
	free(src);
}

static const struct exq__source_ops mem_ops = {"mem", mem_read, mem_close};

exq_status exq__src_mem_open(exq__source **out, const void *buf, size_t len,
			     exq__err *err)
{
	exq__source *s;
	if (!buf && len)
		return exq__err_set(err, EXQ_INVALID, "NULL buffer");
	s = calloc(1, sizeof(*s));
	if (!s)
		return exq__err_set(err, EXQ_NOMEM, "out of memory");
	s->ops = &mem_ops;
	s->size = len;
	s->priv = (void *)(uintptr_t)buf;
	s->base = buf;
	*out = s;
	return EXQ_OK;
}

/* ---- file ---- */

struct file_priv {
	int fd;
};

static exq_status file_read(exq__source *src, uint64_t off, void *buf,
			    size_t len, exq__err *err)
{
	struct file_priv *fp = src->priv;
	uint8_t *p = buf;
	while (len) {
		ssize_t n = pread(fp->fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return exq__err_set(err, EXQ_IO,
					    "read at offset 0x%llx failed: %s",
					    (unsigned long long)off,
					    strerror(errno));
		}
		if (n == 0)
			return exq__err_set(err, EXQ_IO,
					    "file ended at offset 0x%llx (it "
					    "shrank while open?)",
					    (unsigned long long)off);
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return EXQ_OK;
}

static void file_close(exq__source *src)
{
	struct file_priv *fp = src->priv;
	close(fp->fd);
	free(fp);
	free(src);
}

static const struct exq__source_ops file_ops = {"file", file_read, file_close};

int exq__src_fd(const exq__source *src)
{
	return src && src->ops == &file_ops ? ((struct file_priv *)src->priv)->fd
					    : -1;
}

exq_status exq__src_file_open(exq__source **out, const char *path,
			      exq__err *err)
{
	struct stat st;
	exq__source *s;
	struct file_priv *fp;
	/* O_NONBLOCK: a FIFO with no writer must not block the open (it is
	 * refused below); regular files and devices ignore the flag. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return exq__err_set(err, EXQ_IO, "cannot open '%s': %s", path,
				    strerror(errno));
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return exq__err_set(err, EXQ_IO, "cannot stat '%s': %s", path,
				    strerror(e));
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return exq__err_set(err, EXQ_IO, "'%s' is a directory", path);
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		/* pipes, FIFOs, sockets, character devices: exq reads at
		 * offsets, which these cannot serve */
		close(fd);
		return exq__err_set(err, EXQ_IO,
				    "'%s' is %s, not a file exq can read at any "
				    "offset: save it to a file first",
				    path, S_ISFIFO(st.st_mode)   ? "a pipe or FIFO"
					  : S_ISSOCK(st.st_mode) ? "a socket"
								 : "a character device");
	}
	s = calloc(1, sizeof(*s));
	fp = calloc(1, sizeof(*fp));
	if (!s || !fp) {
		free(s);
		free(fp);
		close(fd);
		return exq__err_set(err, EXQ_NOMEM, "out of memory");
	}
	fp->fd = fd;
	s->ops = &file_ops;
	s->priv = fp;
	s->size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
	if (!S_ISREG(st.st_mode)) {
		/* A block device: ask for its size by seeking to the end. */
		off_t end = lseek(fd, 0, SEEK_END);
		s->size = end > 0 ? (uint64_t)end : 0;
	}
	*out = s;
	return EXQ_OK;
}
