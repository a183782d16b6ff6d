/* Part of tinyops_cycles.c: counters and instruction decoding (capstone text).
 * Not a standalone header: tinyops_cycles.c includes the parts once, in
 * order, into its one translation unit (the plugin is one .so from one
 * compiler call); each part sees everything the earlier ones declare. */

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
