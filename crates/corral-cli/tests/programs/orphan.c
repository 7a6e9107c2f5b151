/* A daemonising program: the parent exits at once; its child, orphaned,
 * goes on to make syscalls of its own (a socket and an ioctl on it). */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
	if (fork() == 0) {
		int pending = 0;
		usleep(200000);
		int sock = socket(AF_INET, SOCK_DGRAM, 0);
		ioctl(sock, FIONREAD, &pending);
		_exit(0);
	}
	return 0;
}
