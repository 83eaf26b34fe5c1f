/* Reports a status to the test harness through QEMU's isa-debug-exit device (iobase 0xf4):
 * QEMU exits with (status << 1) | 1. The Debian kernels have no /dev/port, so this takes
 * the port with ioperm(2) and writes it directly. Built with gcc -static for the initrd. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: qemu-exit STATUS (0-127)\n");
        return 2;
    }
    long status = strtol(argv[1], NULL, 10);
    if (status < 0 || status > 127) {
        fprintf(stderr, "qemu-exit: status %ld is not in 0-127\n", status);
        return 2;
    }
    if (ioperm(0xf4, 4, 1) != 0) {
        perror("qemu-exit: ioperm");
        return 1;
    }
    outb((unsigned char)status, 0xf4);
    /* Still running: there is no isa-debug-exit device. */
    fprintf(stderr, "qemu-exit: no isa-debug-exit device at 0xf4\n");
    return 1;
}
