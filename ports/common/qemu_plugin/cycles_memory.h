/* Part of tinyops_cycles.c: memory regions and the Cortex-M7 branch predictor.
 * Not a standalone header: tinyops_cycles.c includes the parts once, in
 * order, into its one translation unit (the plugin is one .so from one
 * compiler call); each part sees everything the earlier ones declare. */

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
