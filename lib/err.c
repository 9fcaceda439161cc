/* SPDX-License-Identifier: MIT */
/* Status names and the detail message that gains context as it climbs. */
#include "exq_int.h"

#include <stdio.h>

const char *exq_strerror(exq_status st)
{
	static const char *const names[] = {
		[EXQ_OK] = "OK",
		[EXQ_NOMEM] = "NOMEM",
		[EXQ_IO] = "IO",
		[EXQ_INVALID] = "INVALID",
		[EXQ_UNSUPPORTED] = "UNSUPPORTED",
		[EXQ_CORRUPT] = "CORRUPT",
		[EXQ_NODATA] = "NODATA",
		[EXQ_NOTPRESENT] = "NOTPRESENT",
		[EXQ_NOTFOUND] = "NOTFOUND",
		[EXQ_LIMIT] = "LIMIT",
		[EXQ_DEP] = "DEP",
		[EXQ_CYCLE] = "CYCLE",
	};
	if ((unsigned)st < sizeof(names) / sizeof(names[0]) && names[st])
		return names[st];
	return "UNKNOWN";
}

const char *exq_version(void)
{
	return EXQ_VERSION_STRING;
}

void exq__err_clear(exq__err *e)
{
	e->msg[0] = '\0';
}

exq_status exq__err_set(exq__err *e, exq_status st, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return st;
}

exq_status exq__err_ctx(exq__err *e, exq_status st, const char *fmt, ...)
{
	char old[EXQ__ERR_MAX];
	size_t n;
	va_list ap;
	memcpy(old, e->msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	if (!old[0])
		return st;
	/* Append ": <old>" after the new context, truncating at the end. */
	n = strlen(e->msg);
	if (n + 2 < sizeof(e->msg)) {
		memcpy(e->msg + n, ": ", 2);
		n += 2;
		strncpy(e->msg + n, old, sizeof(e->msg) - n - 1);
		e->msg[sizeof(e->msg) - 1] = '\0';
	}
	return st;
}
