/* SPDX-License-Identifier: MIT */
/*
 * rusage — runs a command with a time limit and reports its peak memory:
 * the hang detector and memory meter of tests/golden/corpus.sh.
 *
 *   rusage [-t SECONDS] [-o FILE] -- COMMAND [ARGS...]
 *
 * Writes "maxrss_kb=N wall_ms=N rchar=N" (the child's ru_maxrss from
 * wait4, the wall time, and the bytes it read with read(2) and its kin:
 * /proc/PID/io's rchar, taken after it exited and before it is reaped; -1
 * when the kernel does not say) to FILE (default stderr) and exits with the
 * command's
 * exit status, 128 + signal when it was killed, or 124 when it ran past
 * SECONDS (default 10) and was killed.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t expired;

static void on_alarm(int sig)
{
	(void)sig;
	expired = 1;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)(t.tv_sec - t0->tv_sec) * 1000 +
	       (long)(t.tv_nsec - t0->tv_nsec) / 1000000;
}

int main(int argc, char **argv)
{
	unsigned secs = 10;
	const char *outpath = NULL;
	struct sigaction sa;
	struct rusage ru;
	struct timespec t0;
	int i = 1, status = 0, rc;
	long long rchar = -1;
	pid_t pid;
	FILE *out = stderr;
	for (; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "-t") && i + 1 < argc)
			secs = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "-o") && i + 1 < argc)
			outpath = argv[++i];
		else
			break;
	}
	if (i + 1 >= argc || strcmp(argv[i], "--")) {
		fprintf(stderr, "usage: rusage [-t SECONDS] [-o FILE] -- "
				"COMMAND [ARGS...]\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		perror("rusage: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[i + 1], argv + i + 1);
		perror("rusage: exec");
		_exit(127);
	}
	alarm(secs);
	{ /* exited, not reaped yet: its I/O counters are still there */
		siginfo_t si;
		char path[64], line[128];
		FILE *io;
		while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0) {
			if (errno != EINTR)
				break;
			if (expired)
				kill(pid, SIGKILL);
		}
		snprintf(path, sizeof(path), "/proc/%ld/io", (long)pid);
		if ((io = fopen(path, "r"))) {
			while (fgets(line, sizeof(line), io))
				if (sscanf(line, "rchar: %lld", &rchar) == 1)
					break;
			fclose(io);
		}
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("rusage: wait4");
			return 2;
		}
		if (expired)
			kill(pid, SIGKILL);
	}
	alarm(0);
	if (outpath && !(out = fopen(outpath, "w"))) {
		perror(outpath);
		return 2;
	}
	fprintf(out, "maxrss_kb=%ld wall_ms=%ld rchar=%lld\n", ru.ru_maxrss,
		ms_since(&t0), rchar);
	if (out != stderr)
		fclose(out);
	if (expired)
		rc = 124;
	else if (WIFEXITED(status))
		rc = WEXITSTATUS(status);
	else
		rc = 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return rc;
}
