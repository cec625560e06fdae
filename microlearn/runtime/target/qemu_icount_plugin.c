/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * microlearn: QEMU TCG plugin that counts guest instructions between two marker
 * functions. It is built against qemu-plugin.h (GPL-2.0-or-later), so this file is
 * GPL-2.0-or-later too; it is compiled on the user's machine, at first use, into
 * microlearn's cache directory, with the header taken from the distribution's QEMU
 * source package (the header is never shipped with microlearn).
 *
 * Arguments (-plugin libmlicount.so,start=0x...,stop=0x...):
 *   start=ADDR  address of bench_start() (the Thumb bit is ignored)
 *   stop=ADDR   address of bench_stop()
 *
 * Output (through qemu_plugin_outs, i.e. the QEMU log: run with -d plugin -D FILE):
 *   "R <n>"   one line per region, in execution order: instructions executed from the
 *             first instruction of bench_start() up to the first instruction of
 *             bench_stop() (both included)
 *   "U"       a bench_stop() without a preceding bench_start() (a harness bug)
 *   "T <n>"   at exit: all instructions executed by the guest
 *
 * Counting is exact and deterministic (an inline add per executed instruction, no
 * sampling): the same firmware gives the same numbers on every run. QEMU 7.2 API (v1),
 * no glib, one vCPU.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

static uint64_t total;      /* incremented inline for every executed instruction */
static uint64_t start_addr = UINT64_MAX;
static uint64_t stop_addr = UINT64_MAX;
static uint64_t at_start;
static int armed;

static void on_start(unsigned int cpu, void *udata)
{
    (void)cpu;
    (void)udata;
    at_start = total;
    armed = 1;
}

static void on_stop(unsigned int cpu, void *udata)
{
    char line[64];
    (void)cpu;
    (void)udata;
    if (!armed) {
        qemu_plugin_outs("U\n");
        return;
    }
    armed = 0;
    snprintf(line, sizeof line, "R %" PRIu64 "\n", total - at_start);
    qemu_plugin_outs(line);
}

static void on_tb_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    size_t n = qemu_plugin_tb_n_insns(tb);
    (void)id;
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t va = qemu_plugin_insn_vaddr(insn);
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &total, 1);
        if (va == start_addr) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_start, QEMU_PLUGIN_CB_NO_REGS, NULL);
        }
        if (va == stop_addr) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_stop, QEMU_PLUGIN_CB_NO_REGS, NULL);
        }
    }
}

static void at_guest_exit(qemu_plugin_id_t id, void *udata)
{
    char line[64];
    (void)id;
    (void)udata;
    snprintf(line, sizeof line, "T %" PRIu64 "\n", total);
    qemu_plugin_outs(line);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                           int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "start=", 6) == 0) {
            start_addr = strtoull(argv[i] + 6, NULL, 0) & ~(uint64_t)1;
        } else if (strncmp(argv[i], "stop=", 5) == 0) {
            stop_addr = strtoull(argv[i] + 5, NULL, 0) & ~(uint64_t)1;
        } else {
            fprintf(stderr, "microlearn icount plugin: unknown argument '%s'\n", argv[i]);
            return -1;
        }
    }
    if (start_addr == UINT64_MAX || stop_addr == UINT64_MAX) {
        fprintf(stderr, "microlearn icount plugin: needs start=ADDR and stop=ADDR\n");
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_translate);
    qemu_plugin_register_atexit_cb(id, at_guest_exit, NULL);
    return 0;
}
