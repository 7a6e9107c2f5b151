/* Attack surface no server needs: unshare(CLONE_NEWUSER), the first step
 * of many container escapes. Prints "unshare: 0" or "unshare: -ERRNO".
 * Without libc, so that the only syscalls it makes are execve, unshare,
 * write and exit_group: it runs under any server's profile. */
#define _GNU_SOURCE
#include <sched.h>
#include <sys/syscall.h>

static long call(long number, long a, long b, long c)
{
	long result;
	__asm__ volatile("syscall"
			 : "=a"(result)
			 : "a"(number), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return result;
}

void _start(void)
{
	char line[32] = "unshare: ";
	int at = 9;
	long result = call(SYS_unshare, CLONE_NEWUSER, 0, 0);
	unsigned long magnitude = result < 0 ? -result : result;
	char digits[24];
	int n = 0;
	if (result < 0)
		line[at++] = '-';
	do {
		digits[n++] = '0' + magnitude % 10;
		magnitude /= 10;
	} while (magnitude);
	while (n)
		line[at++] = digits[--n];
	line[at++] = '\n';
	call(SYS_write, 1, (long)line, at);
	call(SYS_exit_group, 0, 0, 0);
	for (;;)
		call(SYS_exit, 0, 0, 0);
}
