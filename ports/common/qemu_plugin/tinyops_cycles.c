/*
 * tinyops-tflm QEMU TCG plugin: guest instruction counts and, with a board
 * timing config, a cycle-approximate model of the STM32F469 (Cortex-M4F) and
 * STM32F746 (Cortex-M7) boards running the QEMU variant's code.
 *
 * Two modes:
 *   plain (no config=):  counts executed instructions with an inline per-TB
 *                        add (deterministic, fast) and records the count at
 *                        every tinyops_op_marker() call;
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

/* ---- QEMU plugin API v1 (QEMU 7.2) declarations --------------------------- */
typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t; /* only passed through */
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef uint32_t qemu_plugin_meminfo_t;

enum qemu_plugin_cb_flags {
    QEMU_PLUGIN_CB_NO_REGS,
    QEMU_PLUGIN_CB_R_REGS,
    QEMU_PLUGIN_CB_RW_REGS,
};

enum qemu_plugin_mem_rw {
    QEMU_PLUGIN_MEM_R = 1,
    QEMU_PLUGIN_MEM_W,
    QEMU_PLUGIN_MEM_RW,
};

enum qemu_plugin_op {
    QEMU_PLUGIN_INLINE_ADD_U64,
};

typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_mem_cb_t)(unsigned int vcpu_index, qemu_plugin_meminfo_t info,
                                          uint64_t vaddr, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
char *qemu_plugin_insn_disas(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
                                              void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
                                          enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
                                            qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_mem_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_mem_cb_t cb,
                                      enum qemu_plugin_cb_flags flags, enum qemu_plugin_mem_rw rw,
                                      void *userdata);
unsigned int qemu_plugin_mem_size_shift(qemu_plugin_meminfo_t info);
bool qemu_plugin_mem_is_store(qemu_plugin_meminfo_t info);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb,
                                    void *userdata);
void qemu_plugin_outs(const char *string);

#define PLUGIN_EXPORT __attribute__((visibility("default")))
PLUGIN_EXPORT int qemu_plugin_version = 1;

/* ---- configuration ---------------------------------------------------------- */

enum { CORE_M4, CORE_M7 };
enum { MODEL_ZERO, MODEL_BUS, MODEL_FLASH, MODEL_SDRAM, MODEL_QSPI };
#define MAX_REGIONS 24
#define NKINDS 5 /* sram ccm flash sdram qspi (tinyops_tflm.planning.boards.MEMORY_KIND_CODES) */

struct region {
    uint64_t lo, hi; /* [lo, hi) */
    char name[24];
    int kind;        /* DMA memory kind, -1 if not DMA-reachable */
    int model;
    int cached;      /* Cortex-M7 L1 caches serve it (D and I side) */
    int write_through;
    double rd, wr;   /* MODEL_BUS extra cycles per uncached read / write */
    double fill;     /* MODEL_BUS / MODEL_FLASH: cycles to fill one cache line */
    double wb;       /* MODEL_BUS: cycles to write one dirty line back */
};

struct cache_geom {
    unsigned size, ways, line; /* size 0: absent */
};

struct config {
    int core;
    double clock_hz;
    /* branches */
    double refill_direct, refill_indirect, refill_load, refill_unaligned; /* M4 P */
    double mispredict, btac_miss_direct;                                  /* M7 */
    unsigned btac_entries, btac_ways;

    double div_cycles, fdiv_cycles;
    /* M7 load/store multiple: issue cycles = base + ceil(n / per) */
    double ldm_base;
    unsigned ldm_per;
    struct cache_geom icache, dcache;      /* Cortex-M7 L1 */
    struct cache_geom art_i, art_d;        /* STM32F4 ART accelerator (flash) */
    int art_prefetch;
    double flash_ws;                       /* ART miss: wait states */
    /* FMC SDRAM (cycles are CPU cycles unless named *_clk: SDRAM clocks) */
    double sd_div, sd_cas, sd_trp, sd_trcd, sd_rd_overhead, sd_wr_overhead;
    unsigned sd_bus_bytes, sd_row_bytes, sd_banks, sd_bank_bytes, sd_fifo_bytes;
    uint64_t sd_base;
    /* QSPI memory-mapped */
    double qs_cmd, qs_cycles_per_byte;
    unsigned qs_fifo_bytes;
    /* DMA */
    double dma_setup;
    unsigned dma_max_items, dma_max_items_burst, dma_streams;
    double dma_cpb[NKINDS][NKINDS][3][2]; /* [src][dst][width log2][burst] */
    int nregions;
    struct region regions[MAX_REGIONS];
};

static struct config cfg;
static bool cycle_mode;
static bool dump;

