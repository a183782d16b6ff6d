/*
 * tinyops-tflm QEMU TCG plugin: guest instruction counts and, with a board
 * timing config, a cycle-approximate model of the STM32F469 (Cortex-M4F) and
 * STM32F746 (Cortex-M7) boards running the QEMU variant's code.
 *
 * Two modes:
 *   plain (no config=):  counts executed instructions with an inline per-TB
 *                        add (deterministic, fast) and records the count at
 *                        every tinyops_op_marker() call; with event= and
 *                        mailbox=, the DMA event function and the emulated
 *                        DMA's copies are not counted (as in cycles mode);
 *   cycles (config=F):   the cycle model below; instructions of the emulated
 *                        DMA's copies and of the DMA event function are not
 *                        counted (they are the DMA engine's work, costed by
 *                        the DMA model instead).
 *
 * Arguments (qemu-system-arm -plugin ./libtinyops_cycles.so,arg=...,arg=...):
 *   out=FILE        records (default: QEMU's log / stderr)
 *   marker=ADDR     tinyops_op_marker (optional)
 *   config=FILE     board timing (written by tinyops_tflm/planning/board_timing.py)
 *   event=ADDR      tinyops_dma_event (ports/common/src/dma_events.c), with
 *   event_end=ADDR  its end address, and
 *   mailbox=ADDR    tinyops_dma_mailbox (256-byte aligned)
 *   dump=1          print each translated instruction's decoding to stderr
 *   profile=FILE    plain mode: at exit, one line per translation block,
 *                   "pc n_insns executions" (hex pc), after a line
 *                   "# dma_copy_insns N" (the emulated DMA's copies, which
 *                   the blocks include and the counts leave out), for
 *                   tools/profile_firmware.py
 *
 * Records, one a line, key=value, counters cumulative from the start:
 *   mark insns=N cycles=N stall_mem=N stall_fetch=N stall_branch=N stall_dma=N
 *        dma_busy=N dma_jobs=N dma_bytes=N          (at every marker call)
 *   total ...                                       (same keys, at exit)
 * Plain mode prints only insns=.
 *
 * The timing numbers (clock, wait states, cache geometry, SDRAM/QSPI/DMA
 * parameters, branch penalties) all come from the config file: the one source
 * of truth is tinyops_tflm/planning/board_timing.py, which also documents and cites
 * them. What is here is the structure of the model:
 *
 * - Instructions are decoded once per translation block (TB) from QEMU's
 *   capstone disassembly (qemu_plugin_insn_disas) and costed statically:
 *   Cortex-M4: the Cortex-M4 TRM instruction timing table (Arm 100166, table
 *   3-1, and 3.3.2 "Load/store timings": LDR 2 cycles, 1 when pipelined after
 *   an LDR; STR [Rn,#imm] 1; LDM/STM/PUSH/POP 1+N; multiplies and MACs 1;
 *   divide 2..12 (the config's value); a load/store whose address register
 *   was written by the previous data-processing instruction +1).
 *   Cortex-M7: Arm publishes no cycle table; the model is an in-order
 *   dual-issue scheduler after LLVM's Arm-contributed ARMScheduleM7.td (two
 *   ALU, two load, one store, one MAC, one branch, one FP pipe; LDM/STM,
 *   LDRD/STRD, divides, table branches, barriers and system instructions
 *   single-issue; DSP/SIMD, bit-field, CLZ only as the older instruction of a
 *   pair; one shifted-operand ALU op per cycle; load latency 1, byte/half
 *   loads 2, multiplies 2) and the measurements published at
 *   https://www.quinapalus.com/cm7cycles.html.
 * - Taken branches are found at run time from TB-to-TB flow (a TB ending in
 *   a branch whose successor does not start at its fall-through address).
 *   M4: pipeline refill P per the TRM. M7: a BTAC-style predictor (set
 *   associative, LRU, 2-bit counters, last target) with the config's
 *   mispredict penalty.
 * - Instruction fetch: each TB's cache lines go through the ART accelerator
 *   model (F469 flash: I-cache lines + sequential prefetch) or the Cortex-M7
 *   L1 I-cache (F746).
 * - Data: one callback per guest memory access; the address selects a region
 *   of the config (QEMU addresses mapped to the board's memories) and its
 *   model: zero-wait SRAM/TCM, flash (ART data cache / L1 D-cache fills),
 *   FMC SDRAM (open row per bank, CAS latency, read FIFO streaming, bus
 *   width), memory-mapped QSPI (command + address + dummy cycles on a random
 *   access, the measured sustained rate when streaming, prefetch FIFO).
 * - DMA: the emulated firmware's DMA (ports/common/src/cpu_dma.cc) reports
 *   start/copy/wait events through tinyops_dma_event(), whose arguments the
 *   plugin reads from the addresses of byte loads from a 256-byte mailbox
 *   (the plugin API of QEMU 7.2 cannot read registers). A job lasts
 *   setup * chunks + bytes * cycles_per_byte(src kind, dst kind, width,
 *   burst) -- the formula of board_timing.dma_transfer_cycles -- starting at
 *   max(start time, DMA engine free); a wait stalls the CPU until the jobs it
 *   waits for are done; a start with all engine streams busy stalls until
 *   the oldest is done (the board driver, ports/common/stm32/dma2.cc, has
 *   two streams).
 *
 * Not modelled: bus contention between CPU and DMA, interrupts, the write
 * buffer beyond a fixed store cost, cross-TB register dependencies.
 *
 * Built by tinyops_tflm/firmware/emulate.py with the host C compiler:
 *   cc -shared -fPIC -O2 -o libtinyops_cycles.so tinyops_cycles.c
 *
 * Debian's QEMU 7.2 ships no qemu-plugin.h, so the plugin API v1 entry points
 * used here are declared below from the QEMU TCG plugin API documentation;
 * QEMU resolves them when it loads the plugin.
 */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The plugin in parts, by concern, in the order they build on each other. */
