/*
 * microlearn AVR runner: runs an AVR ELF in simavr (libsimavr) and exchanges bytes with it.
 * A host program, built by microlearn.avr with the system C compiler against libsimavr.
 *
 *   avr_sim MODE MCU FREQ_HZ ELF IN OUT CYCLES_LOG MAX_CYCLES
 *
 * MODE "io": the microlearn AVR harness (avr_harness.c). The firmware reads its input
 *   one byte per read of GPIOR2 (the bytes of IN, then 0) and writes its output bytes to
 *   GPIOR0 (appended to OUT). A write of 1 to GPIOR1 starts a counted region, a write
 *   of 2 ends it: CYCLES_LOG gets one line "R <cycles>" per region (avr->cycle, the
 *   simulated clock cycles, between the two writes).
 * MODE "uart": any firmware talking over USART0 (an Arduino sketch): the bytes of IN are
 *   fed to its receiver (as fast as its receive buffer takes them), the bytes it sends
 *   are appended to OUT. CYCLES_LOG gets "T <cycles>" at the end.
 *
 * The run ends when the firmware sleeps with interrupts off (exit(), or the harness'
 * end) -> status 0; when it crashes -> 4; after MAX_CYCLES cycles -> 5 (timeout); bad
 * arguments, unreadable ELF or unknown MCU -> 2.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <simavr/avr_uart.h>
#include <simavr/sim_avr.h>
#include <simavr/sim_elf.h>
#include <simavr/sim_io.h>
#include <simavr/sim_irq.h>

/* data-space addresses of GPIOR0..2 on the ATmega48/88/168/328 family */
#define AVRS_OUT_ADDR 0x3E
#define AVRS_MARK_ADDR 0x4A
#define AVRS_IN_ADDR 0x4B
/* uart mode: the run ends this many cycles after the last byte in or out once all the
 * input was sent (an Arduino sketch never returns from loop()) */
#define AVRS_IDLE_CYCLES 8000000ull

typedef struct avrs_state {
    const uint8_t *in;
    size_t in_len;
    size_t in_pos;
    FILE *out;
    FILE *log;
    avr_cycle_count_t start;
    int open;
    int bad_marker;
    avr_irq_t *uart_in;
    int xon;
    avr_cycle_count_t last_activity;
    avr_t *avr;
} avrs_state_t;

