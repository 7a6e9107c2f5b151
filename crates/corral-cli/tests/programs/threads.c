/* Syscalls made only by threads (glibc starts them with clone3), and a
 * futex wake from the main thread, so that strace and the recorder see
 * the same calls whatever the threads' timing. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static int word;

static void *work(void *arg)
{
	struct rusage usage;
	cpu_set_t set;
	(void)arg;
	syscall(SYS_gettid);
	getrusage(RUSAGE_THREAD, &usage);
	sched_getaffinity(0, sizeof set, &set);
	return NULL;
}

int main(void)
{
	pthread_t threads[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&threads[i], NULL, work, NULL);
	syscall(SYS_futex, &word, FUTEX_WAKE, 1, NULL, NULL, 0);
	for (int i = 0; i < 3; i++)
		pthread_join(threads[i], NULL);
	return 0;
}
