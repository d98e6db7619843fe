/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_quote: how much does tagent's tpm_quote() cost on top of the TPM work it has to do?
 *
 * On one swtpm, provisioned through quote/ like `tagent setup` does, it times
 *   (a) tpm_quote(): Quote + PCR_Read + blob + consistency check, PCRs 0-23, for the SHA256 bank and for the
 *       default bank list (SHA384+SHA256 on a TPM with all three banks: SHA1 does not fit HVS's 2304 bytes);
 *   (b) the baseline: bare ESAPI, same selection, one Esys_Quote plus the Esys_PCR_Read calls needed to read
 *       every selected PCR, nothing else (AIK handle resolved once, outside the loop);
 *   (c) the tpm2_quote command for the SHA256 selection, whole process (fork/exec/load/connect/quote/exit).
 * (a) and (b) run interleaved in rounds, in alternating order, so machine noise hits both alike; (c) runs are
 * spread evenly over the rounds. The target (issue): median(a) <= 1.3 x median(b).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include "bench_util.h"
#include "harness.h"
#include "quote.h"

#define TARGET_RATIO    1.3
#define PCR_MASK_ALL    0x00ffffffu /* PCRs 0-23 */
#define TOOL_TIMEOUT_MS 30000
#define NONCE_LEN       32

/* Any fixed secrets will do: the swtpm is ours and thrown away at exit. */
#define OWNER_SECRET       "0123456789abcdef0123456789abcdef01234567"
#define ENDORSEMENT_SECRET "89abcdef0123456789abcdef0123456789abcdef"

struct opts {
    unsigned iterations;      /* (a) and (b), per selection */
    unsigned tool_iterations; /* (c); 0 = skip */
    unsigned warmup;
};

/* One row of the table: what was timed, its latencies and the CPU time this side spent on them (ns). The CPU
 * column tells client work (ESAPI, tagent's checks, process start-up) from time spent waiting for swtpm. */
struct row {
    char label[96];
    struct bench_samples wall, cpu;
};

/* A point in time on both clocks. */
struct stamp {
    uint64_t wall, cpu;
};

/* A PCR selection in both forms the two sides take: the request (tagent) and the TPML (bare ESAPI). */
struct selection {
    uint16_t banks[3]; /* for tpm_quote(); n_banks 0 = tagent's default list */
    size_t n_banks;
    TPML_PCR_SELECTION tpml; /* filled from what tpm_quote() actually quoted, so both sides ask the same */
    unsigned pcr_reads;      /* PCR_Read calls the bare loop needed for it, from its last run */
    struct row tagent, bare;
};

/* The bare ESAPI side: its own TCTI + ESYS context on the same swtpm, and the AIK resolved once. */
struct bare {
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_CONTEXT *esys;
    ESYS_TR aik;
};

/* The tpm2_quote side: resolved program path, argv, and files in a temp dir. */
struct tool {
    char prog[256];
    char *dir, *log, *msg, *sig, *pcrs;
    char pcr_list[96];
    char qualifying_hex[2 * NONCE_LEN + 1]; /* -q: the same kind of qualifying data as the other rows */
    struct row row;
};

/* Wall time; CPU time of this thread, which makes every call. */
static struct stamp stamp_now(void)
{
    return (struct stamp){.wall = bench_mono_ns(), .cpu = bench_thread_cpu_ns()};
}

/* User + system time of the children reaped so far (the tpm2_quote processes; swtpm is reaped at exit). */
static uint64_t children_cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return bench_timeval_ns(ru.ru_utime) + bench_timeval_ns(ru.ru_stime);
}

/* ---- options ---- */

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_quote [-n ITERATIONS] [-t TOOL_ITERATIONS] [-w WARMUP]\n"
               "  -n N  tpm_quote() and bare-ESAPI iterations per bank selection (default 200)\n"
               "  -t N  tpm2_quote process runs (default 30; 0 skips that row)\n"
               "  -w N  untimed warm-up iterations of each row first (default 5)\n");
}