static uint8_t *avrs_read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    if (f == NULL) {
        return NULL;
    }
    for (;;) {
        if (n == cap) {
            uint8_t *grown;
            cap = cap ? cap * 2 : 4096;
            grown = (uint8_t *)realloc(buf, cap);
            if (grown == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            break;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static uint8_t avrs_in_read(avr_t *avr, avr_io_addr_t addr, void *param)
{
    avrs_state_t *s = (avrs_state_t *)param;
    (void)avr;
    (void)addr;
    return s->in_pos < s->in_len ? s->in[s->in_pos++] : 0u;
}

static void avrs_out_write(avr_t *avr, avr_io_addr_t addr, uint8_t v, void *param)
{
    avrs_state_t *s = (avrs_state_t *)param;
    avr->data[addr] = v;
    fputc(v, s->out);
}

static void avrs_mark_write(avr_t *avr, avr_io_addr_t addr, uint8_t v, void *param)
{
    avrs_state_t *s = (avrs_state_t *)param;
    avr->data[addr] = v;
    if (v == 1u && !s->open) {
        s->start = avr->cycle;
        s->open = 1;
    } else if (v == 2u && s->open) {
        fprintf(s->log, "R %llu\n", (unsigned long long)(avr->cycle - s->start));
        s->open = 0;
    } else {
        s->bad_marker = 1;
    }
}

static void avrs_uart_out(struct avr_irq_t *irq, uint32_t value, void *param)
{
    avrs_state_t *s = (avrs_state_t *)param;
    (void)irq;
    fputc((int)(value & 0xFFu), s->out);
    s->last_activity = s->avr->cycle;
}

static void avrs_uart_xon(struct avr_irq_t *irq, uint32_t value, void *param)
{
    avrs_state_t *s = (avrs_state_t *)param;
    (void)irq;
    (void)value;
    s->xon = 1;
}

static void avrs_uart_xoff(struct avr_irq_t *irq, uint32_t value, void *param)
{
    avrs_state_t *s = (avrs_state_t *)param;
    (void)irq;
    (void)value;
    s->xon = 0;
}

int main(int argc, char **argv)
{
    avrs_state_t s;
    elf_firmware_t fw;
    avr_t *avr;
    int uart, state, status = 0;
    unsigned long long max_cycles;

    if (argc != 9 || (strcmp(argv[1], "io") != 0 && strcmp(argv[1], "uart") != 0)) {
        fprintf(stderr, "usage: avr_sim io|uart MCU FREQ_HZ ELF IN OUT CYCLES_LOG MAX_CYCLES\n");
        return 2;
    }
    uart = strcmp(argv[1], "uart") == 0;
    max_cycles = strtoull(argv[8], NULL, 10);
    memset(&s, 0, sizeof s);
    memset(&fw, 0, sizeof fw);
    s.in = avrs_read_all(argv[5], &s.in_len);
    if (s.in == NULL && s.in_len != 0) {
        fprintf(stderr, "avr_sim: cannot read %s\n", argv[5]);
        return 2;
    }
    if (elf_read_firmware(argv[4], &fw) != 0) {
        fprintf(stderr, "avr_sim: cannot read the ELF file %s\n", argv[4]);
        return 2;
    }
    avr = avr_make_mcu_by_name(argv[2]);
    if (avr == NULL) {
        fprintf(stderr, "avr_sim: unknown MCU %s\n", argv[2]);
        return 2;
    }
    avr_init(avr);
    s.avr = avr;
    avr->log = 0;
    fw.frequency = (uint32_t)strtoul(argv[3], NULL, 10);
    strncpy(fw.mmcu, argv[2], sizeof fw.mmcu - 1);
    avr_load_firmware(avr, &fw);
    avr->frequency = fw.frequency;
    s.out = fopen(argv[6], "wb");
    s.log = fopen(argv[7], "w");
    if (s.out == NULL || s.log == NULL) {
        fprintf(stderr, "avr_sim: cannot write %s / %s\n", argv[6], argv[7]);
        return 2;
    }
    if (uart) {
        uint32_t flags = 0;
        avr_ioctl(avr, AVR_IOCTL_UART_GET_FLAGS('0'), &flags);
        flags &= ~(uint32_t)(AVR_UART_FLAG_STDIO | AVR_UART_FLAG_POLL_SLEEP);
        avr_ioctl(avr, AVR_IOCTL_UART_SET_FLAGS('0'), &flags);
        s.uart_in = avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_INPUT);
        avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUTPUT),
                                avrs_uart_out, &s);
        avr_irq_register_notify(
            avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XON), avrs_uart_xon, &s);
        avr_irq_register_notify(
            avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XOFF), avrs_uart_xoff,
            &s);
    } else {
        avr_register_io_read(avr, AVRS_IN_ADDR, avrs_in_read, &s);
        avr_register_io_write(avr, AVRS_OUT_ADDR, avrs_out_write, &s);
        avr_register_io_write(avr, AVRS_MARK_ADDR, avrs_mark_write, &s);
    }
    for (;;) {
        if (uart && s.xon && s.in_pos < s.in_len) {
            avr_raise_irq(s.uart_in, s.in[s.in_pos++]);
            s.last_activity = avr->cycle;
        }
        if (uart && s.in_pos == s.in_len && avr->cycle - s.last_activity > AVRS_IDLE_CYCLES) {
            break; /* all input sent and the firmware has been silent for a while */
        }
        state = avr_run(avr);
        if (state == cpu_Done) {
            break;
        }
        if (state == cpu_Crashed) {
            status = 4;
            break;
        }
        if (avr->cycle > max_cycles) {
            status = 5;
            break;
        }
    }
    if (uart) {
        fprintf(s.log, "T %llu\n", (unsigned long long)avr->cycle);
    }
    if (s.bad_marker || s.open) {
        fprintf(s.log, "U\n");
    }
    fclose(s.out);
    fclose(s.log);
    return status;
}
