/* See tpm_fixture.h. Nothing here uses quote/ internals: the blob is parsed byte by byte, and the outside
 * view of the TPM goes through an ESAPI context of its own (swtpm's TCTI connects per command, so it runs
 * alongside the tpm_t under test). */
#include "tpm_fixture.h"

#include "cleanup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/sha.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#define TOOL_TIMEOUT_MS 30000

int fx_start(struct fx *f, const struct swtpm_opts *opts)
{
    _cleanup_free_ char *error = NULL;
    int r;

    memset(f, 0, sizeof(*f));
    r = swtpm_start(opts, &f->swtpm);
    if (r == 0)
        r = harness_tmpdir_create("quote", &f->dir);
    if (r == 0)
        r = harness_path_join(f->dir, "tools.log", &f->tool_log);
    if (r == 0 && (r = tpm_open(f->swtpm->tcti, &f->tpm, &error)) < 0)
        fprintf(stderr, "fixture: tpm_open: %s\n", error ? error : "out of memory");
    return r;
}

int fx_start_owned(struct fx *f)
{
    static const struct swtpm_opts opts = {.skip_setup = true};
    _cleanup_free_ char *error = NULL;
    int r = fx_start(f, &opts);
    if (r == 0 && ((r = tpm_auth_from_secret(FX_OWNER_SECRET, &f->owner, &error)) < 0 ||
                   (r = tpm_auth_from_secret(FX_ENDORSEMENT_SECRET, &f->endorsement, &error)) < 0 ||
                   (r = tpm_take_ownership(f->tpm, &f->owner, &f->endorsement, &error)) < 0))
        fprintf(stderr, "fixture: take-ownership: %s\n", error ? error : "out of memory");
    return r;
}

static EVP_PKEY *pem_public_key(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;

    BIO_free(bio);
    return key;
}

int fx_provision(struct fx *f)
{
    _cleanup_free_ char *error = NULL;
    struct tpm_ek_cert cert = {0};
    int r;

    if ((r = tpm_auth_from_secret(FX_OWNER_SECRET, &f->owner, &error)) < 0 ||
        (r = tpm_auth_from_secret(FX_ENDORSEMENT_SECRET, &f->endorsement, &error)) < 0 ||
        (r = tpm_take_ownership(f->tpm, &f->owner, &f->endorsement, &error)) < 0 ||
        (r = tpm_ek_cert_read(f->tpm, &f->owner, &cert, &error)) < 0 ||
        (r = tpm_ek_provision(f->tpm, &f->owner, &f->endorsement, &cert, &error)) < 0 ||
        (r = tpm_aik_provision(f->tpm, &f->owner, &f->endorsement, &error)) < 0 ||
        (r = tpm_aik_info(f->tpm, &f->aik, &error)) < 0) {
        fprintf(stderr, "fixture: provisioning: %s\n", error ? error : "out of memory");
        goto out;
    }
    f->aik_pem_path = fx_file_write(f, "aik.pem", f->aik.pem, strlen(f->aik.pem));
    f->aik_key = pem_public_key(f->aik.pem);
    if (!f->aik_pem_path || !f->aik_key) {
        fprintf(stderr, "fixture: cannot use the AIK PEM\n");
        r = -EBADMSG;
    }
out:
    tpm_ek_cert_free(&cert);
    return r;
}

void fx_free(struct fx *f)
{
    tpm_close(f->tpm);
    swtpm_free(f->swtpm);
    if (f->dir)
        harness_tmpdir_remove(f->dir);
    free(f->dir);
    free(f->tool_log);
    free(f->aik.pem);
    free(f->aik_pem_path);
    EVP_PKEY_free(f->aik_key);
    tpm_auth_clear(&f->owner);
    tpm_auth_clear(&f->endorsement);
    memset(f, 0, sizeof(*f));
}

int fx_no_children(void)
{
    int n = harness_count_children();

    if (n != 0)
        fprintf(stderr, "fixture: %d child processes left\n", n);
    return n == 0 ? 0 : -1;
}

int fx_ensure_running(struct fx *f)
{
    if (!f->swtpm || f->swtpm->pid)
        return 0;
    int r = swtpm_restart(f->swtpm);
    return r < 0 || !f->aik_key ? r : fx_da_reset(f);
}