static int opts_parse(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){.iterations = 200, .tool_iterations = 30, .warmup = 5};
    const struct bench_option options[] = {
        {.letter = 'n', .long_name = "iterations", .count = &o->iterations, .min = 1, .max = 1000000},
        {.letter = 't',
         .long_name = "tool-iterations",
         .count = &o->tool_iterations,
         .min = 0,
         .max = 1000000},
        {.letter = 'w', .long_name = "warmup", .count = &o->warmup, .min = 0, .max = 1000000},
        {0},
    };
    const struct bench_cli cli = {"bench_quote", usage, options};
    return bench_opts_parse(&cli, argc, argv);
}

/* ---- rows and statistics ---- */

static int row_init(struct row *row, size_t cap, const char *label)
{
    snprintf(row->label, sizeof(row->label), "%s", label);
    int r = bench_samples_init(&row->wall, cap);
    return r == 0 ? bench_samples_init(&row->cpu, cap) : r;
}

static void row_add(struct row *row, struct stamp start, struct stamp end, uint64_t extra_cpu)
{
    bench_samples_add(&row->wall, end.wall - start.wall);
    bench_samples_add(&row->cpu, end.cpu - start.cpu + extra_cpu);
}

static void row_free(struct row *row)
{
    bench_samples_free(&row->wall);
    bench_samples_free(&row->cpu);
}

struct stats {
    double median, p10, p90, cpu_median; /* ms */
};

/* Sorts the samples (each column on its own: the medians are of the columns, not of one run). */
static struct stats row_stats(struct row *row)
{
    bench_samples_sort(&row->wall);
    bench_samples_sort(&row->cpu);
    return (struct stats){
        .median = bench_samples_quantile(&row->wall, 0.5) / 1e6,
        .p10 = bench_samples_quantile(&row->wall, 0.1) / 1e6,
        .p90 = bench_samples_quantile(&row->wall, 0.9) / 1e6,
        .cpu_median = bench_samples_quantile(&row->cpu, 0.5) / 1e6,
    };
}

/* ---- setup: swtpm and provisioning through quote/ ---- */

/* Prints and frees *error (quote/'s message) when r says the call failed. */
static int tpm_check(int r, const char *what, char **error)
{
    if (r < 0)
        fprintf(stderr, "bench_quote: %s: %s\n", what, *error ? *error : "out of memory");
    free(*error);
    *error = NULL;
    return r;
}

/* What `tagent setup` does before the first quote: ownership, EK from its certificate, AIK. */
static int provision(tpm_t *tpm)
{
    struct tpm_auth owner, endorsement;
    struct tpm_ek_cert cert = {0};
    char *error = NULL;

    int r = tpm_check(tpm_auth_from_secret(OWNER_SECRET, &owner, &error), "owner secret", &error);
    if (r == 0)
        r = tpm_check(tpm_auth_from_secret(ENDORSEMENT_SECRET, &endorsement, &error), "endorsement secret",
                      &error);
    if (r == 0)
        r = tpm_check(tpm_take_ownership(tpm, &owner, &endorsement, &error), "tpm_take_ownership", &error);
    if (r == 0)
        r = tpm_check(tpm_ek_cert_read(tpm, &owner, &cert, &error), "tpm_ek_cert_read", &error);
    if (r == 0)
        r = tpm_check(tpm_ek_provision(tpm, &owner, &endorsement, &cert, &error), "tpm_ek_provision", &error);
    if (r == 0)
        r = tpm_check(tpm_aik_provision(tpm, &owner, &endorsement, &error), "tpm_aik_provision", &error);
    tpm_ek_cert_free(&cert);
    tpm_auth_clear(&owner);
    tpm_auth_clear(&endorsement);
    return r;
}

/* ---- (a) tagent ---- */

/* A fresh nonce per quote, as HVS sends; its content does not matter to the timing. */
static void nonce_fill(uint8_t nonce[NONCE_LEN], uint64_t counter)
{
    memset(nonce, 0x5a, NONCE_LEN);
    memcpy(nonce, &counter, sizeof(counter));
}

static int tagent_quote(tpm_t *tpm, const struct selection *sel, uint64_t counter, struct tpm_quote *ret_q)
{
    uint8_t nonce[NONCE_LEN];
    char *error = NULL;
    nonce_fill(nonce, counter);
    struct tpm_quote_request req = {
        .nonce = nonce,
        .nonce_len = sizeof(nonce),
        .pcr_mask = PCR_MASK_ALL,
        .banks = sel->n_banks ? sel->banks : NULL,
        .n_banks = sel->n_banks,
    };
    return tpm_check(tpm_quote(tpm, &req, ret_q, &error), "tpm_quote", &error);
}

