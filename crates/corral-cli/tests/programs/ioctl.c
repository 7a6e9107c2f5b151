/* ioctl on a terminal (a pseudo-terminal's master and slave) and on a
 * socket: the calls a shell, a REPL or a network daemon makes. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

int main(void)
{
	struct winsize size;
	struct termios modes;
	int pending = 0;
	int master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0) {
		int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
		ioctl(master, TIOCGWINSZ, &size);
		if (slave >= 0)
			tcgetattr(slave, &modes);
	}
	int sock = socket(AF_INET, SOCK_DGRAM, 0);
	ioctl(sock, FIONREAD, &pending);
	return 0;
}