int fx_da_reset(struct fx *f)
{
    /* Not concatenated inside argv, where it reads as a missing comma (bugprone-suspicious-missing-comma). */
    static const char owner_auth[] = "hex:" FX_OWNER_SECRET;
    const char *argv[] = {"tpm2_dictionarylockout", "-T", f->swtpm->tcti, "-c", "-p", owner_auth, NULL};

    return fx_tool(f, argv);
}

/* ---- files and tools ---- */

char *fx_file_write(struct fx *f, const char *name, const void *data, size_t len)
{
    char *path = NULL;
    FILE *fp;

    if (asprintf(&path, "%s/%u-%s", f->dir, f->files++, name) < 0)
        return NULL;
    fp = fopen(path, "wbe");
    if (!fp || fwrite(data, 1, len, fp) != len || fclose(fp) != 0) {
        fprintf(stderr, "fixture: cannot write %s\n", path);
        free(path);
        return NULL;
    }
    return path;
}

int fx_file_read(const char *path, uint8_t **ret_data, size_t *ret_len)
{
    FILE *fp = fopen(path, "rbe");
    uint8_t *data = NULL;
    long size;
    int r = -EIO;

    if (!fp)
        return -errno;
    if (fseek(fp, 0, SEEK_END) == 0 && (size = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0 &&
        (data = malloc((size_t)size + 1)) && fread(data, 1, (size_t)size, fp) == (size_t)size) {
        data[size] = 0;
        *ret_data = data;
        *ret_len = (size_t)size;
        data = NULL;
        r = 0;
    }
    free(data);
    fclose(fp);
    return r;
}

static int tool_run(struct fx *f, const char *const argv[], const char *log, bool quiet)
{
    int r = harness_run(argv, log, TOOL_TIMEOUT_MS);

    if (r < 0 && !quiet) {
        fprintf(stderr, "fixture: command failed:");
        for (size_t i = 0; argv[i]; i++)
            fprintf(stderr, " %s", argv[i]);
        fprintf(stderr, "\n");
        harness_log_tail(log, 20);
    }
    return r;
}

int fx_tool(struct fx *f, const char *const argv[])
{
    unlink(f->tool_log); /* only this command's output in the tail */
    return tool_run(f, argv, f->tool_log, f->quiet_tools);
}

int fx_tool_output(struct fx *f, const char *const argv[], char **ret_text)
{
    uint8_t *text = NULL;
    size_t len;

    unlink(f->tool_log);
    int r = tool_run(f, argv, f->tool_log, true);
    if (fx_file_read(f->tool_log, &text, &len) == 0)
        *ret_text = (char *)text;
    else if ((*ret_text = strdup("")) == NULL)
        return -ENOMEM;
    return r;
}

/* ---- the outside view ---- */

struct fx_esys {
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_CONTEXT *ctx;
};
typedef struct fx_esys esys_t;

static int esys_open(const char *tcti, esys_t *e)
{
    TSS2_RC rc;

    memset(e, 0, sizeof(*e));
    rc = Tss2_TctiLdr_Initialize(tcti, &e->tcti);
    if (rc == TSS2_RC_SUCCESS)
        rc = Esys_Initialize(&e->ctx, e->tcti, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        fprintf(stderr, "fixture: cannot open %s: 0x%x\n", tcti, rc);
        if (e->tcti)
            Tss2_TctiLdr_Finalize(&e->tcti);
        return -EIO;
    }
    return 0;
}

static void esys_close(esys_t *e)
{
    if (e->ctx)
        Esys_Finalize(&e->ctx);
    if (e->tcti)
        Tss2_TctiLdr_Finalize(&e->tcti);
}

/* Handles of the type of first (its top byte), from first on. */
static int handles_list(esys_t *e, uint32_t first, TPML_HANDLE *ret)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = 0;
    TSS2_RC rc = Esys_GetCapability(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES, first,
                                    TPM2_MAX_CAP_HANDLES, &more, &cap);

    if (rc != TSS2_RC_SUCCESS) {
        fprintf(stderr, "fixture: GetCapability(HANDLES 0x%08x): 0x%x\n", first, rc);
        return -EIO;
    }
    /* Only handles of first's type come back; saved sessions keep their 0x02 numbers. */
    *ret = cap->data.handles;
    Esys_Free(cap);
    return 0;
}