static int tagent_time(tpm_t *tpm, struct selection *sel, uint64_t counter, bool record)
{
    struct tpm_quote q;
    struct stamp t0 = stamp_now();
    int r = tagent_quote(tpm, sel, counter, &q);
    struct stamp t1 = stamp_now();
    if (r == 0 && q.attempts != 1) {
        /* Nothing extends PCRs here: a retry would mean a bug, and it would time two quotes as one. */
        fprintf(stderr, "bench_quote: tpm_quote() needed %u attempts on an idle TPM\n", q.attempts);
        r = -EPROTO;
    }
    tpm_quote_free(&q);
    if (r == 0 && record)
        row_add(&sel->tagent, t0, t1, 0);
    return r;
}

/* The bare loop must ask the TPM exactly what tpm_quote() asked: take the selection from its answer. */
static int selection_resolve(tpm_t *tpm, struct selection *sel)
{
    struct tpm_quote q;
    int r = tagent_quote(tpm, sel, 0, &q);
    if (r < 0)
        return r;
    memset(&sel->tpml, 0, sizeof(sel->tpml));
    sel->tpml.count = (UINT32)q.n_banks;
    for (size_t i = 0; i < q.n_banks; i++) {
        TPMS_PCR_SELECTION *s = &sel->tpml.pcrSelections[i];
        s->hash = q.banks[i];
        s->sizeofSelect = 3;
        s->pcrSelect[0] = s->pcrSelect[1] = s->pcrSelect[2] = 0xff;
    }
    tpm_quote_free(&q);
    return 0;
}

/* ---- (b) bare ESAPI ---- */

static void bare_close(struct bare *b)
{
    if (b->esys) {
        if (b->aik != ESYS_TR_NONE)
            Esys_TR_Close(b->esys, &b->aik);
        Esys_Finalize(&b->esys);
    }
    if (b->tcti)
        Tss2_TctiLdr_Finalize(&b->tcti);
}

static int bare_open(struct bare *b, const char *tcti)
{
    *b = (struct bare){.aik = ESYS_TR_NONE};
    TSS2_RC rc = Tss2_TctiLdr_Initialize(tcti, &b->tcti);
    if (rc == TSS2_RC_SUCCESS)
        rc = Esys_Initialize(&b->esys, b->tcti, NULL);
    if (rc == TSS2_RC_SUCCESS)
        rc =
            Esys_TR_FromTPMPublic(b->esys, TPM_HANDLE_AIK, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &b->aik);
    if (rc != TSS2_RC_SUCCESS) {
        fprintf(stderr, "bench_quote: bare ESAPI context on %s: TSS2_RC 0x%08" PRIx32 "\n", tcti, rc);
        bare_close(b);
        return -EIO;
    }
    return 0;
}

static bool selection_pending(const TPML_PCR_SELECTION *sel)
{
    for (UINT32 i = 0; i < sel->count; i++)
        for (UINT8 k = 0; k < sel->pcrSelections[i].sizeofSelect; k++)
            if (sel->pcrSelections[i].pcrSelect[k])
                return true;
    return false;
}

/* Clears in left every PCR the TPM returned in got (matching banks by algorithm). */
static void selection_remove(TPML_PCR_SELECTION *left, const TPML_PCR_SELECTION *got)
{
    for (UINT32 g = 0; g < got->count; g++)
        for (UINT32 i = 0; i < left->count; i++)
            if (left->pcrSelections[i].hash == got->pcrSelections[g].hash)
                for (UINT8 k = 0;
                     k < got->pcrSelections[g].sizeofSelect && k < left->pcrSelections[i].sizeofSelect; k++)
                    left->pcrSelections[i].pcrSelect[k] &= (BYTE)~got->pcrSelections[g].pcrSelect[k];
}

