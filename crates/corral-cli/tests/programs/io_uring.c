/* io_uring's three syscalls, called directly: setup, enter and register.
 * Where the kernel disables io_uring they fail, and are still made. */
#include <linux/io_uring.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	struct io_uring_params params;
	memset(&params, 0, sizeof params);
	long ring = syscall(__NR_io_uring_setup, 4, &params);
	syscall(__NR_io_uring_enter, (int)ring, 0, 0, 0, NULL, 0);
	syscall(__NR_io_uring_register, (int)ring, IORING_UNREGISTER_BUFFERS, NULL, 0);
	if (ring >= 0)
		close((int)ring);
	return 0;
}