int fx_count_loaded(const char *tcti, unsigned *ret_count)
{
    static const struct {
        uint32_t first;
        const char *what;
    } kinds[] = {
        {TPM2_TRANSIENT_FIRST, "transient object"},
        {TPM2_LOADED_SESSION_FIRST, "loaded session"},
        {TPM2_ACTIVE_SESSION_FIRST, "saved session"},
    };
    esys_t e;
    TPML_HANDLE list;
    unsigned count = 0;
    int r = esys_open(tcti, &e);

    for (size_t k = 0; r == 0 && k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        r = handles_list(&e, kinds[k].first, &list);
        for (UINT32 i = 0; r == 0 && i < list.count; i++, count++)
            fprintf(stderr, "fixture: left on the TPM: %s 0x%08x\n", kinds[k].what, list.handle[i]);
    }
    esys_close(&e);
    if (r == 0)
        *ret_count = count;
    return r;
}

int fx_check_clean(const struct fx *f)
{
    unsigned left = 0;

    if (!f->swtpm)
        return 0;
    if (fx_count_loaded(f->swtpm->tcti, &left) < 0 || left) {
        fprintf(stderr, "fixture: %u transient objects or sessions left on %s\n", left, f->swtpm->tcti);
        return -1;
    }
    return 0;
}

int fx_handle_exists(const char *tcti, uint32_t handle, bool *ret_exists)
{
    esys_t e;
    TPML_HANDLE list;
    int r = esys_open(tcti, &e);

    if (r == 0)
        r = handles_list(&e, handle & 0xff000000u, &list);
    if (r == 0) {
        *ret_exists = false;
        for (UINT32 i = 0; i < list.count; i++)
            *ret_exists |= list.handle[i] == handle;
    }
    esys_close(&e);
    return r;
}

/* One TPM property (TPM2_CAP_TPM_PROPERTIES) read through a fresh ESAPI context. */
static int tpm_property(const char *tcti, TPM2_PT property, const char *name, uint32_t *ret_value)
{
    esys_t e;
    TPMS_CAPABILITY_DATA *cap = NULL;
    int r = esys_open(tcti, &e);

    if (r < 0)
        return r;
    TSS2_RC rc = Esys_GetCapability(e.ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES,
                                    property, 1, NULL, &cap);
    if (rc != TSS2_RC_SUCCESS || cap->data.tpmProperties.count != 1 ||
        cap->data.tpmProperties.tpmProperty[0].property != property) {
        fprintf(stderr, "fixture: GetCapability(%s): 0x%x\n", name, rc);
        r = -EIO;
    } else {
        *ret_value = cap->data.tpmProperties.tpmProperty[0].value;
    }
    Esys_Free(cap);
    esys_close(&e);
    return r;
}

int fx_permanent(const char *tcti, uint32_t *ret_attrs)
{
    return tpm_property(tcti, TPM2_PT_PERMANENT, "PT_PERMANENT", ret_attrs);
}

int fx_lockout_counter(const char *tcti, uint32_t *ret_count)
{
    return tpm_property(tcti, TPM2_PT_LOCKOUT_COUNTER, "PT_LOCKOUT_COUNTER", ret_count);
}

int fx_pcr_read(const char *tcti, uint16_t bank, uint32_t mask, uint8_t *out, size_t cap, size_t *ret_len)
{
    size_t size = fx_bank_size(bank), len = 0;
    esys_t e;
    int r = esys_open(tcti, &e);

    /* One PCR per PCR_Read: slow but obviously in order. */
    for (unsigned pcr = 0; r == 0 && pcr < 24; pcr++) {
        if (!(mask & (1u << pcr)))
            continue;
        TPML_PCR_SELECTION sel = {.count = 1, .pcrSelections[0] = {.hash = bank, .sizeofSelect = 3}};
        TPML_DIGEST *values = NULL;

        sel.pcrSelections[0].pcrSelect[pcr / 8] = (BYTE)(1u << (pcr % 8));
        TSS2_RC rc =
            Esys_PCR_Read(e.ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel, NULL, NULL, &values);
        if (rc != TSS2_RC_SUCCESS || values->count != 1 || values->digests[0].size != size ||
            len + size > cap) {
            fprintf(stderr, "fixture: PCR_Read(bank 0x%04x, PCR %u): 0x%x\n", bank, pcr, rc);
            r = -EIO;
        } else {
            memcpy(out + len, values->digests[0].buffer, size);
            len += size;
        }
        Esys_Free(values);
    }
    esys_close(&e);
    if (r == 0)
        *ret_len = len;
    return r;
}

