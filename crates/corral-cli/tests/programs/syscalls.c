/* Makes a known list of syscalls, rare ones included, from a process and a
 * forked child, for `corral record` to find. */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/timerfd.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void) {
	unsigned cpu, node;
	char buf[16];
	struct utsname u;
	struct sysinfo si;
	struct tms t;
	cpu_set_t set;
	syscall(SYS_getcpu, &cpu, &node, NULL);
	personality(0xffffffff);
	syscall(SYS_membarrier, 0, 0);
	sched_getaffinity(0, sizeof set, &set);
	syscall(SYS_memfd_create, "corral", 0);
	timerfd_create(CLOCK_MONOTONIC, 0);
	eventfd(0, 0);
	inotify_init1(0);
	getrandom(buf, sizeof buf, 0);
	prctl(PR_GET_DUMPABLE);
	uname(&u);
	sysinfo(&si);
	times(&t);
	syscall(SYS_pidfd_open, getpid(), 0);
	struct timespec ts = {0, 1000};
	clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
	pid_t child = fork();
	if (child == 0) {
		syscall(SYS_getppid);
		syscall(SYS_sched_yield);
		_exit(0);
	}
	waitpid(child, NULL, 0);
	return 0;
}
