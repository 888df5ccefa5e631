// SPDX-License-Identifier: GPL-2.0
/*
 * kpl-test-load FILE.kpo [NAME]: loads an object through a KPL_TESTING
 * module's unverified-load ioctl (kpl_testing.h) and prints its id. For
 * the kernel test only (runtime-kmod/kmod/tests/vm-test.sh): a shipped
 * module does not have the ioctl and answers ENOTTY.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "../kpl_testing.h"

int main(int argc, char **argv)
{
	static unsigned char obj[1 << 20];
	struct kpl_load req;
	size_t n;
	FILE *f;
	int fd;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: kpl-test-load FILE.kpo [NAME]\n");
		return 2;
	}
	f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 2;
	}
	n = fread(obj, 1, sizeof(obj), f);
	fclose(f);
	memset(&req, 0, sizeof(req));
	req.obj_ptr = (uintptr_t)obj;
	req.obj_len = (uint32_t)n;
	snprintf((char *)req.name, sizeof(req.name), "%s", argc == 3 ? argv[2] : "rogue");
	fd = open("/dev/kpl", O_RDWR);
	if (fd < 0) {
		perror("/dev/kpl");
		return 2;
	}
	if (ioctl(fd, KPL_IOC_TEST_LOAD_UNVERIFIED, &req) < 0) {
		fprintf(stderr, "kpl-test-load: %s (stage %u: %s)\n", strerror(errno),
			req.err_stage, (char *)req.err_msg);
		return 1;
	}
	printf("%u\n", req.id);
	return 0;
}