int fx_esys_open(const char *tcti, fx_esys_t **ret)
{
    esys_t *e = calloc(1, sizeof(*e));
    int r = e ? esys_open(tcti, e) : -ENOMEM;

    if (r < 0) {
        free(e);
        return r;
    }
    *ret = e;
    return 0;
}

void fx_esys_close(fx_esys_t *e)
{
    if (!e)
        return;
    esys_close(e);
    free(e);
}

int fx_pcr_extend(fx_esys_t *e, unsigned pcr, const uint16_t *banks, size_t n_banks, uint32_t seed)
{
    TPML_DIGEST_VALUES values = {.count = (UINT32)n_banks};

    for (size_t i = 0; i < n_banks; i++) {
        values.digests[i].hashAlg = banks[i];
        /* Any bytes do: PCR_Extend takes the digest as given. */
        for (size_t k = 0; k < fx_bank_size(banks[i]); k++)
            ((uint8_t *)&values.digests[i].digest)[k] =
                (uint8_t)(seed >> (8 * (k % 4))) ^ (uint8_t)(k * 31 + pcr);
    }
    TSS2_RC rc =
        Esys_PCR_Extend(e->ctx, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &values);
    if (rc != TSS2_RC_SUCCESS) {
        fprintf(stderr, "fixture: PCR_Extend(%u): 0x%x\n", pcr, rc);
        return -EIO;
    }
    return 0;
}

/* ---- the blob ---- */

size_t fx_bank_size(uint16_t bank)
{
    switch (bank) {
    case TPM_BANK_SHA1: return 20;
    case TPM_BANK_SHA256: return 32;
    case TPM_BANK_SHA384: return 48;
    }
    return 0;
}

const char *fx_hex(const uint8_t *data, size_t len, char *buf, size_t buf_len)
{
    size_t i;

    for (i = 0; i < len && 2 * i + 2 < buf_len; i++)
        snprintf(buf + 2 * i, 3, "%02x", data[i]);
    buf[2 * i] = 0;
    return buf;
}

/* A bounds-checked big-endian reader. */
struct rd {
    const uint8_t *p;
    size_t left;
    bool bad;
};

static const uint8_t *rd_bytes(struct rd *r, size_t n)
{
    const uint8_t *p = r->p;

    if (r->bad || n > r->left) {
        r->bad = true;
        return NULL;
    }
    r->p += n;
    r->left -= n;
    return p;
}

