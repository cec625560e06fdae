/*
 * microlearn target harness: minimal bare-metal startup for the QEMU machines used to
 * measure models (Cortex-M on mps2-an385/an386/an500, RV32 on virt).
 *
 * Reset: stack pointer from the linker script, FPU on (Cortex-M with FPU), .data copied
 * from flash, .bss (and RISC-V .tbss) zeroed, main(), then exit through semihosting with
 * main()'s return value, which becomes QEMU's exit status. Any fault or trap exits with
 * MLH_EXIT_FAULT. No C library start-up code is used (the firmware only needs the C
 * library for libm and memcpy), no interrupts are enabled.
 */
#include <stdint.h>

#include "mlh_semihost.h"

extern uint32_t __data_start__, __data_end__, __data_load__;
extern uint32_t __bss_start__, __bss_end__;
extern uint32_t __StackTop;
extern int main(void);

void mlh_c_start(void) __attribute__((noreturn));
void mlh_fault(void) __attribute__((noreturn));

static void mlh_copy_words(uint32_t *dst, const uint32_t *end, const uint32_t *src)
{
    while (dst < end) {
        *dst++ = *src++;
    }
}

static void mlh_zero_words(uint32_t *dst, const uint32_t *end)
{
    while (dst < end) {
        *dst++ = 0u;
    }
}

void mlh_exit(int32_t code)
{
    uint32_t block[2];
    block[0] = MLH_ADP_STOPPED_APPLICATION_EXIT;
    block[1] = (uint32_t)code;
    (void)mlh_semihost_call(MLH_SYS_EXIT_EXTENDED, block);
    for (;;) {
    }
}

void mlh_fault(void)
{
    mlh_exit(MLH_EXIT_FAULT);
}

#if defined(__riscv)

extern uint32_t __tdata_start__, __tdata_end__, __tdata_load__, __tbss_start__, __tbss_end__;

/* _start must be the first code at the start of RAM (QEMU virt with -bios none jumps
 * there). The semihosting sequence must be these three uncompressed instructions,
 * aligned so that they do not straddle a page. */
__asm__(
    "    .section .text.mlh_start, \"ax\", @progbits\n"
    "    .globl _start\n"
    "_start:\n"
    "    .option push\n"
    "    .option norelax\n"
    "    la gp, __global_pointer$\n"
    "    .option pop\n"
    "    la sp, __StackTop\n"
    "    la tp, __tdata_start__\n"
    "    la t0, mlh_trap_entry\n"
    "    .option push\n"
    "    .option arch, +zicsr\n" /* binutils >= 2.38 split Zicsr out of "I" */
    "    csrw mtvec, t0\n"
    "    .option pop\n"
    "    call mlh_c_start\n"
    "    .balign 4\n"
    "mlh_trap_entry:\n"
    "    la sp, __StackTop\n"
    "    call mlh_fault\n"
    "    .section .text.mlh_semihost_call, \"ax\", @progbits\n"
    "    .globl mlh_semihost_call\n"
    "    .balign 16\n"
    "mlh_semihost_call:\n"
    "    .option push\n"
    "    .option norvc\n"
    "    slli zero, zero, 0x1f\n"
    "    ebreak\n"
    "    srai zero, zero, 7\n"
    "    .option pop\n"
    "    ret\n");

void mlh_c_start(void)
{
    mlh_copy_words(&__data_start__, &__data_end__, &__data_load__);
    mlh_copy_words(&__tdata_start__, &__tdata_end__, &__tdata_load__);
    mlh_zero_words(&__tbss_start__, &__tbss_end__);
    mlh_zero_words(&__bss_start__, &__bss_end__);
    mlh_exit(main());
}

#elif defined(__arm__)

int32_t mlh_semihost_call(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return (int32_t)r0;
}

void mlh_c_start(void)
{
#if defined(__ARM_FP)
    /* CPACR: full access to CP10/CP11 (the FPU) */
    *(volatile uint32_t *)0xE000ED88u |= (0xFu << 20);
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    mlh_copy_words(&__data_start__, &__data_end__, &__data_load__);
    mlh_zero_words(&__bss_start__, &__bss_end__);
    mlh_exit(main());
}

typedef void (*mlh_vector_t)(void);

/* Cortex-M vector table: initial SP, reset, NMI, HardFault, MemManage, BusFault,
 * UsageFault, 4 reserved, SVCall, DebugMon, reserved, PendSV, SysTick */
__attribute__((section(".isr_vector"), used)) const mlh_vector_t mlh_vector_table[16] = {
    (mlh_vector_t)(uintptr_t)&__StackTop,
    mlh_c_start,
    mlh_fault, mlh_fault, mlh_fault, mlh_fault, mlh_fault,
    0, 0, 0, 0,
    mlh_fault, mlh_fault, 0, mlh_fault, mlh_fault,
};

#else
#error "microlearn target startup: unsupported architecture (Cortex-M or RISC-V expected)"
#endif