#include "cycles_config.h"
#include "cycles_decode.h"
#include "cycles_tb_cost.h"
#include "cycles_memory.h"
#include "cycles_dma_run.h"

/* ---- profile (plain mode): executions per translation block -------------------------------- */

struct prof_tb {
    uint64_t pc;
    uint32_t n;
    uint64_t count;
    struct prof_tb *next;
};
static struct prof_tb *prof_head;
static FILE *prof_out;

static void prof_translate(struct qemu_plugin_tb *tb, size_t n)
{
    struct prof_tb *p = calloc(1, sizeof(*p));
    p->pc = qemu_plugin_tb_vaddr(tb);
    p->n = (uint32_t)n;
    p->next = prof_head;
    prof_head = p;
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &p->count, 1);
}

static void prof_write(uint64_t copies)
{
    /* the emulated DMA's copies run as blocks too; the counts leave them out */
    fprintf(prof_out, "# dma_copy_insns %" PRIu64 "\n", copies);
    for (const struct prof_tb *p = prof_head; p; p = p->next) {
        if (p->count) fprintf(prof_out, "%" PRIx64 " %u %" PRIu64 "\n", p->pc, p->n, p->count);
    }
    fclose(prof_out);
    prof_out = NULL;
}

/* ---- translation --------------------------------------------------------------------------- */

static unsigned fetch_line_bytes(void)
{
    if (cfg.core == CORE_M7) return cfg.icache.line ? cfg.icache.line : 32;
    return cfg.art_i.line ? cfg.art_i.line : 16;
}

