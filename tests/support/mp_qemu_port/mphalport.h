// HAL for the QEMU mps2 MicroPython port: no timers, no interrupt char, no pins.
static inline mp_uint_t mp_hal_ticks_ms(void) { return 0; }
#define mp_hal_ticks_ms mp_hal_ticks_ms
static inline void mp_hal_set_interrupt_char(char c) { (void)c; }
#define mp_hal_pin_obj_t void *   /* avoid extmod/virtpin.h (extmod/ is not in the sdist) */
