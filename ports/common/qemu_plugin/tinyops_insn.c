/*
 * tinyops-tflm QEMU TCG plugin: counts guest instructions, deterministically,
 * and records the running count each time the guest executes the first
 * instruction of a marker function (tinyops_op_marker in the firmware, called
 * at every op boundary). The host turns consecutive marks into per-op counts.
 *
 * Arguments (qemu-system-arm -plugin ./libtinyops_insn.so,marker=0x...,out=FILE):
 *   marker=ADDR   guest address of the marker function (Thumb bit ignored)
 *   out=FILE      where to write the records (default: QEMU's log / stderr)
 * Records, one a line:  "mark <count>" per marker hit, "total <count>" at exit.
 * <count> = instructions executed before the marker instruction.
 *
 * Built by tinyops_tflm/emulate.py with the host C compiler:
 *   cc -shared -fPIC -O2 -o libtinyops_insn.so tinyops_insn.c
 *
 * Debian's QEMU 7.2 ships no qemu-plugin.h, so the handful of plugin API v1
 * entry points used here are declared below from the QEMU TCG plugin API
 * documentation; QEMU resolves them when it loads the plugin.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- QEMU plugin API v1 (QEMU 7.2) declarations --------------------------- */
typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t; /* only passed through */
struct qemu_plugin_tb;
struct qemu_plugin_insn;

enum qemu_plugin_cb_flags {
    QEMU_PLUGIN_CB_NO_REGS,
    QEMU_PLUGIN_CB_R_REGS,
    QEMU_PLUGIN_CB_RW_REGS,
};

enum qemu_plugin_op {
    QEMU_PLUGIN_INLINE_ADD_U64,
};

typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
                                              void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
                                            qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb,
                                    void *userdata);
void qemu_plugin_outs(const char *string);

#define PLUGIN_EXPORT __attribute__((visibility("default")))
PLUGIN_EXPORT int qemu_plugin_version = 1;

/* ---- the plugin ------------------------------------------------------------- */

/* One vCPU (Cortex-M): a plain counter updated inline by TCG code. */
static uint64_t insn_count;
static uint64_t marker_addr = UINT64_MAX;
static FILE *out;
static uint64_t marks;

static void emit(const char *kind, uint64_t value)
{
    char line[64];
    snprintf(line, sizeof(line), "%s %" PRIu64 "\n", kind, value);
    if (out) {
        fputs(line, out);
        fflush(out);
    } else {
        qemu_plugin_outs(line);
    }
}

/* userdata = how many instructions of the marker's TB are at or after it:
 * the TB's inline add has already counted them. */
static void on_marker(unsigned int vcpu_index, void *userdata)
{
    (void)vcpu_index;
    ++marks;
    emit("mark", insn_count - (uint64_t)(uintptr_t)userdata);
}

static void on_tb_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    const size_t n = qemu_plugin_tb_n_insns(tb);
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &insn_count, n);
    for (size_t i = 0; i < n; ++i) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        if (qemu_plugin_insn_vaddr(insn) == marker_addr) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_marker, QEMU_PLUGIN_CB_NO_REGS,
                                                   (void *)(uintptr_t)(n - i));
        }
    }
}

static void on_plugin_exit(qemu_plugin_id_t id, void *userdata)
{
    (void)id;
    (void)userdata;
    emit("total", insn_count);
    if (out) {
        fclose(out);
        out = NULL;
    }
}

PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
                                      char **argv)
{
    (void)info;
    for (int i = 0; i < argc; ++i) {
        const char *arg = argv[i];
        if (strncmp(arg, "marker=", 7) == 0) {
            marker_addr = strtoull(arg + 7, NULL, 0) & ~(uint64_t)1;
        } else if (strncmp(arg, "out=", 4) == 0) {
            out = fopen(arg + 4, "w");
            if (!out) {
                fprintf(stderr, "tinyops_insn: cannot open %s\n", arg + 4);
                return -1;
            }
        } else {
            fprintf(stderr, "tinyops_insn: unknown argument '%s'\n", arg);
            return -1;
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_translate);
    qemu_plugin_register_atexit_cb(id, on_plugin_exit, NULL);
    return 0;
}