static void on_tb_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    const size_t n = qemu_plugin_tb_n_insns(tb);
    if (!cycle_mode) {
        const uint64_t pc = qemu_plugin_tb_vaddr(tb);
        if (pc >= event_addr && pc < event_end) {
            /* the DMA event function: read its events, count none of it */
            if (pc == event_addr) {
                qemu_plugin_register_vcpu_tb_exec_cb(tb, on_plain_event_entry, QEMU_PLUGIN_CB_NO_REGS, NULL);
            }
            for (size_t i = 0; i < n; ++i) {
                qemu_plugin_register_vcpu_mem_cb(qemu_plugin_tb_get_insn(tb, i), on_event_mem,
                                                 QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW, NULL);
            }
            return;
        }
        qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &insn_count, n);
        if (prof_out) prof_translate(tb, n);
        for (size_t i = 0; i < n; ++i) {
            struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
            if (qemu_plugin_insn_vaddr(insn) == marker_addr) {
                struct marker_info *m = calloc(1, sizeof(*m));
                m->n_after = (uint32_t)(n - i);
                qemu_plugin_register_vcpu_insn_exec_cb(insn, on_marker, QEMU_PLUGIN_CB_NO_REGS, m);
            }
        }
        return;
    }

    struct sinsn *ins = calloc(n ? n : 1, sizeof(*ins));
    double *cost = calloc(n ? n : 1, sizeof(double));
    const uint64_t pc0 = qemu_plugin_tb_vaddr(tb);
    const bool skip = pc0 >= event_addr && pc0 < event_end;
    struct m7_sched sched;
    memset(&sched, 0, sizeof(sched));
    double total = 0;
    for (size_t i = 0; i < n; ++i) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        ins[i].pc = qemu_plugin_insn_vaddr(insn);
        ins[i].size = (uint8_t)qemu_plugin_insn_size(insn);
        char *text = qemu_plugin_insn_disas(insn);
        decode(text ? text : "", &ins[i]);
        if (cfg.core == CORE_M7) {
            const double before = sched.end;
            m7_issue(&sched, &ins[i]);
            cost[i] = sched.end - before;
        } else {
            cost[i] = m4_cost(&ins[i], i ? &ins[i - 1] : NULL);
        }
        total += cost[i];
        if (dump) {
            fprintf(stderr, "tinyops_cycles: %08" PRIx64 " %-40s %-7s b%d n%d dst=%" PRIx64
                    " src=%" PRIx64 " addr=%" PRIx64 " cost=%.2f\n", ins[i].pc, text ? text : "?",
                    class_names[ins[i].cls], ins[i].bkind, ins[i].nregs, ins[i].dst, ins[i].src,
                    ins[i].addr, cost[i]);
        }
        free(text);
        if (skip) {
            /* QEMU 7.2 delivers only stores for MEM_R: ask for both, filter in the callback */
            qemu_plugin_register_vcpu_mem_cb(insn, on_event_mem, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW, NULL);
        } else {
            qemu_plugin_register_vcpu_mem_cb(insn, on_mem, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW, NULL);
        }
    }

    /* fetch lines touched, with the static cycles of the instructions in each */
    const unsigned lb = fetch_line_bytes();
    struct line_ref tmp[64];
    unsigned nl = 0;
    for (size_t i = 0; i < n; ++i) {
        const uint32_t la = (uint32_t)(ins[i].pc & ~(uint64_t)(lb - 1));
        const uint32_t le = (uint32_t)((ins[i].pc + ins[i].size - 1) & ~(uint64_t)(lb - 1));
        if (nl == 0 || tmp[nl - 1].addr != la) {
            if (nl < 64) tmp[nl++] = (struct line_ref){la, 0};
        }
        tmp[nl - 1].cyc = (uint16_t)(tmp[nl - 1].cyc + (uint16_t)llround(cost[i]));
        if (le != la && nl < 64) tmp[nl++] = (struct line_ref){le, 0};
    }
    struct tb_info *b = calloc(1, sizeof(*b) + nl * sizeof(struct line_ref));
    b->pc = pc0;
    b->n_insns = (uint32_t)n;
    b->static_cyc = (uint32_t)llround(total);
    b->skip = skip;
    if (n) {
        const struct sinsn *last = &ins[n - 1];
        b->end = last->pc + last->size;
        b->bkind = last->bkind;
        b->branch_pc = last->pc;
        b->first_wide = ins[0].size == 4 && (ins[0].pc & 2);
    }
    struct region *fr = region_of(pc0);
    if (fr && (fr->model != MODEL_ZERO)) b->fetch_region = (uint8_t)(fr - cfg.regions + 1);
    b->nlines = (uint16_t)nl;
    memcpy(b->lines, tmp, nl * sizeof(struct line_ref));
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_tb_exec, QEMU_PLUGIN_CB_NO_REGS, b);

    for (size_t i = 0; i < n; ++i) {
        if (ins[i].pc == marker_addr) {
            struct marker_info *m = calloc(1, sizeof(*m));
            m->n_after = (uint32_t)(n - i);
            double c = 0;
            for (size_t j = i; j < n; ++j) c += cost[j];
            m->cyc_after = (uint32_t)llround(c);
            qemu_plugin_register_vcpu_insn_exec_cb(qemu_plugin_tb_get_insn(tb, i), on_marker,
                                                   QEMU_PLUGIN_CB_NO_REGS, m);
        }
    }
    free(ins);
    free(cost);
}