static uint32_t rd_be(struct rd *r, size_t n)
{
    const uint8_t *p = rd_bytes(r, n);
    uint32_t v = 0;

    for (size_t i = 0; p && i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* A TPM2B: u16 size, then the bytes. */
static const uint8_t *rd_2b(struct rd *r, size_t *ret_len)
{
    *ret_len = rd_be(r, 2);
    return rd_bytes(r, *ret_len);
}

#define WHY(...) (snprintf(why, why_len, __VA_ARGS__), -EBADMSG)

static int attest_parse(struct hvs_blob *b, char *why, size_t why_len)
{
    struct rd r = {.p = b->attest, .left = b->attest_len};
    size_t name_len;

    if (rd_be(&r, 4) != TPM2_GENERATED_VALUE)
        return WHY("TPMS_ATTEST magic is not TPM_GENERATED_VALUE");
    b->type = (uint16_t)rd_be(&r, 2);
    rd_2b(&r, &name_len); /* qualifiedSigner */
    b->extra = rd_2b(&r, &b->extra_len);
    rd_bytes(&r, 17); /* clockInfo */
    rd_bytes(&r, 8);  /* firmwareVersion */
    b->n_banks = rd_be(&r, 4);
    if (b->n_banks > HVS_BANKS_MAX)
        return WHY("TPMS_ATTEST selects %u banks", b->n_banks);
    for (uint32_t i = 0; i < b->n_banks; i++) {
        b->bank[i] = (uint16_t)rd_be(&r, 2);
        b->select_size[i] = (uint8_t)rd_be(&r, 1);
        const uint8_t *sel = b->select_size[i] <= 4 ? rd_bytes(&r, b->select_size[i]) : NULL;
        if (!sel)
            return WHY("bad PCR selection %u in TPMS_ATTEST", i);
        memcpy(b->select[i], sel, b->select_size[i]);
    }
    b->pcr_digest = rd_2b(&r, &b->pcr_digest_len);
    if (r.bad || r.left)
        return WHY("TPMS_ATTEST is truncated or has %zu trailing bytes", r.left);
    if (b->type != TPM2_ST_ATTEST_QUOTE)
        return WHY("TPMS_ATTEST type 0x%04x is not a quote", b->type);
    return 0;
}

int hvs_blob_parse(const uint8_t *blob, size_t len, struct hvs_blob *ret, char *why, size_t why_len)
{
    struct rd r = {.p = blob, .left = len};
    struct hvs_blob b = {0};
    size_t expect = 0;

    b.attest = rd_2b(&r, &b.attest_len);
    b.sig = r.p;
    b.sig_alg = (uint16_t)rd_be(&r, 2);
    b.sig_hash = (uint16_t)rd_be(&r, 2);
    b.sig_bytes = rd_2b(&r, &b.sig_bytes_len);
    if (r.bad)
        return WHY("blob of %zu bytes is truncated before the PCR values", len);
    b.sig_len = (size_t)(r.p - b.sig);
    b.values = r.p;
    b.values_len = r.left;
    int e = attest_parse(&b, why, why_len);
    if (e < 0)
        return e;
    for (uint32_t i = 0; i < b.n_banks; i++) {
        if (!fx_bank_size(b.bank[i]))
            return WHY("bank 0x%04x in the selection is not SHA1/SHA256/SHA384", b.bank[i]);
        for (unsigned pcr = 0; pcr < 8u * b.select_size[i]; pcr++)
            if (b.select[i][pcr / 8] & (1u << (pcr % 8)))
                expect += fx_bank_size(b.bank[i]);
    }
    if (expect != b.values_len)
        return WHY("the selection needs %zu bytes of PCR values, the blob has %zu", expect, b.values_len);
    *ret = b;
    return 0;
}

void fx_qualifying_data(const uint8_t *nonce, size_t nonce_len, const uint8_t *tag, uint8_t ret_qdata[32])
{
    uint8_t buf[32 + TPM_ASSET_TAG_SIZE];

    SHA256(nonce, nonce_len, buf);
    if (tag) {
        memcpy(buf + 32, tag, TPM_ASSET_TAG_SIZE);
        SHA256(buf, sizeof(buf), buf);
    }
    memcpy(ret_qdata, buf, 32);
}

static bool rsassa_sha256_ok(EVP_PKEY *key, const struct hvs_blob *b)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
              EVP_DigestVerify(md, b->sig_bytes, b->sig_bytes_len, b->attest, b->attest_len) == 1;

    EVP_MD_CTX_free(md);
    return ok;
}

int hvs_blob_verify(EVP_PKEY *aik, const uint8_t *blob, size_t len, const uint8_t qdata[32],
                    const uint16_t *banks, size_t n_banks, uint32_t mask, struct hvs_blob *ret, char *why,
                    size_t why_len)
{
    struct hvs_blob b;
    uint8_t digest[32];
    char hex[2][80];
    int e = hvs_blob_parse(blob, len, &b, why, why_len);

    if (e < 0)
        return e;
    /* b.extra points into blob once parsed (the analyzer supposes a NULL blob of non-zero length) */
    /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker) */
    if (b.extra_len != 32 || memcmp(b.extra, qdata, 32) != 0)
        return WHY("extraData %s is not the qualifying data %s", fx_hex(b.extra, b.extra_len, hex[0], 80),
                   fx_hex(qdata, 32, hex[1], 80));
    if (b.n_banks != n_banks)
        return WHY("the quote has %u banks, expected %zu", b.n_banks, n_banks);
    for (size_t i = 0; i < n_banks; i++) {
        uint8_t want[3] = {(uint8_t)mask, (uint8_t)(mask >> 8), (uint8_t)(mask >> 16)};
        if (b.bank[i] != banks[i])
            return WHY("bank %zu of the quote is 0x%04x, expected 0x%04x", i, b.bank[i], banks[i]);
        if (b.select_size[i] != 3 || memcmp(b.select[i], want, 3) != 0)
            return WHY("bank %zu selects %s (size %u), expected %06x", i,
                       fx_hex(b.select[i], b.select_size[i], hex[0], 80), b.select_size[i], mask);
    }
    SHA256(b.values, b.values_len, digest);
    if (b.pcr_digest_len != 32 || memcmp(b.pcr_digest, digest, 32) != 0)
        return WHY("SHA-256 of the PCR values %s is not the quote's pcrDigest %s",
                   fx_hex(digest, 32, hex[0], 80), fx_hex(b.pcr_digest, b.pcr_digest_len, hex[1], 80));
    if (b.values_len >= TPM_HVS_PCR_BYTES_MAX)
        return WHY("%zu bytes of PCR values: HVS stops hashing at %d", b.values_len, TPM_HVS_PCR_BYTES_MAX);
    if (b.sig_alg != TPM2_ALG_RSASSA || b.sig_hash != TPM2_ALG_SHA256)
        return WHY("signature scheme 0x%04x/0x%04x is not RSASSA-SHA256", b.sig_alg, b.sig_hash);
    if (!rsassa_sha256_ok(aik, &b))
        return WHY("the signature does not verify with the AIK");
    if (ret)
        *ret = b;
    return 0;
}

