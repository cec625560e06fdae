/* Minimal Cortex-M startup for QEMU: vector table, .data/.bss init, FPU enable,
   newlib-rdimon semihosting init, main(), exit(status) via semihosting.
   A fault prints a message on the host's stderr and makes QEMU exit with status 1. */
#include <stdint.h>
#include <stdlib.h>
extern uint32_t __etext, __data_start__, __data_end__, __bss_start__, __bss_end__, __StackTop;
extern int main(void);
extern void initialise_monitor_handles(void);
extern void __libc_init_array(void);

static void semihost_call(uint32_t op, const void *arg) {
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile ("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
}

void Fault_Handler(void) {
    semihost_call(0x04, "\nFATAL: CPU fault (HardFault/MemManage/BusFault/UsageFault)\n");  /* SYS_WRITE0 */
    semihost_call(0x18, (const void *)0x20023u);   /* SYS_EXIT, ADP_Stopped_RunTimeErrorUnknown -> exit 1 */
    for (;;) {}
}

void Reset_Handler(void) {
#if defined(__ARM_FP)
    *(volatile uint32_t *)0xE000ED88u |= (0xFu << 20);   /* CPACR: enable CP10/CP11 */
    __asm__ volatile ("dsb\n isb");
#endif
    uint32_t *src = &__etext, *dst = &__data_start__;
    while (dst < &__data_end__) *dst++ = *src++;
    for (dst = &__bss_start__; dst < &__bss_end__; ) *dst++ = 0;
    initialise_monitor_handles();
    __libc_init_array();
    exit(main());
}

__attribute__((section(".isr_vector"), used))
void (* const vector_table[16])(void) = {
    (void (*)(void))&__StackTop, Reset_Handler,
    Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,  /* NMI HardFault MemManage BusFault UsageFault */
    0, 0, 0, 0, Fault_Handler, Fault_Handler, 0, Fault_Handler, Fault_Handler   /* SVC DebugMon PendSV SysTick */
};

/* __libc_init_array wants _init/_fini when -nostartfiles is used */
void _init(void) {}
void _fini(void) {}
