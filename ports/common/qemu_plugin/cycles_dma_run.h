/* Part of tinyops_cycles.c: the DMA model and run-time accounting.
 * Not a standalone header: tinyops_cycles.c includes the parts once, in
 * order, into its one translation unit (the plugin is one .so from one
 * compiler call); each part sees everything the earlier ones declare. */

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

/* Plain mode: the instructions of the emulated DMA's copies (between
 * COPY_BEGIN and COPY_END: the DMA engine's work on a board) are left out
 * of the counts, as the cycle model leaves them out of CPU time. */
static uint64_t copy_insns, copy_from;

static void plain_event(void)
{
    const uint32_t ev = ev_words[0] & 0xFF;
    if (ev == EV_COPY_BEGIN) {
        in_copy = true;
        copy_from = insn_count;
    } else if (ev == EV_COPY_END && in_copy) {
        in_copy = false;
        copy_insns += insn_count - copy_from;
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
    if (++ev_bytes == EV_WORDS * 4) {
        if (cycle_mode) {
            dma_event();
        } else {
            plain_event();
        }
    }
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

/* Plain mode: the event function starts a new event. */
static void on_plain_event_entry(unsigned int vcpu, void *ud)
{
    (void)vcpu;
    (void)ud;
    ev_bytes = 0;
    memset(ev_words, 0, sizeof(ev_words));
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
        emit("mark", insn_count - copy_insns - m->n_after, 0);
    }
}
