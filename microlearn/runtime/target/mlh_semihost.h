/*
 * microlearn target harness: semihosting (ARM "Angel" protocol, also used by QEMU for
 * RISC-V) and the harness' exit codes. Only what the harness needs: open/write/close a
 * host file and exit with a status that becomes QEMU's exit status.
 */
#ifndef MLH_SEMIHOST_H
#define MLH_SEMIHOST_H

#include <stdint.h>

#define MLH_SYS_OPEN 0x01u
#define MLH_SYS_CLOSE 0x02u
#define MLH_SYS_WRITE 0x05u
#define MLH_SYS_EXIT_EXTENDED 0x20u
#define MLH_ADP_STOPPED_APPLICATION_EXIT 0x20026u
#define MLH_OPEN_MODE_WB 5u /* "wb" */

/* exit statuses of the firmware (QEMU exits with them) */
#define MLH_EXIT_OK 0
#define MLH_EXIT_OPEN_FAILED 2
#define MLH_EXIT_WRITE_FAILED 3
#define MLH_EXIT_FAULT 4

/* one semihosting call: op in r0/a0, pointer to the parameter block in r1/a1 */
int32_t mlh_semihost_call(uint32_t op, const void *arg);

/* exit QEMU with status code (SYS_EXIT_EXTENDED, so the status is kept) */
void mlh_exit(int32_t code) __attribute__((noreturn));

#endif /* MLH_SEMIHOST_H */
