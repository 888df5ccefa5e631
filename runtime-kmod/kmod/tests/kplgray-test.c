// SPDX-License-Identifier: GPL-2.0
/*
 * kplgray-test: drives the sample client's /dev/kplgray for the kernel
 * test (runtime-kmod/kmod/tests/vm-test.sh).
 *
 *   kplgray-test frame DEV IN EXPECT
 *       one write() of IN's bytes (one frame), then read() to the end;
 *       the output must equal EXPECT byte for byte.
 *   kplgray-test loop DEV IN EXPECT N [STOPFILE]
 *       the same N times on one open file, or until STOPFILE exists;
 *       every frame must succeed and match.
 *
 * DEV is a path, or fd:N for a descriptor the shell holds open (so that
 * one open file, and the plugin reference it holds, spans several runs).
 * Errors name the failing call and strerror (e.g. "write: No such file or
 * directory"); exit status 0 only if every frame matched.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned char *slurp(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *buf;
	size_t got = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(2);
	}
	buf = malloc(st.st_size + 1);
	if (!buf)
		exit(2);
	while ((n = read(fd, buf + got, st.st_size - got)) > 0)
		got += n;
	close(fd);
	*len = got;
	return buf;
}

/* One frame through fd: 0 if the output equals `want`, else 1 (reported). */
static int frame(int fd, const unsigned char *in, size_t in_len,
		 const unsigned char *want, size_t want_len, unsigned char *out)
{
	size_t got = 0, i;
	ssize_t n;

	n = write(fd, in, in_len);
	if (n < 0) {
		printf("write: %s\n", strerror(errno));
		return 1;
	}
	if ((size_t)n != in_len) {
		printf("write: %zd of %zu bytes\n", n, in_len);
		return 1;
	}
	/* One byte more than expected: a longer output is a mismatch too. */
	while ((n = read(fd, out + got, want_len + 1 - got)) > 0)
		got += n;
	if (n < 0) {
		printf("read: %s\n", strerror(errno));
		return 1;
	}
	if (got != want_len) {
		printf("mismatch: %zu bytes out, %zu expected\n", got, want_len);
		return 1;
	}
	for (i = 0; i < got; i++)
		if (out[i] != want[i]) {
			printf("mismatch at byte %zu: %u, expected %u\n", i, out[i], want[i]);
			return 1;
		}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned char *in, *want, *out;
	size_t in_len, want_len;
	long n = 1, i, bad = 0;
	const char *stop = NULL;
	int fd;

	if (argc < 5 || (strcmp(argv[1], "frame") && strcmp(argv[1], "loop")) ||
	    (!strcmp(argv[1], "frame") && argc != 5) ||
	    (!strcmp(argv[1], "loop") && (argc < 6 || argc > 7))) {
		fprintf(stderr, "usage: kplgray-test frame DEV IN EXPECT\n"
			"       kplgray-test loop DEV IN EXPECT N [STOPFILE]\n");
		return 2;
	}
	if (!strcmp(argv[1], "loop")) {
		n = atol(argv[5]);
		stop = argc == 7 ? argv[6] : NULL;
	}
	in = slurp(argv[3], &in_len);
	want = slurp(argv[4], &want_len);
	out = malloc(want_len + 1);
	if (!out)
		return 2;
	if (!strncmp(argv[2], "fd:", 3)) {
		fd = atoi(argv[2] + 3);
	} else {
		fd = open(argv[2], O_RDWR);
		if (fd < 0) {
			printf("open: %s\n", strerror(errno));
			return 1;
		}
	}
	for (i = 0; i < n && !(stop && access(stop, F_OK) == 0); i++)
		if (frame(fd, in, in_len, want, want_len, out))
			bad++;
	if (!strcmp(argv[1], "loop"))
		printf("loop %s: %ld frames, %ld failed\n", argv[3], i, bad);
	else if (!bad)
		printf("frame %s: %zu bytes in, %zu out, identical\n", argv[3], in_len, want_len);
	return bad || i == 0;
}