/* What tpm2_quote -o writes and tpm2_checkquote -f reads by default (tpm2-tools 5.4): the host's
 * TPML_PCR_SELECTION struct, a UINT32 count, then that many TPML_DIGEST structs of up to 8 digests. */
static void *pcr_file(const struct hvs_blob *b, size_t *ret_len)
{
    TPML_PCR_SELECTION sel = {.count = b->n_banks};
    TPML_DIGEST lists[TPM2_MAX_PCRS] = {0};
    UINT32 n_lists = 0;
    const uint8_t *v = b->values;

    for (uint32_t i = 0; i < b->n_banks; i++) {
        sel.pcrSelections[i].hash = b->bank[i];
        sel.pcrSelections[i].sizeofSelect = b->select_size[i];
        memcpy(sel.pcrSelections[i].pcrSelect, b->select[i], b->select_size[i]);
        for (unsigned pcr = 0; pcr < 8u * b->select_size[i]; pcr++) {
            if (!(b->select[i][pcr / 8] & (1u << (pcr % 8))))
                continue;
            if (lists[n_lists].count == 8)
                n_lists++;
            TPM2B_DIGEST *d = &lists[n_lists].digests[lists[n_lists].count++];
            d->size = (UINT16)fx_bank_size(b->bank[i]);
            memcpy(d->buffer, v, d->size);
            v += d->size;
        }
    }
    n_lists++;
    size_t len = sizeof(sel) + sizeof(n_lists) + n_lists * sizeof(TPML_DIGEST);
    uint8_t *buf = malloc(len);
    if (buf) {
        memcpy(buf, &sel, sizeof(sel));
        memcpy(buf + sizeof(sel), &n_lists, sizeof(n_lists));
        memcpy(buf + sizeof(sel) + sizeof(n_lists), lists, n_lists * sizeof(TPML_DIGEST));
        *ret_len = len;
    }
    return buf;
}

int fx_checkquote(struct fx *f, const struct hvs_blob *b, const uint8_t qdata[32])
{
    char hex[80], *msg, *sig, *pcrs = NULL;
    size_t pcr_len = 0;
    void *pcr_data = pcr_file(b, &pcr_len);
    int r = -ENOMEM;

    msg = fx_file_write(f, "quote.msg", b->attest, b->attest_len);
    sig = fx_file_write(f, "quote.sig", b->sig, b->sig_len);
    if (pcr_data)
        pcrs = fx_file_write(f, "quote.pcrs", pcr_data, pcr_len);
    if (msg && sig && pcrs) {
        const char *argv[] = {"tpm2_checkquote",
                              "-u",
                              f->aik_pem_path,
                              "-m",
                              msg,
                              "-s",
                              sig,
                              "-f",
                              pcrs,
                              "-g",
                              "sha256",
                              "-q",
                              fx_hex(qdata, 32, hex, sizeof(hex)),
                              NULL};
        r = fx_tool(f, argv);
    }
    /* Keep the files of a failed check for a look; remove the rest (200 quotes add up). */
    if (r == 0) {
        unlink(msg);
        unlink(sig);
        unlink(pcrs);
    }
    free(msg);
    free(sig);
    free(pcrs);
    free(pcr_data);
    return r;
}