/* One Quote, then PCR_Read until every selected PCR came back (at most 8 digests per call). No checks. */
static int bare_quote(struct bare *b, const TPML_PCR_SELECTION *sel, uint64_t counter, unsigned *ret_reads)
{
    static const TPMT_SIG_SCHEME scheme = {.scheme = TPM2_ALG_NULL};
    TPM2B_DATA qualifying = {.size = NONCE_LEN};
    TPM2B_ATTEST *quoted = NULL;
    TPMT_SIGNATURE *sig = NULL;
    nonce_fill(qualifying.buffer, counter);

    TSS2_RC rc = Esys_Quote(b->esys, b->aik, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &qualifying,
                            &scheme, sel, &quoted, &sig);
    Esys_Free(quoted);
    Esys_Free(sig);
    TPML_PCR_SELECTION left = *sel;
    unsigned reads = 0;
    while (rc == TSS2_RC_SUCCESS && selection_pending(&left)) {
        TPML_PCR_SELECTION *got = NULL;
        TPML_DIGEST *digests = NULL;
        rc = Esys_PCR_Read(b->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &left, NULL, &got, &digests);
        if (rc == TSS2_RC_SUCCESS) {
            if (digests->count == 0)
                rc = TSS2_BASE_RC_GENERAL_FAILURE; /* would loop forever */
            selection_remove(&left, got);
            reads++;
        }
        Esys_Free(got);
        Esys_Free(digests);
    }
    if (rc != TSS2_RC_SUCCESS) {
        fprintf(stderr, "bench_quote: bare Esys_Quote/Esys_PCR_Read: TSS2_RC 0x%08" PRIx32 "\n", rc);
        return -EIO;
    }
    *ret_reads = reads;
    return 0;
}

static int bare_time(struct bare *b, struct selection *sel, uint64_t counter, bool record)
{
    unsigned reads;
    struct stamp t0 = stamp_now();
    int r = bare_quote(b, &sel->tpml, counter, &reads);
    struct stamp t1 = stamp_now();
    if (r == 0 && record)
        row_add(&sel->bare, t0, t1, 0);
    if (r == 0)
        sel->pcr_reads = reads;
    return r;
}

/* ---- (c) tpm2_quote ---- */

static int tool_init(struct tool *t)
{
    if (bench_which("tpm2_quote", t->prog, sizeof(t->prog)) < 0) {
        fprintf(stderr, "bench_quote: tpm2_quote not found (install tpm2-tools, or pass -t 0)\n");
        return -ENOENT;
    }
    int r = harness_tmpdir_create("bench-quote", &t->dir);
    if (r == 0)
        r = harness_path_join(t->dir, "tpm2_quote.log", &t->log);
    if (r == 0)
        r = harness_path_join(t->dir, "quote.msg", &t->msg);
    if (r == 0)
        r = harness_path_join(t->dir, "quote.sig", &t->sig);
    if (r == 0)
        r = harness_path_join(t->dir, "quote.pcrs", &t->pcrs);
    if (r < 0)
        return r;
    int off = snprintf(t->pcr_list, sizeof(t->pcr_list), "sha256:");
    for (int i = 0; i < 24; i++)
        off += snprintf(t->pcr_list + off, sizeof(t->pcr_list) - (size_t)off, i ? ",%d" : "%d", i);
    return 0;
}

static void tool_free(struct tool *t)
{
    free(t->log);
    free(t->msg);
    free(t->sig);
    free(t->pcrs);
    if (t->dir)
        harness_tmpdir_remove(t->dir);
    free(t->dir);
    row_free(&t->row);
}

static int tool_time(struct tool *t, const char *tcti, uint64_t counter, bool record)
{
    uint8_t nonce[NONCE_LEN];
    nonce_fill(nonce, counter);
    for (size_t i = 0; i < NONCE_LEN; i++)
        snprintf(t->qualifying_hex + 2 * i, 3, "%02x", nonce[i]);
    const char *argv[] = {t->prog,           "-T", tcti,   "-c", "0x81018000", "-l", t->pcr_list, "-q",
                          t->qualifying_hex, "-m", t->msg, "-s", t->sig,       "-o", t->pcrs,     NULL};
    pid_t pid;
    int status = 0;

    uint64_t child_cpu = children_cpu_ns();
    struct stamp t0 = stamp_now();
    int r = harness_spawn(argv, t->log, &pid);
    if (r < 0)
        return r;
    r = bench_child_wait(pid, TOOL_TIMEOUT_MS, &status);
    struct stamp t1 = stamp_now();
    if (r < 0) {
        fprintf(stderr, "bench_quote: tpm2_quote did not finish: %s\n", strerror(-r));
        harness_proc_stop(pid);
        return r;
    }
    harness_proc_exited(pid); /* reaps it: only now its CPU time counts in RUSAGE_CHILDREN */
    child_cpu = children_cpu_ns() - child_cpu;
    if (status != 0) {
        fprintf(stderr, "bench_quote: tpm2_quote failed (status %d)\n", status);
        harness_log_tail(t->log, 20);
        return -EIO;
    }
    if (record)
        row_add(&t->row, t0, t1, child_cpu);
    return 0;
}

