/* Part of tinyops_cycles.c: per-TB static cost and the cache models.
 * Not a standalone header: tinyops_cycles.c includes the parts once, in
 * order, into its one translation unit (the plugin is one .so from one
 * compiler call); each part sees everything the earlier ones declare. */

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
