/* fcntl's commands: flags, descriptor duplication, record locks and pipe
 * sizes, on a file and a pipe. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
	char path[] = "/tmp/corral-fcntl-XXXXXX";
	int fd = mkstemp(path);
	int pipes[2];
	struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	if (fd < 0 || pipe(pipes) != 0)
		return 1;
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_APPEND);
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	fcntl(fd, F_SETLK, &lock);
	fcntl(fd, F_GETLK, &lock);
	fcntl(pipes[0], F_GETPIPE_SZ);
	close(copy);
	unlink(path);
	return 0;
}