/* ---- the run ---- */

struct bench {
    struct opts opts;
    swtpm_t *swtpm;
    tpm_t *tpm;
    struct bare bare;
    struct selection sel[2];
    struct tool tool;
    bool with_tool;
};

static int bench_setup(struct bench *b)
{
    static const struct swtpm_opts swtpm_opts = {.ek_cert = true, .pcr_banks = "sha1,sha256,sha384"};
    char *error = NULL;

    b->sel[0] = (struct selection){.banks = {TPM_BANK_SHA256}, .n_banks = 1};
    b->sel[1] = (struct selection){.n_banks = 0};
    b->bare.aik = ESYS_TR_NONE;

    int r = swtpm_start(&swtpm_opts, &b->swtpm);
    if (r == 0)
        r = tpm_check(tpm_open(b->swtpm->tcti, &b->tpm, &error), "tpm_open", &error);
    if (r == 0)
        r = provision(b->tpm);
    for (size_t i = 0; r == 0 && i < 2; i++)
        r = selection_resolve(b->tpm, &b->sel[i]);
    if (r == 0)
        r = bare_open(&b->bare, b->swtpm->tcti);
    for (size_t i = 0; r == 0 && i < 2; i++) {
        r = row_init(&b->sel[i].tagent, b->opts.iterations, "(a) tagent tpm_quote()");
        if (r == 0)
            r = row_init(&b->sel[i].bare, b->opts.iterations, "(b) bare ESAPI [baseline]");
    }
    if (r == 0 && b->with_tool)
        r = tool_init(&b->tool);
    if (r == 0 && b->with_tool)
        r = row_init(&b->tool.row, b->opts.tool_iterations, "(c) tpm2_quote process");
    return r;
}

static void bench_free(struct bench *b)
{
    for (size_t i = 0; i < 2; i++) {
        row_free(&b->sel[i].tagent);
        row_free(&b->sel[i].bare);
    }
    tool_free(&b->tool);
    bare_close(&b->bare);
    tpm_close(b->tpm);
    swtpm_free(b->swtpm);
}

/* One round: each selection's (a) and (b) once, in an order that alternates between rounds so that neither
 * side systematically runs first (right after the other one warmed the swtpm's caches, or not). */
static int bench_round(struct bench *b, unsigned round, bool record)
{
    int r = 0;
    for (size_t i = 0; r == 0 && i < 2; i++) {
        struct selection *s = &b->sel[i];
        uint64_t counter = ((uint64_t)round << 1) | i;
        if (round % 2 == 0) {
            r = tagent_time(b->tpm, s, counter, record);
            if (r == 0)
                r = bare_time(&b->bare, s, counter, record);
        } else {
            r = bare_time(&b->bare, s, counter, record);
            if (r == 0)
                r = tagent_time(b->tpm, s, counter, record);
        }
    }
    return r;
}

static int bench_run(struct bench *b)
{
    const struct opts *o = &b->opts;
    int r = 0;
    /* Warm-up: first connections, ESAPI's first use of the AIK, page faults, swtpm's key cache. */
    for (unsigned i = 0; r == 0 && i < o->warmup; i++)
        r = bench_round(b, i, false);
    /* A tpm2_quote process starts cold anyway; two runs are enough to fill the page cache. */
    unsigned tool_warmup = b->with_tool ? (o->warmup < 2 ? o->warmup : 2) : 0;
    for (unsigned i = 0; r == 0 && i < tool_warmup; i++)
        r = tool_time(&b->tool, b->swtpm->tcti, i, false);

    unsigned tool_done = 0;
    for (unsigned i = 0; r == 0 && i < o->iterations; i++) {
        r = bench_round(b, i, true);
        /* Spread the tool runs over the rounds: run one whenever the share due so far exceeds what ran. */
        unsigned tool_due = (unsigned)(((uint64_t)(i + 1) * o->tool_iterations) / o->iterations);
        while (r == 0 && b->with_tool && tool_done < tool_due) {
            r = tool_time(&b->tool, b->swtpm->tcti, i, true);
            tool_done++;
        }
    }
    return r;
}

