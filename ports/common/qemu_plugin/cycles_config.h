/* Part of tinyops_cycles.c: the QEMU plugin API declarations and the configuration (board timing file).
 * Not a standalone header: tinyops_cycles.c includes the parts once, in
 * order, into its one translation unit (the plugin is one .so from one
 * compiler call); each part sees everything the earlier ones declare. */

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