static void on_plugin_exit(qemu_plugin_id_t id, void *userdata)
{
    (void)id;
    (void)userdata;
    emit("total", cycle_mode ? insn_count : insn_count - copy_insns, cycles);
    if (prof_out) prof_write(copy_insns);
    if (dump) {
        static const char *bn[] = {"none", "direct", "cond", "call", "ind", "ret"};
        for (int k = 1; k < 6; ++k) {
            fprintf(stderr, "tinyops_cycles: branches %-6s exec %" PRIu64 " taken %" PRIu64 " penalty %.0f\n",
                    bn[k], br_exec[k], br_taken[k], br_pen[k]);
        }
    }
    if (out) {
        fclose(out);
        out = NULL;
    }
}

PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
                                      char **argv)
{
    (void)info;
    const char *config_path = NULL;
    for (int i = 0; i < argc; ++i) {
        const char *arg = argv[i];
        if (strncmp(arg, "marker=", 7) == 0) {
            marker_addr = strtoull(arg + 7, NULL, 0) & ~(uint64_t)1;
        } else if (strncmp(arg, "out=", 4) == 0) {
            out = fopen(arg + 4, "w");
            if (!out) {
                fprintf(stderr, "tinyops_cycles: cannot open %s\n", arg + 4);
                return -1;
            }
        } else if (strncmp(arg, "config=", 7) == 0) {
            config_path = arg + 7;
        } else if (strncmp(arg, "event=", 6) == 0) {
            event_addr = strtoull(arg + 6, NULL, 0) & ~(uint64_t)1;
        } else if (strncmp(arg, "event_end=", 10) == 0) {
            event_end = strtoull(arg + 10, NULL, 0);
        } else if (strncmp(arg, "mailbox=", 8) == 0) {
            mailbox_addr = strtoull(arg + 8, NULL, 0);
        } else if (strncmp(arg, "profile=", 8) == 0) {
            prof_out = fopen(arg + 8, "w");
            if (!prof_out) {
                fprintf(stderr, "tinyops_cycles: cannot open %s\n", arg + 8);
                return -1;
            }
        } else if (strncmp(arg, "dump=", 5) == 0) {
            dump = atoi(arg + 5) != 0;
        } else {
            fprintf(stderr, "tinyops_cycles: unknown argument '%s'\n", arg);
            return -1;
        }
    }
    if (config_path) {
        if (load_config(config_path) != 0) return -1;
        cycle_mode = true;
        cache_init(&icache, &cfg.icache);
        cache_init(&dcache, &cfg.dcache);
        cache_init(&art_i, &cfg.art_i);
        cache_init(&art_d, &cfg.art_d);
        if (cfg.btac_entries == 0) cfg.btac_entries = 1;
        btac = calloc(cfg.btac_entries, sizeof(*btac));
        if (cfg.sd_bus_bytes == 0) cfg.sd_bus_bytes = 4;
        if (cfg.sd_row_bytes == 0) cfg.sd_row_bytes = 1024;
        if (cfg.sd_banks == 0) cfg.sd_banks = 4;
        if (cfg.sd_bank_bytes == 0) cfg.sd_bank_bytes = 1u << 22;
        if (cfg.dma_max_items == 0) cfg.dma_max_items = 65535;
        if (cfg.dma_max_items_burst == 0) cfg.dma_max_items_burst = 65532;
    }
    if (event_addr == UINT64_MAX || mailbox_addr == UINT64_MAX) event_end = 0;
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_translate);
    qemu_plugin_register_atexit_cb(id, on_plugin_exit, NULL);
    return 0;
}