/* ---- report ---- */

static void selection_label(const struct selection *s, char *buf, size_t size)
{
    size_t off = 0;
    buf[0] = '\0';
    for (UINT32 i = 0; i < s->tpml.count && off < size; i++)
        off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? "+" : "",
                                tpm_bank_name(s->tpml.pcrSelections[i].hash));
}

static void print_row(struct row *row, const char *banks, const char *note, struct stats *ret)
{
    struct stats s = row_stats(row);
    printf("%-28s %-14s %5zu %9.3f %9.3f %9.3f %9.3f  %s\n", row->label, banks, row->wall.n, s.median, s.p10,
           s.p90, s.cpu_median, note);
    *ret = s;
}

static void bench_report(struct bench *b)
{
    struct stats ta[2], ba[2], tool = {0};
    char banks[2][32], note[64];
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    printf("bench_quote: swtpm %s (banks sha1,sha256,sha384), AIK 0x%08x RSA-2048, PCRs 0-23; %ld CPUs\n",
           b->swtpm->tcti, TPM_HANDLE_AIK, cpus);
    printf("%u rounds of (a)+(b) per selection, alternating order; %u tpm2_quote runs spread over them; "
           "%u warm-up rounds\n\n",
           b->opts.iterations, b->with_tool ? b->opts.tool_iterations : 0, b->opts.warmup);
    printf("%-28s %-14s %5s %9s %9s %9s %9s\n", "row", "banks", "n", "median", "p10", "p90", "cpu");
    printf("%-28s %-14s %5s %9s %9s %9s %9s\n", "", "", "", "ms", "ms", "ms", "ms");
    for (size_t i = 0; i < 2; i++) {
        selection_label(&b->sel[i], banks[i], sizeof(banks[i]));
        print_row(&b->sel[i].tagent, banks[i],
                  b->sel[i].n_banks ? "banks = {SHA256}" : "banks = default list", &ta[i]);
        snprintf(note, sizeof(note), "Quote + %u x PCR_Read", b->sel[i].pcr_reads);
        print_row(&b->sel[i].bare, banks[i], note, &ba[i]);
    }
    if (b->with_tool)
        print_row(&b->tool.row, "SHA256", "fork+exec .. exit", &tool);

    printf("\nratios of medians (baseline = bare ESAPI: Esys_Quote + Esys_PCR_Read, same selection, same "
           "swtpm)\n");
    bool met = true;
    for (size_t i = 0; i < 2; i++) {
        double ratio = ta[i].median / ba[i].median;
        met &= ratio <= TARGET_RATIO;
        printf("  (a)/(b) %-14s %6.3f   target <= %.1f: %s\n", banks[i], ratio, TARGET_RATIO,
               ratio <= TARGET_RATIO ? "met" : "NOT met");
    }
    if (b->with_tool)
        printf("  (c)/(a) %-14s %6.3f   (tpm2_quote process vs tpm_quote())\n", banks[0],
               tool.median / ta[0].median);
    printf("cpu: median CPU time of the client side per call (this thread; for (c) plus the tpm2_quote "
           "process);\n"
           "     the rest of the latency is swtpm's work and the loopback round trips.\n");
    printf("\ntarget (tagent's full quote within %.1fx of the bare ESAPI calls): %s\n", TARGET_RATIO,
           met ? "MET" : "NOT MET");
}

int main(int argc, char **argv)
{
    struct bench b = {0};
    int r = opts_parse(argc, argv, &b.opts);
    if (r != 0)
        return r > 0 ? 0 : 2;
    b.with_tool = b.opts.tool_iterations > 0;
    /* Line-buffered: the table and any diagnostics on stderr stay in order when both go to one file. */
    setvbuf(stdout, NULL, _IOLBF, 0);

    r = bench_setup(&b);
    if (r == 0)
        r = bench_run(&b);
    if (r == 0)
        bench_report(&b);
    else
        fprintf(stderr, "bench_quote: failed (%s)\n", strerror(-r));
    bench_free(&b);
    return r == 0 ? 0 : 1;
}
