/* Two 32-bit compat syscalls from a 64-bit program, through int 0x80 (the
 * i386 ABI's numbers): getpid (20) and getppid (64). */
int main(void)
{
	long result;
	__asm__ volatile("int $0x80" : "=a"(result) : "a"(20L) : "memory");
	__asm__ volatile("int $0x80" : "=a"(result) : "a"(64L) : "memory");
	return result > 0 ? 0 : 1;
}