static int kind_index(const char *s)
{
    static const char *names[NKINDS] = {"sram", "ccm", "flash", "sdram", "qspi"};
    for (int i = 0; i < NKINDS; ++i) {
        if (strcmp(s, names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

static int model_index(const char *s)
{
    if (strcmp(s, "zero") == 0) return MODEL_ZERO;
    if (strcmp(s, "bus") == 0) return MODEL_BUS;
    if (strcmp(s, "flash") == 0) return MODEL_FLASH;
    if (strcmp(s, "sdram") == 0) return MODEL_SDRAM;
    if (strcmp(s, "qspi") == 0) return MODEL_QSPI;
    return -1;
}

/* key=value fields of a region line */
static int region_field(struct region *r, const char *key, const char *val)
{
    if (strcmp(key, "cached") == 0) r->cached = atoi(val);
    else if (strcmp(key, "wt") == 0) r->write_through = atoi(val);
    else if (strcmp(key, "rd") == 0) r->rd = atof(val);
    else if (strcmp(key, "wr") == 0) r->wr = atof(val);
    else if (strcmp(key, "fill") == 0) r->fill = atof(val);
    else if (strcmp(key, "wb") == 0) r->wb = atof(val);
    else return -1;
    return 0;
}

static int set_key(const char *key, const char *val)
{
    struct { const char *k; double *d; } dbl[] = {
        {"clock_hz", &cfg.clock_hz}, {"refill_direct", &cfg.refill_direct},
        {"refill_indirect", &cfg.refill_indirect}, {"refill_load", &cfg.refill_load},
        {"refill_unaligned", &cfg.refill_unaligned}, {"mispredict", &cfg.mispredict},
        {"btac_miss_direct", &cfg.btac_miss_direct}, {"div_cycles", &cfg.div_cycles},
        {"fdiv_cycles", &cfg.fdiv_cycles}, {"ldm_base", &cfg.ldm_base},
        {"flash_ws", &cfg.flash_ws}, {"sdram_div", &cfg.sd_div}, {"sdram_cas", &cfg.sd_cas},
        {"sdram_trp", &cfg.sd_trp}, {"sdram_trcd", &cfg.sd_trcd},
        {"sdram_rd_overhead", &cfg.sd_rd_overhead}, {"sdram_wr_overhead", &cfg.sd_wr_overhead},
        {"qspi_cmd", &cfg.qs_cmd}, {"qspi_cycles_per_byte", &cfg.qs_cycles_per_byte},
        {"dma_setup", &cfg.dma_setup},
    };
    struct { const char *k; unsigned *u; } uns[] = {
        {"btac_entries", &cfg.btac_entries}, {"btac_ways", &cfg.btac_ways}, {"ldm_per", &cfg.ldm_per},
        {"sdram_bus_bytes", &cfg.sd_bus_bytes}, {"sdram_row_bytes", &cfg.sd_row_bytes},
        {"sdram_banks", &cfg.sd_banks}, {"sdram_bank_bytes", &cfg.sd_bank_bytes},
        {"sdram_fifo_bytes", &cfg.sd_fifo_bytes}, {"qspi_fifo_bytes", &cfg.qs_fifo_bytes},
        {"dma_max_items", &cfg.dma_max_items}, {"dma_max_items_burst", &cfg.dma_max_items_burst},
        {"dma_streams", &cfg.dma_streams},
    };
    for (size_t i = 0; i < sizeof(dbl) / sizeof(dbl[0]); ++i) {
        if (strcmp(key, dbl[i].k) == 0) {
            *dbl[i].d = strtod(val, NULL);
            return 0;
        }
    }
    for (size_t i = 0; i < sizeof(uns) / sizeof(uns[0]); ++i) {
        if (strcmp(key, uns[i].k) == 0) {
            *uns[i].u = (unsigned)strtoul(val, NULL, 0);
            return 0;
        }
    }
    if (strcmp(key, "core") == 0) {
        if (strcmp(val, "cortex-m4") == 0) cfg.core = CORE_M4;
        else if (strcmp(val, "cortex-m7") == 0) cfg.core = CORE_M7;
        else return -1;
        return 0;
    }
    if (strcmp(key, "art_prefetch") == 0) {
        cfg.art_prefetch = atoi(val);
        return 0;
    }
    if (strcmp(key, "sdram_base") == 0) {
        cfg.sd_base = strtoull(val, NULL, 0);
        return 0;
    }
    return -1;
}

static int parse_geom(struct cache_geom *g, char *rest)
{
    return sscanf(rest, "%u %u %u", &g->size, &g->ways, &g->line) == 3 ? 0 : -1;
}

static int load_config(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "tinyops_cycles: cannot open config %s\n", path);
        return -1;
    }
    char line[512];
    int lineno = 0;
    int err = 0;
    while (!err && fgets(line, sizeof(line), f)) {
        ++lineno;
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char word[64];
        int off = 0;
        if (sscanf(line, "%63s %n", word, &off) != 1) continue;
        char *rest = line + off;
        rest[strcspn(rest, "\r\n")] = 0;
        if (strcmp(word, "icache") == 0) err = parse_geom(&cfg.icache, rest);
        else if (strcmp(word, "dcache") == 0) err = parse_geom(&cfg.dcache, rest);
        else if (strcmp(word, "art_icache") == 0) err = parse_geom(&cfg.art_i, rest);
        else if (strcmp(word, "art_dcache") == 0) err = parse_geom(&cfg.art_d, rest);
        else if (strcmp(word, "region") == 0) {
            if (cfg.nregions == MAX_REGIONS) {
                err = -1;
                break;
            }
            struct region *r = &cfg.regions[cfg.nregions];
            memset(r, 0, sizeof(*r));
            char kind[16], model[16];
            int n = 0;
            if (sscanf(rest, "%" SCNx64 " %" SCNx64 " %23s %15s %15s %n", &r->lo, &r->hi, r->name,
                       kind, model, &n) < 5) {
                err = -1;
                break;
            }
            r->kind = kind_index(kind);
            r->model = model_index(model);
            if (r->model < 0) {
                err = -1;
                break;
            }
            char *tok = strtok(rest + n, " \t");
            while (tok && !err) {
                char *eq = strchr(tok, '=');
                if (!eq) {
                    err = -1;
                    break;
                }
                *eq = 0;
                err = region_field(r, tok, eq + 1);
                tok = strtok(NULL, " \t");
            }
            ++cfg.nregions;
        } else if (strcmp(word, "dma_rate") == 0) {
            char s[16], d[16];
            unsigned w, b;
            double cpb;
            if (sscanf(rest, "%15s %15s %u %u %lf", s, d, &w, &b, &cpb) != 5) {
                err = -1;
                break;
            }
            int si = kind_index(s), di = kind_index(d);
            int wl = w == 1 ? 0 : w == 2 ? 1 : w == 4 ? 2 : -1;
            if (si < 0 || di < 0 || wl < 0 || b > 1) {
                err = -1;
                break;
            }
            cfg.dma_cpb[si][di][wl][b] = cpb;
        } else {
            char val[256];
            if (sscanf(rest, "%255s", val) != 1 || set_key(word, val) != 0) err = -1;
        }
    }
    fclose(f);
    if (err) {
        fprintf(stderr, "tinyops_cycles: bad config line %d in %s\n", lineno, path);
        return -1;
    }
    if (cfg.clock_hz <= 0) {
        fprintf(stderr, "tinyops_cycles: config %s has no clock_hz\n", path);
        return -1;
    }
    return 0;
}

/* ---- counters ------------------------------------------------------------- */

static uint64_t insn_count;   /* plain mode: inline add; cycle mode: callback */
static uint64_t cycles;       /* cycle mode */
static double cycle_frac;     /* fractional stall carried over */
static uint64_t stall_mem, stall_fetch, stall_branch, stall_dma;
static double dma_busy;
static uint64_t dma_jobs, dma_bytes;

static FILE *out;
static uint64_t marker_addr = UINT64_MAX;
static uint64_t event_addr = UINT64_MAX, event_end = 0, mailbox_addr = UINT64_MAX;

/* Adds a (possibly fractional) stall to the clock and the cause's counter. */
static void stall(uint64_t *counter, double c)
{
    if (c <= 0) return;
    cycle_frac += c;
    const uint64_t whole = (uint64_t)cycle_frac;
    cycle_frac -= (double)whole;
    cycles += whole;
    *counter += whole;
}

static void emit(const char *kind, uint64_t insns, uint64_t cyc)
{
    char line[512];
    if (cycle_mode) {
        snprintf(line, sizeof(line),
                 "%s insns=%" PRIu64 " cycles=%" PRIu64 " stall_mem=%" PRIu64
                 " stall_fetch=%" PRIu64 " stall_branch=%" PRIu64 " stall_dma=%" PRIu64
                 " dma_busy=%" PRIu64 " dma_jobs=%" PRIu64 " dma_bytes=%" PRIu64 "\n",
                 kind, insns, cyc, stall_mem, stall_fetch, stall_branch, stall_dma,
                 (uint64_t)llround(dma_busy), dma_jobs, dma_bytes);
    } else {
        snprintf(line, sizeof(line), "%s insns=%" PRIu64 "\n", kind, insns);
    }
    if (out) {
        fputs(line, out);
        fflush(out);
    } else {
        qemu_plugin_outs(line);
    }
}

/* ---- instruction decoding (capstone text) ------------------------------------ */

enum iclass {
    C_ALU, C_DSP, C_MUL, C_DIV, C_LOAD, C_STORE, C_LDRD, C_STRD, C_LDM, C_STM, C_BRANCH,
    C_TBB, C_SYS, C_BARRIER, C_IT, C_NOP, C_PLD, C_FP, C_FPMAC, C_FPDIV, C_VLDR, C_VSTR,
    C_VLDM, C_VSTM, C_VMOV2,
};
static const char *class_names[] = {
    "alu", "dsp", "mul", "div", "load", "store", "ldrd", "strd", "ldm", "stm", "branch",
    "tbb", "sys", "barrier", "it", "nop", "pld", "fp", "fpmac", "fpdiv", "vldr", "vstr",
    "vldm", "vstm", "vmov2",
};

enum bkind { B_NONE, B_DIRECT, B_COND, B_CALL, B_IND, B_RET };

struct sinsn {
    uint64_t pc;
    uint8_t size;
    uint8_t cls;
    uint8_t bkind;
    uint8_t nregs;     /* LDM/STM/VLDM/VSTM: registers (words) transferred */
    uint8_t narrow;    /* byte/halfword load (M7: slower) */
    uint8_t shifted;   /* ALU with a shifted register operand */
    uint8_t slow_dsp;  /* saturating DSP op (M7: 2-cycle latency) */
    uint8_t regoff;    /* register-offset addressing */
    uint8_t dp;        /* double-precision FP */
    uint64_t dst, src, addr; /* register masks: r0-r15 bits 0..15, s0-s31 bits 16..47 */
    uint64_t acc;      /* multiply-accumulate: accumulator registers (read late) */
};

static const char *conds[] = {"eq", "ne", "cs", "hs", "cc", "lo", "mi", "pl", "vs",
                              "vc", "hi", "ls", "ge", "lt", "gt", "le", "al"};

static bool is_cond(const char *s)
{
    for (size_t i = 0; i < sizeof(conds) / sizeof(conds[0]); ++i) {
        if (strcmp(s, conds[i]) == 0) return true;
    }
    return false;
}

static bool starts(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

/* register name -> mask (0 if not a register) */
static uint64_t reg_mask(const char *t, size_t n)
{
    char b[8];
    if (n == 0 || n >= sizeof(b)) return 0;
    memcpy(b, t, n);
    b[n] = 0;
    static const struct { const char *n; int r; } named[] = {
        {"sb", 9}, {"sl", 10}, {"fp", 11}, {"ip", 12}, {"sp", 13}, {"lr", 14}, {"pc", 15},
    };
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); ++i) {
        if (strcmp(b, named[i].n) == 0) return 1ull << named[i].r;
    }
    if ((b[0] == 'r' || b[0] == 's' || b[0] == 'd') && n >= 2 && n <= 3 && isdigit((unsigned char)b[1]) &&
        (n == 2 || isdigit((unsigned char)b[2]))) {
        int v = atoi(b + 1);
        if (b[0] == 'r' && v < 16) return 1ull << v;
        if (b[0] == 's' && v < 32) return 1ull << (16 + v);
        if (b[0] == 'd' && v < 16) return 3ull << (16 + 2 * v);
    }
    return 0;
}

static int popcount64(uint64_t v) { return __builtin_popcountll(v); }

/* Operands of the disassembly: plain operands (in order), address registers
 * ([...]), register list ({...}), writeback. */
struct operands {
    uint64_t plain[6];
    int nplain;
    int nops;          /* top-level operands, immediates included */
    uint64_t addr, list;
    int list_words;
    bool writeback, shifted, has_imm_after_addr;
};

static void parse_operands(const char *s, struct operands *o)
{
    memset(o, 0, sizeof(*o));
    int depth_sq = 0, depth_br = 0;
    bool after_addr = false;
    uint64_t last_list = 0;
    bool range = false;
    if (*s) o->nops = 1;
    while (*s) {
        if (*s == ',' && !depth_sq && !depth_br) ++o->nops;
        if (*s == '[') { depth_sq = 1; ++s; continue; }
        if (*s == ']') { depth_sq = 0; after_addr = true; ++s; continue; }
        if (*s == '{') { depth_br = 1; ++s; continue; }
        if (*s == '}') { depth_br = 0; ++s; continue; }
        if (*s == '!') { o->writeback = true; ++s; continue; }
        if (*s == '-' && depth_br) { range = true; ++s; continue; }
        if (*s == '#') {
            if (after_addr && !depth_sq) o->has_imm_after_addr = true;
            while (*s && *s != ',' && *s != ']' && *s != '}') ++s;
            continue;
        }
        if (isalnum((unsigned char)*s) || *s == '_') {
            const char *t = s;
            while (isalnum((unsigned char)*s) || *s == '_') ++s;
            size_t n = (size_t)(s - t);
            if (!depth_sq && !depth_br && (n == 3) &&
                (starts(t, "lsl") || starts(t, "lsr") || starts(t, "asr") || starts(t, "ror") ||
                 starts(t, "rrx"))) {
                o->shifted = true;
                continue;
            }
            uint64_t m = reg_mask(t, n);
            if (!m) continue;
            if (depth_sq) {
                o->addr |= m;
            } else if (depth_br) {
                if (range && last_list) {
                    /* r4-r7 / s0-s3 / d8-d9: fill between the two */
                    int a = __builtin_ctzll(last_list), b = 63 - __builtin_clzll(m);
                    for (int i = a; i <= b; ++i) o->list |= 1ull << i;
                    range = false;
                } else {
                    o->list |= m;
                }
                last_list = m;
            } else if (after_addr) {
                o->addr |= m; /* post-indexed register offset */
                o->has_imm_after_addr = true;
            } else if (o->nplain < 6) {
                o->plain[o->nplain++] = m;
            }
            continue;
        }
        ++s;
    }
    o->list_words = popcount64(o->list);
}

static bool in_list(const char *m, const char *const *list)
{
    for (; *list; ++list) {
        if (starts(m, *list)) return true;
    }
    return false;
}

static void decode(const char *text, struct sinsn *in)
{
    char mn[32];
    size_t k = 0;
    const char *p = text;
    while (*p && *p != ' ' && k + 1 < sizeof(mn)) mn[k++] = (char)tolower((unsigned char)*p++);
    mn[k] = 0;
    while (*p == ' ') ++p;
    /* suffixes after '.': width qualifiers (.w/.n) and FP data types */
    char *dot = strchr(mn, '.');
    if (dot) {
        if (strstr(dot, "f64")) in->dp = 1;
        *dot = 0;
    }
    struct operands o;
    parse_operands(p, &o);
    in->cls = C_ALU;
    in->bkind = B_NONE;
    uint64_t all_plain = 0, rest = 0;
    for (int i = 0; i < o.nplain; ++i) all_plain |= o.plain[i];
    for (int i = 1; i < o.nplain; ++i) rest |= o.plain[i];
    const uint64_t first = o.nplain ? o.plain[0] : 0;
    uint64_t dst = first, src = rest;
    const size_t len = strlen(mn);
    const uint64_t PC = 1ull << 15, LR = 1ull << 14, SP = 1ull << 13;

    /* branches: b<cc>, b, bl, blx, bx (+cc inside IT blocks), cbz/cbnz */
    bool branch = false;
    if (strcmp(mn, "b") == 0) { branch = true; in->bkind = B_DIRECT; }
    else if (len == 3 && mn[0] == 'b' && is_cond(mn + 1)) { branch = true; in->bkind = B_COND; }
    else if (starts(mn, "blx") && (len == 3 || is_cond(mn + 3))) { branch = true; in->bkind = B_IND; }
    else if (starts(mn, "bl") && (len == 2 || is_cond(mn + 2))) { branch = true; in->bkind = B_CALL; }
    else if (starts(mn, "bx") && (len == 2 || is_cond(mn + 2))) {
        branch = true;
        in->bkind = (all_plain & LR) ? B_RET : B_IND;
    } else if (strcmp(mn, "cbz") == 0 || strcmp(mn, "cbnz") == 0) { branch = true; in->bkind = B_COND; }
    if (branch) {
        in->cls = C_BRANCH;
        in->dst = (in->bkind == B_CALL || (in->bkind == B_IND && starts(mn, "blx"))) ? LR : 0;
        in->src = all_plain;
        return;
    }

    static const char *const dsp[] = {
        "sxt", "uxt", "clz", "rev", "rbit", "bfi", "bfc", "ubfx", "sbfx", "pkh", "ssat", "usat",
        "qadd", "qsub", "qdadd", "qdsub", "qasx", "qsax", "sadd", "ssub", "uadd", "usub", "shadd",
        "shsub", "uhadd", "uhsub", "uqadd", "uqsub", "uqasx", "uqsax", "sasx", "ssax", "uasx",
        "usax", "shasx", "shsax", "uhasx", "uhsax", "sel", "usad", NULL};
    static const char *const longmul[] = {"smull", "umull", "smlal", "umlal", "umaal", "smlsld", NULL};

    if (mn[0] == 'v') {
        if (starts(mn, "vldr")) { in->cls = C_VLDR; dst = first; src = 0; }
        else if (starts(mn, "vstr")) { in->cls = C_VSTR; dst = 0; src = first; }
        else if (starts(mn, "vldm") || starts(mn, "vpop")) { in->cls = C_VLDM; dst = o.list; src = first; }
        else if (starts(mn, "vstm") || starts(mn, "vpush")) { in->cls = C_VSTM; dst = 0; src = o.list | first; }
        else if (starts(mn, "vmla") || starts(mn, "vmls") || starts(mn, "vnmla") || starts(mn, "vnmls") ||
                 starts(mn, "vfma") || starts(mn, "vfms") || starts(mn, "vfnma") || starts(mn, "vfnms")) {
            in->cls = C_FPMAC;
            src |= first; /* accumulator */
        } else if (starts(mn, "vdiv") || starts(mn, "vsqrt")) in->cls = C_FPDIV;
        else if (starts(mn, "vmov") && o.nplain == 3) {
            in->cls = C_VMOV2; /* two core registers <-> a D register or two S registers */
            dst = (o.plain[0] & 0xFFFF) ? (o.plain[0] | o.plain[1]) : o.plain[0];
            src = (o.plain[0] & 0xFFFF) ? o.plain[2] : (o.plain[1] | o.plain[2]);
        } else if (starts(mn, "vcmp")) { in->cls = C_FP; dst = 0; src = all_plain; }
        else if (starts(mn, "vmrs")) { in->cls = C_FP; dst = first & 0xFFFF; src = 0; }
        else in->cls = C_FP;
        if (in->cls == C_VLDR || in->cls == C_VSTR || in->cls == C_VLDM || in->cls == C_VSTM) {
            in->addr = o.addr | ((in->cls == C_VLDM || in->cls == C_VSTM) ? first : 0);
            in->nregs = (uint8_t)(in->cls == C_VLDM || in->cls == C_VSTM ? o.list_words : 0);
            if (starts(mn, "vpush") || starts(mn, "vpop")) in->addr |= SP;
            if (o.writeback || starts(mn, "vpush") || starts(mn, "vpop")) dst |= in->addr & 0xFFFF;
        }
    } else if (starts(mn, "push")) {
        in->cls = C_STM; in->nregs = (uint8_t)o.list_words; dst = SP; src = o.list | SP; in->addr = SP;
    } else if (starts(mn, "pop")) {
        in->cls = C_LDM; in->nregs = (uint8_t)o.list_words; dst = o.list | SP; src = SP; in->addr = SP;
    } else if (starts(mn, "ldm")) {
        in->cls = C_LDM; in->nregs = (uint8_t)o.list_words; dst = o.list; src = first; in->addr = first;
        if (o.writeback) dst |= first;
    } else if (starts(mn, "stm")) {
        in->cls = C_STM; in->nregs = (uint8_t)o.list_words; dst = o.writeback ? first : 0;
        src = o.list | first; in->addr = first;
    } else if (starts(mn, "ldrd")) {
        in->cls = C_LDRD; dst = o.nplain >= 2 ? o.plain[0] | o.plain[1] : first; src = 0;
        in->addr = o.addr;
    } else if (starts(mn, "strd")) {
        in->cls = C_STRD; dst = 0; src = all_plain; in->addr = o.addr;
    } else if (starts(mn, "ldr")) {
        in->cls = C_LOAD; dst = first; src = 0; in->addr = o.addr;
        in->narrow = (len > 3 && (mn[3] == 'b' || mn[3] == 'h' || mn[3] == 's')) ? 1 : 0;
        if (starts(mn, "ldrex")) in->narrow = (len > 5 && (mn[5] == 'b' || mn[5] == 'h'));
    } else if (starts(mn, "str")) {
        in->cls = C_STORE; in->addr = o.addr;
        if (starts(mn, "strex")) { dst = first; src = rest; }
        else { dst = 0; src = all_plain; }
    } else if (starts(mn, "pld") || starts(mn, "pli")) {
        in->cls = C_PLD; dst = 0; src = o.addr;
    } else if (starts(mn, "tbb") || starts(mn, "tbh")) {
        in->cls = C_TBB; in->bkind = B_IND; dst = 0; src = o.addr; in->addr = o.addr;
    } else if (mn[0] == 'i' && mn[1] == 't' && len <= 4) {
        in->cls = C_IT; dst = 0; src = 0;
    } else if (starts(mn, "nop")) {
        in->cls = C_NOP; dst = src = 0;
    } else if (starts(mn, "dmb") || starts(mn, "dsb") || starts(mn, "isb")) {
        in->cls = C_BARRIER; dst = src = 0;
    } else if (starts(mn, "mrs") || starts(mn, "msr") || starts(mn, "cps") || starts(mn, "bkpt") ||
               starts(mn, "svc") || starts(mn, "udf") || starts(mn, "wf") || starts(mn, "sev") ||
               starts(mn, "yield")) {
        in->cls = C_SYS;
    } else if (starts(mn, "sdiv") || starts(mn, "udiv")) {
        in->cls = C_DIV;
    } else if (in_list(mn, longmul) || (starts(mn, "smlal") || starts(mn, "smlsl"))) {
        in->cls = C_MUL; dst = o.nplain >= 2 ? o.plain[0] | o.plain[1] : first;
        src = all_plain; /* accumulating forms read the destination pair */
        if (!starts(mn, "smull") && !starts(mn, "umull")) in->acc = dst;
    } else if (starts(mn, "mul") || starts(mn, "mla") || starts(mn, "mls") ||
               (mn[0] == 's' && mn[1] == 'm' && (mn[2] == 'l' || mn[2] == 'u' || mn[2] == 'm'))) {
        in->cls = C_MUL;
        if (o.nplain == 4) in->acc = o.plain[3]; /* MLA/SMLAD/SMLABB...: Ra */
    } else if (in_list(mn, dsp)) {
        in->cls = C_DSP;
        in->slow_dsp = (mn[0] == 'q' || starts(mn, "uq") || starts(mn, "ssat") || starts(mn, "usat") ||
                        starts(mn, "usad"));
        if (starts(mn, "bfi")) src |= first; /* read-modify-write */
    } else {
        in->cls = C_ALU;
        in->shifted = o.shifted && !(starts(mn, "lsl") || starts(mn, "lsr") || starts(mn, "asr") ||
                                     starts(mn, "ror") || starts(mn, "rrx"));
        if (starts(mn, "cmp") || starts(mn, "cmn") || starts(mn, "tst") || starts(mn, "teq")) {
            dst = 0;
            src = all_plain;
        } else if (starts(mn, "movt")) {
            src |= first;
        } else if (o.nops == 2 && !starts(mn, "mov") && !starts(mn, "mvn") && !starts(mn, "adr")) {
            src |= first; /* two-operand form: "adds r0, #1", "lsls r0, r1" read Rd too */
        }
    }
    if (in->cls == C_LOAD || in->cls == C_STORE || in->cls == C_LDRD || in->cls == C_STRD) {
        in->regoff = popcount64(o.addr & 0xFFFF) >= 2;
        if (o.writeback || o.has_imm_after_addr) {
            /* pre-indexed with '!' or post-indexed: the base register is written */
            uint64_t base = o.addr & 0xFFFF;
            if (popcount64(base) > 1) base = base & (~base + 1); /* lowest = first listed, approx. */
            dst |= base;
        }
    }
    in->dst = dst;
    in->src = src | in->addr;
    if (dst & PC) {
        /* writes to the PC are branches */
        in->bkind = (in->cls == C_LOAD || in->cls == C_LDM) ? B_RET : B_IND;
    }
}

/* ---- per-TB static cost ------------------------------------------------------- */

struct line_ref {
    uint32_t addr;   /* fetch line address */
    uint16_t cyc;    /* static cycles of the instructions starting in it */
};

struct tb_info {
    uint64_t pc, end;     /* first instruction, fall-through address */
    uint64_t branch_pc;   /* last instruction if it is a branch */
    uint32_t n_insns;
    uint32_t static_cyc;
    uint8_t bkind;        /* of the last instruction */
    uint8_t first_wide;   /* first instruction is 32-bit and not word aligned */
    uint8_t skip;         /* the DMA event function: not CPU time */
    uint8_t fetch_region; /* index + 1, 0: no fetch cost */
    uint16_t nlines;
    struct line_ref lines[];
};

/* Cortex-M4: cycles of `in` given the previous instruction of the TB. */
static double m4_cost(const struct sinsn *in, const struct sinsn *prev)
{
    const bool prev_dp = prev && (prev->cls == C_ALU || prev->cls == C_DSP || prev->cls == C_MUL);
    const bool addr_dep = prev_dp && (in->addr & prev->dst & 0xFFFF);
    const bool after_ldr = prev && prev->cls == C_LOAD && !(prev->dst & (1ull << 15));
    double c;
    switch (in->cls) {
    case C_DIV: return cfg.div_cycles;
    case C_BARRIER: return 1;
    case C_LOAD:
    case C_VLDR:
        /* LDR 2; pipelined after an LDR whose result is not this address: 1 */
        c = (after_ldr && !(in->addr & prev->dst)) ? 1 : 2;
        return c + (addr_dep ? 1 : 0);
    case C_STORE:
    case C_VSTR:
        /* STR [Rn,#imm] 1; register offset 2, 1 after an LDR */
        c = (in->regoff && !after_ldr) ? 2 : 1;
        return c + (addr_dep ? 1 : 0);
    case C_LDRD:
    case C_STRD: return 3 + (addr_dep ? 1 : 0);
    case C_LDM:
    case C_STM:
    case C_VLDM:
    case C_VSTM: return 1 + in->nregs;
    case C_TBB: return 3; /* 2 for the load, 1 for the add; refill at run time */
    case C_FPMAC: return 3;
    case C_FPDIV: return cfg.fdiv_cycles;
    case C_VMOV2: return 2;
    default: return 1;
    }
}

/* Cortex-M7 dual-issue scheduler state over one TB. */
enum { R_LOAD = 1, R_STORE = 2, R_MAC = 4, R_BRANCH = 8, R_FPU = 16, R_SHIFT = 32, R_SIMD = 64 };

struct m7_props {
    bool single, slot0;
    unsigned res;
    double issue;   /* cycles the instruction occupies the issue stage */
    double lat;     /* result latency */
    bool early_addr;
};

static struct m7_props m7_props(const struct sinsn *in)
{
    struct m7_props p = {false, false, 0, 1, 1, false};
    switch (in->cls) {
    case C_ALU:
        if (in->shifted) p.res |= R_SHIFT;
        break;
    case C_DSP:
        p.slot0 = true;
        p.res |= R_SIMD;
        p.lat = in->slow_dsp ? 2 : 1;
        break;
    case C_MUL: p.res |= R_MAC; p.lat = 2; break;
    case C_DIV: p.single = true; p.issue = cfg.div_cycles; break;
    case C_LOAD: p.res |= R_LOAD; p.lat = in->narrow ? 2 : 1; p.early_addr = true; break;
    case C_VLDR:
        p.res |= R_LOAD | R_FPU; p.lat = 1; p.early_addr = true;
        if (in->dp) { p.single = true; p.lat = 2; }
        break;
    case C_STORE: p.res |= R_STORE; p.early_addr = true; break;
    case C_VSTR: p.res |= R_STORE | R_FPU; p.early_addr = true; if (in->dp) p.single = true; break;
    case C_LDRD: case C_STRD: p.single = true; p.lat = 2; p.early_addr = true; break;
    case C_LDM: case C_STM: case C_VLDM: case C_VSTM:
        p.single = true;
        p.issue = cfg.ldm_base + (in->nregs + cfg.ldm_per - 1) / (cfg.ldm_per ? cfg.ldm_per : 1);
        if (p.issue < 1) p.issue = 1;
        p.lat = 1;
        p.early_addr = true;
        break;
    case C_BRANCH: p.res |= R_BRANCH; break;
    case C_TBB: p.single = true; p.issue = 2; p.early_addr = true; break;
    case C_SYS: case C_BARRIER: p.single = true; p.issue = 3; break;
    case C_IT: case C_NOP: case C_PLD: break;
    case C_FP: p.res |= R_FPU; p.lat = 3; if (in->dp) p.slot0 = true; break;
    case C_FPMAC: p.res |= R_FPU; p.lat = 6; if (in->dp) p.single = true; break;
    case C_FPDIV: p.res |= R_FPU; p.single = true; p.issue = cfg.fdiv_cycles; p.lat = 1; break;
    case C_VMOV2: p.res |= R_FPU; p.single = true; p.lat = 3; break;
    }
    return p;
}

struct m7_sched {
    double cur;         /* issue cycle of the current group */
    int used;           /* slots used in it */
    unsigned res;       /* resources used in it */
    int loads;
    bool closed;        /* a single-issue instruction owns the group */
    double busy_until;  /* multi-cycle instruction occupies issue until then */
    double ready[48];   /* register ready cycle */
    double end;         /* cycle after the last issue */
};

/* Schedules `in`; returns its issue cycle. */
static double m7_issue(struct m7_sched *s, const struct sinsn *in)
{
    const struct m7_props p = m7_props(in);
    double t = s->cur;
    uint64_t src = in->src;
    for (int r = 0; r < 48 && src; ++r, src >>= 1) {
        if (!(src & 1)) continue;
        double need = s->ready[r];
        /* address registers are read one stage early (produced in this TB) */
        if (need > 0 && p.early_addr && (in->addr >> r & 1)) need += 1;
        /* a MAC's accumulator is read one stage late [LLVM-M7 ReadMAC] */
        if (in->acc >> r & 1) need -= 1;
        if (need > t) t = need;
    }
    if (s->busy_until > t) t = s->busy_until;
    bool pair = false;
    if (t <= s->cur && s->used == 1 && !s->closed && !p.single && !p.slot0) {
        const unsigned excl = R_STORE | R_MAC | R_BRANCH | R_FPU | R_SHIFT | R_SIMD;
        pair = !(s->res & p.res & excl) && !((p.res & R_LOAD) && s->loads >= 2);
    }
    if (pair) {
        t = s->cur;
        s->used = 2;
        s->res |= p.res;
        s->loads += (p.res & R_LOAD) ? 1 : 0;
    } else {
        if (s->used > 0 && t < s->cur + 1) t = s->cur + 1;
        s->cur = t;
        s->used = 1;
        s->res = p.res;
        s->loads = (p.res & R_LOAD) ? 1 : 0;
        s->closed = p.single;
        if (p.single) s->used = 2;
    }
    if (p.issue > 1) s->busy_until = t + p.issue;
    double done = t + (p.issue > 1 ? p.issue : 1);
    if (done > s->end) s->end = done;
    uint64_t dst = in->dst;
    for (int r = 0; r < 48 && dst; ++r, dst >>= 1) {
        if (dst & 1) s->ready[r] = t + p.lat;
    }
    return t;
}

/* ---- caches --------------------------------------------------------------------- */

struct cache {
    unsigned sets, ways, line_shift;
    uint32_t *tags;   /* sets * ways; 0 = invalid, else (line address | 1) */
    uint8_t *dirty;
    uint32_t *age;
    uint32_t tick;
};

static int log2u(unsigned v)
{
    int s = 0;
    while ((1u << s) < v) ++s;
    return s;
}

static void cache_init(struct cache *c, const struct cache_geom *g)
{
    memset(c, 0, sizeof(*c));
    if (!g->size) return;
    c->ways = g->ways ? g->ways : 1;
    c->sets = g->size / g->line / c->ways;
    if (c->sets == 0) c->sets = 1;
    c->line_shift = (unsigned)log2u(g->line);
    c->tags = calloc((size_t)c->sets * c->ways, sizeof(uint32_t));
    c->dirty = calloc((size_t)c->sets * c->ways, 1);
    c->age = calloc((size_t)c->sets * c->ways, sizeof(uint32_t));
}

/* Looks `addr` up; on a miss installs it (LRU victim). Returns true on a hit;
 * *evicted_dirty tells whether a dirty line was evicted, *victim its address. */
static bool cache_access_v(struct cache *c, uint64_t addr, bool allocate, bool *evicted_dirty, int *way_out,
                           uint64_t *victim_addr);
static bool cache_access(struct cache *c, uint64_t addr, bool allocate, bool *evicted_dirty, int *way_out)
{
    return cache_access_v(c, addr, allocate, evicted_dirty, way_out, NULL);
}

static bool cache_access_v(struct cache *c, uint64_t addr, bool allocate, bool *evicted_dirty, int *way_out,
                           uint64_t *victim_addr)
{
    const uint32_t line = (uint32_t)(addr >> c->line_shift);
    const unsigned set = line % c->sets;
    const uint32_t tag = (line << 1) | 1;
    uint32_t *t = &c->tags[set * c->ways];
    ++c->tick;
    if (evicted_dirty) *evicted_dirty = false;
    for (unsigned w = 0; w < c->ways; ++w) {
        if (t[w] == tag) {
            c->age[set * c->ways + w] = c->tick;
            if (way_out) *way_out = (int)(set * c->ways + w);
            return true;
        }
    }
    if (!allocate) {
        if (way_out) *way_out = -1;
        return false;
    }
    unsigned victim = 0;
    for (unsigned w = 0; w < c->ways; ++w) {
        if (t[w] == 0) { victim = w; break; }
        if (c->age[set * c->ways + w] < c->age[set * c->ways + victim]) victim = w;
    }
    const unsigned i = set * c->ways + victim;
    if (evicted_dirty) *evicted_dirty = t[victim] != 0 && c->dirty[i];
    if (victim_addr) *victim_addr = (uint64_t)(t[victim] >> 1) << c->line_shift;
    t[victim] = tag;
    c->dirty[i] = 0;
    c->age[i] = c->tick;
    if (way_out) *way_out = (int)i;
    return false;
}

/* Drops the lines of [addr, addr + n); returns how many were dirty. */
static unsigned cache_invalidate(struct cache *c, uint64_t addr, uint64_t n, bool clean_only)
{
    if (!c->tags || n == 0) return 0;
    unsigned dirty = 0;
    const uint64_t first = addr >> c->line_shift, last = (addr + n - 1) >> c->line_shift;
    for (uint64_t l = first; l <= last; ++l) {
        const unsigned set = (unsigned)(l % c->sets);
        const uint32_t tag = ((uint32_t)l << 1) | 1;
        for (unsigned w = 0; w < c->ways; ++w) {
            const unsigned i = set * c->ways + w;
            if (c->tags[i] == tag) {
                dirty += c->dirty[i];
                c->dirty[i] = 0;
                if (!clean_only) c->tags[i] = 0;
            }
        }
    }
    return dirty;
}

static struct cache icache, dcache, art_i, art_d;

/* ---- memory regions -------------------------------------------------------------- */

static struct region *region_of(uint64_t a)
{
    static struct region *last;
    if (last && a >= last->lo && a < last->hi) return last;
    for (int i = 0; i < cfg.nregions; ++i) {
        if (a >= cfg.regions[i].lo && a < cfg.regions[i].hi) {
            last = &cfg.regions[i];
            return last;
        }
    }
    return NULL;
}

/* FMC SDRAM: open row per bank, CAS latency, a read FIFO that streams the
 * following data of a read burst (RBURST), bus width. Returns CPU cycles. */
static uint32_t sd_open_row[16];
static bool sd_row_valid[16];
static uint64_t sd_next;       /* address after the last read */
static double sd_ready;        /* time the byte at sd_next is available */
static bool sd_stream;

static double sdram_access(uint64_t addr, unsigned n, bool store)
{
    const double now = (double)cycles + cycle_frac;
    const uint64_t off = addr - cfg.sd_base;
    const unsigned bank = (unsigned)((off / cfg.sd_bank_bytes) % cfg.sd_banks) & 15;
    const uint32_t row = (uint32_t)(off / cfg.sd_row_bytes);
    double c = 0;
    bool row_hit = sd_row_valid[bank] && sd_open_row[bank] == row;
    if (!row_hit) {
        c += (sd_row_valid[bank] ? cfg.sd_trp + cfg.sd_trcd : cfg.sd_trcd) * cfg.sd_div;
        sd_open_row[bank] = row;
        sd_row_valid[bank] = true;
        sd_stream = false;
    }
    const unsigned beats = (n + cfg.sd_bus_bytes - 1) / cfg.sd_bus_bytes;
    const double per_byte = cfg.sd_div / cfg.sd_bus_bytes;
    if (store) {
        c += cfg.sd_wr_overhead + beats * cfg.sd_div;
        sd_stream = false;
        return c;
    }
    double ready;
    if (sd_stream && row_hit && addr == sd_next) {
        /* continuing a burst: the FIFO may have run ahead while the CPU worked */
        double start = sd_ready;
        const double ahead = now - cfg.sd_fifo_bytes * per_byte;
        if (start < ahead) start = ahead;
        ready = start + n * per_byte;
    } else {
        ready = now + c + cfg.sd_rd_overhead + cfg.sd_cas * cfg.sd_div + n * per_byte;
    }
    sd_stream = true;
    sd_next = addr + n;
    sd_ready = ready;
    return ready > now ? ready - now : 0;
}

/* Memory-mapped QSPI: a non-sequential read sends instruction + address +
 * dummy cycles (qspi_cmd CPU cycles) first; a sequential read continues the
 * stream at the sustained rate; the prefetch FIFO runs ahead while idle. */
static uint64_t qs_next;
static double qs_ready;
static bool qs_stream;

static double qspi_read(uint64_t addr, unsigned n)
{
    const double now = (double)cycles + cycle_frac;
    double ready;
    if (qs_stream && addr == qs_next) {
        double start = qs_ready;
        const double ahead = now - cfg.qs_fifo_bytes * cfg.qs_cycles_per_byte;
        if (start < ahead) start = ahead;
        ready = start + n * cfg.qs_cycles_per_byte;
    } else {
        ready = now + cfg.qs_cmd + n * cfg.qs_cycles_per_byte;
    }
    qs_stream = true;
    qs_next = addr + n;
    qs_ready = ready;
    return ready > now ? ready - now : 0;
}

/* Cycles to fill (or write back) one cache line of region r. */
static double line_fill(struct region *r, uint64_t line_addr, unsigned line)
{
    switch (r->model) {
    case MODEL_SDRAM: return sdram_access(line_addr, line, false);
    case MODEL_QSPI: return qspi_read(line_addr, line);
    case MODEL_FLASH: return r->fill;
    case MODEL_BUS: return r->fill;
    default: return 0;
    }
}

static double line_writeback(struct region *r, uint64_t line_addr, unsigned line)
{
    if (r->model == MODEL_SDRAM) return sdram_access(line_addr, line, true);
    return r->wb;
}

static double data_access(uint64_t a, unsigned size, bool store)
{
    struct region *r = region_of(a);
    if (!r) return 0;
    if (cfg.core == CORE_M7 && r->cached && dcache.tags) {
        const unsigned line = 1u << dcache.line_shift;
        const uint64_t la = a & ~(uint64_t)(line - 1);
        bool dirty_victim = false;
        int idx;
        if (store) {
            /* write hit: mark dirty (write-back) or write through; a write miss
             * does not allocate (the M7 switches to read-allocate for streams) */
            if (cache_access(&dcache, a, false, NULL, &idx)) {
                if (!r->write_through) {
                    dcache.dirty[idx] = 1;
                    return 0;
                }
            }
            if (r->model == MODEL_SDRAM) return sdram_access(a, size, true);
            return r->wr;
        }
        uint64_t victim = 0;
        if (cache_access_v(&dcache, a, true, &dirty_victim, &idx, &victim)) return 0;
        double c = 0;
        if (dirty_victim) {
            struct region *vr = region_of(victim);
            if (vr) c += line_writeback(vr, victim, line);
        }
        return c + line_fill(r, la, line);
    }
    switch (r->model) {
    case MODEL_ZERO: return 0;
    case MODEL_BUS: return store ? r->wr : r->rd;
    case MODEL_FLASH:
        if (store) return 0;
        if (art_d.tags) return cache_access(&art_d, a, true, NULL, NULL) ? 0 : cfg.flash_ws;
        return cfg.flash_ws;
    case MODEL_SDRAM: return sdram_access(a, size, store);
    case MODEL_QSPI: return store ? 0 : qspi_read(a, size);
    }
    return 0;
}

/* ---- branch predictor (Cortex-M7) ------------------------------------------------------ */

struct btac_entry {
    uint64_t pc, target;
    uint32_t age;
    uint8_t ctr; /* 2-bit */
    uint8_t valid;
};
static struct btac_entry *btac;
static uint32_t btac_tick;

/* The BTAC set of a branch: returns its entry (hit) or NULL; *victim is the
 * least recently used way of the set. */
static struct btac_entry *btac_find(uint64_t pc, struct btac_entry **victim)
{
    const unsigned ways = cfg.btac_ways ? cfg.btac_ways : 1;
    const unsigned sets = cfg.btac_entries / ways ? cfg.btac_entries / ways : 1;
    struct btac_entry *set = &btac[((pc >> 1) % sets) * ways];
    struct btac_entry *v = &set[0];
    for (unsigned w = 0; w < ways; ++w) {
        if (set[w].valid && set[w].pc == pc) return &set[w];
        if (!set[w].valid) v = &set[w];
        else if (v->valid && set[w].age < v->age) v = &set[w];
    }
    *victim = v;
    return NULL;
}

static double m7_branch(const struct tb_info *b, uint64_t next_pc)
{
    const bool taken = next_pc != b->end;
    struct btac_entry *victim = NULL;
    struct btac_entry *e = btac_find(b->branch_pc, &victim);
    const bool hit = e != NULL;
    /* not in the BTAC: predicted not taken */
    const bool pred_taken = hit && e->ctr >= 2;
    const bool target_ok = hit && e->target == next_pc;
    double pen = 0;
    if (taken) {
        if (!(pred_taken && target_ok)) {
            pen = (b->bkind == B_DIRECT || b->bkind == B_CALL) && !hit ? cfg.btac_miss_direct : cfg.mispredict;
        }
        if (!hit) {
            e = victim;
            e->valid = 1;
            e->pc = b->branch_pc;
            e->ctr = 2;
        } else if (e->ctr < 3) {
            ++e->ctr;
        }
        e->target = next_pc;
        e->age = ++btac_tick;
    } else {
        if (pred_taken) pen = cfg.mispredict;
        if (hit) {
            if (e->ctr > 0) --e->ctr;
            e->age = ++btac_tick;
        }
    }
    return pen;
}

static double m4_branch(const struct tb_info *b, const struct tb_info *next)
{
    if (next->pc == b->end) return 0; /* not taken: 1 cycle, already counted */
    double p = b->bkind == B_RET ? cfg.refill_load
             : b->bkind == B_IND ? cfg.refill_indirect : cfg.refill_direct;
    if (next->first_wide) p += cfg.refill_unaligned;
    return p;
}

/* ---- DMA model ------------------------------------------------------------------------- */

enum { EV_START = 1, EV_COPY_BEGIN = 2, EV_COPY_END = 3, EV_WAIT = 4 };
#define EV_WORDS 5
#define MAX_JOBS 256

struct job {
    uint32_t id;
    double end;
};
static struct job jobs[MAX_JOBS];
static int njobs;
static double engine_free;
static bool in_copy;
static uint32_t ev_words[EV_WORDS];
static int ev_bytes;

static double now_d(void) { return (double)cycles + cycle_frac; }

/* Same formula as tinyops_tflm.planning.board_timing.dma_transfer_cycles. */
static double dma_duration(int src, int dst, unsigned width_log2, unsigned burst, uint64_t bytes)
{
    const uint64_t items = bytes >> width_log2;
    const uint64_t max_items = burst ? cfg.dma_max_items_burst : cfg.dma_max_items;
    const uint64_t chunks = items == 0 ? 1 : (items + max_items - 1) / max_items;
    double cpb = 0;
    if (src >= 0 && dst >= 0 && width_log2 <= 2) cpb = cfg.dma_cpb[src][dst][width_log2][burst ? 1 : 0];
    return cfg.dma_setup * (double)chunks + (double)bytes * cpb;
}

static void stall_until(double t)
{
    const double now = now_d();
    if (t > now) stall(&stall_dma, t - now);
}

static void dma_event(void)
{
    const uint32_t ev = ev_words[0] & 0xFF;
    if (ev == EV_START) {
        const uint32_t flags = ev_words[0] >> 8;
        const uint32_t id = ev_words[1], dst = ev_words[2], src = ev_words[3], bytes = ev_words[4];
        /* all streams busy: the driver waits for the oldest */
        int busy = 0;
        for (int i = 0; i < njobs; ++i) busy += jobs[i].end > now_d();
        if (busy >= (int)(cfg.dma_streams ? cfg.dma_streams : 1)) {
            double oldest = 0;
            int seen = 0;
            for (int i = 0; i < njobs && seen <= busy - (int)cfg.dma_streams; ++i) {
                if (jobs[i].end > now_d()) {
                    oldest = jobs[i].end;
                    ++seen;
                }
            }
            stall_until(oldest);
        }
        struct region *rs = region_of(src), *rd = region_of(dst);
        const double dur = dma_duration(rs ? rs->kind : -1, rd ? rd->kind : -1, flags & 3, (flags >> 2) & 1, bytes);
        double begin = now_d();
        if (engine_free > begin) begin = engine_free;
        engine_free = begin + dur;
        if (njobs == MAX_JOBS) {
            /* bookkeeping overflow: forget the oldest (it is long done or waited) */
            memmove(jobs, jobs + 1, sizeof(jobs[0]) * (MAX_JOBS - 1));
            --njobs;
        }
        jobs[njobs].id = id;
        jobs[njobs].end = engine_free;
        ++njobs;
        dma_busy += dur;
        ++dma_jobs;
        dma_bytes += bytes;
        /* the driver cleans the source and invalidates the destination lines */
        if (dcache.tags) {
            const unsigned dirty = cache_invalidate(&dcache, src, bytes, true);
            if (dirty && rs) stall(&stall_mem, dirty * line_writeback(rs, src, 1u << dcache.line_shift));
            cache_invalidate(&dcache, dst, bytes, false);
        }
    } else if (ev == EV_COPY_BEGIN) {
        in_copy = true;
    } else if (ev == EV_COPY_END) {
        in_copy = false;
    } else if (ev == EV_WAIT) {
        const uint32_t ticket = ev_words[1];
        const bool all = ev_words[2] != 0;
        double until = 0;
        int keep = 0;
        for (int i = 0; i < njobs; ++i) {
            if (all || (int32_t)(jobs[i].id - ticket) <= 0) {
                if (jobs[i].end > until) until = jobs[i].end;
            } else {
                jobs[keep++] = jobs[i];
            }
        }
        njobs = keep;
        stall_until(until);
    }
}

/* Loads inside tinyops_dma_event: each one's address is mailbox + one byte of
 * an argument, little-endian, EV_WORDS words. */
static void on_event_mem(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *ud)
{
    (void)vcpu;
    (void)ud;
    if (qemu_plugin_mem_is_store(info) || vaddr < mailbox_addr || vaddr >= mailbox_addr + 256) return;
    if (ev_bytes >= EV_WORDS * 4) return;
    const uint32_t b = (uint32_t)(vaddr - mailbox_addr);
    ev_words[ev_bytes / 4] |= b << (8 * (ev_bytes % 4));
    if (++ev_bytes == EV_WORDS * 4) dma_event();
}

/* ---- run time ---------------------------------------------------------------------------- */

static const struct tb_info *prev_tb;
static uint64_t br_exec[6], br_taken[6];
static double br_pen[6];
static uint64_t last_fetch_line = UINT64_MAX;
static double last_line_cyc;

static void fetch_lines(const struct tb_info *b)
{
    struct region *r = &cfg.regions[b->fetch_region - 1];
    for (unsigned i = 0; i < b->nlines; ++i) {
        const uint64_t line = b->lines[i].addr;
        double pen = 0;
        if (cfg.core == CORE_M7) {
            if (icache.tags && r->cached) {
                if (!cache_access(&icache, line, true, NULL, NULL)) pen = line_fill(r, line, 1u << icache.line_shift);
            } else if (r->model != MODEL_ZERO) {
                pen = line_fill(r, line, 4);
            }
        } else if (r->model == MODEL_FLASH) {
            const unsigned lb = 1u << art_i.line_shift;
            if (!art_i.tags || !cache_access(&art_i, line, true, NULL, NULL)) {
                if (cfg.art_prefetch && line == last_fetch_line + lb) {
                    /* the prefetch buffer started this line while the previous one executed */
                    pen = cfg.flash_ws - last_line_cyc;
                } else {
                    pen = cfg.flash_ws;
                }
            }
        } else if (r->model != MODEL_ZERO) {
            pen = line_fill(r, line, 4);
        }
        if (pen > 0) stall(&stall_fetch, pen);
        last_fetch_line = line;
        last_line_cyc = b->lines[i].cyc;
    }
}

static void on_tb_exec(unsigned int vcpu, void *ud)
{
    (void)vcpu;
    const struct tb_info *b = ud;
    if (b->skip) {
        if (b->pc == event_addr) {
            ev_bytes = 0;
            memset(ev_words, 0, sizeof(ev_words));
        }
        return;
    }
    if (in_copy) return;
    if (prev_tb && prev_tb->bkind != B_NONE) {
        const double pen = cfg.core == CORE_M7 ? m7_branch(prev_tb, b->pc) : m4_branch(prev_tb, b);
        stall(&stall_branch, pen);
        if (dump) {
            ++br_exec[prev_tb->bkind];
            br_taken[prev_tb->bkind] += b->pc != prev_tb->end;
            br_pen[prev_tb->bkind] += pen;
        }
    }
    prev_tb = b;
    insn_count += b->n_insns;
    cycles += b->static_cyc;
    if (b->fetch_region) fetch_lines(b);
}

static void on_mem(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *ud)
{
    (void)vcpu;
    (void)ud;
    if (in_copy) return;
    const unsigned size = 1u << qemu_plugin_mem_size_shift(info);
    stall(&stall_mem, data_access(vaddr, size, qemu_plugin_mem_is_store(info)));
}

/* userdata: instructions (and static cycles) of the marker's TB at and after it */
struct marker_info {
    uint32_t n_after;
    uint32_t cyc_after;
};

static void on_marker(unsigned int vcpu_index, void *userdata)
{
    (void)vcpu_index;
    const struct marker_info *m = userdata;
    if (cycle_mode) {
        if (in_copy) return;
        emit("mark", insn_count - m->n_after, cycles - m->cyc_after);
    } else {
        emit("mark", insn_count - m->n_after, 0);
    }
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
        qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &insn_count, n);
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
    emit("total", insn_count, cycles);
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
        if (event_addr == UINT64_MAX || mailbox_addr == UINT64_MAX) event_end = 0;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_translate);
    qemu_plugin_register_atexit_cb(id, on_plugin_exit, NULL);
    return 0;
}
