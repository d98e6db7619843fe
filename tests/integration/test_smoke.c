/* Smoke test of the harness: a real swtpm answers ESAPI, a real nats-server (plain and TLS)
 * carries a request/reply, and after stopping nothing is left: no child, no PID, no temp dir. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <nats/nats.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include "harness.h"

#define EK_CERT_RSA_NV_INDEX 0x01c00002
#define ECHO_SUBJECT         "tagent.smoke.echo"

struct smoke {
    swtpm_t *tpm;
    natsd_t *nats;
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_CONTEXT *esys;
    natsOptions *opts;
    natsConnection *responder;
    natsConnection *requester;
    natsSubscription *sub;
};

/* What must be gone once a component is freed; copied first because free() takes the strings. */
struct leftover {
    pid_t pid;
    char dir[512];
};

static void esys_close(struct smoke *s)
{
    if (s->esys)
        Esys_Finalize(&s->esys);
    if (s->tcti)
        Tss2_TctiLdr_Finalize(&s->tcti);
}

static void nats_close(struct smoke *s)
{
    natsSubscription_Destroy(s->sub);
    natsConnection_Destroy(s->requester);
    natsConnection_Destroy(s->responder);
    natsOptions_Destroy(s->opts);
    s->sub = NULL;
    s->requester = s->responder = NULL;
    s->opts = NULL;
}

static int setup(void **state)
{
    *state = calloc(1, sizeof(struct smoke));
    return *state ? 0 : -1;
}

/* Runs after a failed assertion too, so children never outlive their test. */
static int teardown(void **state)
{
    struct smoke *s = *state;

    esys_close(s);
    nats_close(s);
    swtpm_free(s->tpm);
    natsd_free(s->nats);
    free(s);
    return 0;
}

static void leftover_note(struct leftover *l, pid_t pid, const char *dir)
{
    l->pid = pid;
    snprintf(l->dir, sizeof(l->dir), "%s", dir);
}

static void assert_nothing_left(const struct leftover *l)
{
    assert_int_equal(kill(l->pid, 0), -1);
    assert_int_equal(errno, ESRCH);
    assert_false(harness_path_exists(l->dir));
    assert_int_equal(harness_count_children(), 0);
}

static void esys_open(struct smoke *s)
{
    assert_int_equal(Tss2_TctiLdr_Initialize(s->tpm->tcti, &s->tcti), TSS2_RC_SUCCESS);
    assert_int_equal(Esys_Initialize(&s->esys, s->tcti, NULL), TSS2_RC_SUCCESS);
}

static TSS2_RC get_random16(ESYS_CONTEXT *esys)
{
    TPM2B_DIGEST *bytes = NULL;
    TSS2_RC rc = Esys_GetRandom(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, 16, &bytes);

    if (rc == TSS2_RC_SUCCESS)
        assert_int_equal(bytes->size, 16);
    Esys_Free(bytes);
    return rc;
}

static bool bank_allocated(const TPML_PCR_SELECTION *banks, TPMI_ALG_HASH alg)
{
    for (UINT32 i = 0; i < banks->count; i++) {
        const TPMS_PCR_SELECTION *sel = &banks->pcrSelections[i];

        if (sel->hash != alg)
            continue;
        for (UINT8 b = 0; b < sel->sizeofSelect; b++)
            if (sel->pcrSelect[b])
                return true;
    }
    return false;
}

static void assert_banks_sha1_sha256_sha384(ESYS_CONTEXT *esys)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more;

    assert_int_equal(
        Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_PCRS, 0, 1, &more, &cap),
        TSS2_RC_SUCCESS);
    assert_true(bank_allocated(&cap->data.assignedPCR, TPM2_ALG_SHA1));
    assert_true(bank_allocated(&cap->data.assignedPCR, TPM2_ALG_SHA256));
    assert_true(bank_allocated(&cap->data.assignedPCR, TPM2_ALG_SHA384));
    assert_false(bank_allocated(&cap->data.assignedPCR, TPM2_ALG_SHA512));
    Esys_Free(cap);
}

static void assert_ek_cert_nv_defined(ESYS_CONTEXT *esys)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more;

    assert_int_equal(Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES,
                                        EK_CERT_RSA_NV_INDEX, 1, &more, &cap),
                     TSS2_RC_SUCCESS);
    assert_int_equal(cap->data.handles.count, 1);
    assert_int_equal(cap->data.handles.handle[0], EK_CERT_RSA_NV_INDEX);
    Esys_Free(cap);
}

static void test_swtpm_random_and_banks(void **state)
{
    const struct swtpm_opts opts = {.ek_cert = true, .pcr_banks = "sha1,sha256,sha384"};
    struct smoke *s = *state;
    struct leftover left;

    assert_int_equal(swtpm_start(&opts, &s->tpm), 0);
    assert_true(harness_path_exists(s->tpm->ek_ca_cert));
    assert_true(harness_path_exists(s->tpm->ek_issuer_cert));
    esys_open(s);
    assert_int_equal(get_random16(s->esys), TSS2_RC_SUCCESS);
    assert_banks_sha1_sha256_sha384(s->esys);
    assert_ek_cert_nv_defined(s->esys);
    esys_close(s);

    leftover_note(&left, s->tpm->pid, s->tpm->dir);
    swtpm_free(s->tpm);
    s->tpm = NULL;
    assert_nothing_left(&left);
}

/* Later tests kill swtpm mid-command; make sure that fails fast and a restart serves again. */
static void test_swtpm_kill_and_restart(void **state)
{
    struct smoke *s = *state;
    struct leftover left;
    char tcti[sizeof(s->tpm->tcti)];
    pid_t first, second;

    assert_int_equal(swtpm_start(NULL, &s->tpm), 0);
    first = s->tpm->pid;
    snprintf(tcti, sizeof(tcti), "%s", s->tpm->tcti);
    esys_open(s);
    assert_int_equal(get_random16(s->esys), TSS2_RC_SUCCESS);

    assert_int_equal(swtpm_kill(s->tpm), 0);
    assert_int_equal(kill(first, 0), -1);
    assert_int_equal(get_random16(s->esys), TSS2_TCTI_RC_IO_ERROR);
    /* After a failed execute ESAPI answers "bad sequence" forever: a new context is needed. */
    esys_close(s);

    assert_int_equal(swtpm_restart(s->tpm), 0);
    second = s->tpm->pid;
    assert_int_not_equal(second, first);
    assert_string_equal(s->tpm->tcti, tcti);
    esys_open(s);
    assert_int_equal(get_random16(s->esys), TSS2_RC_SUCCESS);
    esys_close(s);

    assert_int_equal(swtpm_restart(s->tpm), 0);
    assert_int_not_equal(s->tpm->pid, second);
    assert_int_equal(kill(second, 0), -1);
    esys_open(s);
    assert_int_equal(get_random16(s->esys), TSS2_RC_SUCCESS);
    esys_close(s);

    leftover_note(&left, s->tpm->pid, s->tpm->dir);
    swtpm_free(s->tpm);
    s->tpm = NULL;
    assert_nothing_left(&left);
}

static void on_echo(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    char reply[256];

    snprintf(reply, sizeof(reply), "echo:%.*s", natsMsg_GetDataLength(msg), natsMsg_GetData(msg));
    natsConnection_PublishString(nc, natsMsg_GetReply(msg), reply);
    natsMsg_Destroy(msg);
}

static void nats_connect_pair(struct smoke *s, bool tls)
{
    assert_int_equal(natsOptions_Create(&s->opts), NATS_OK);
    assert_int_equal(natsOptions_SetURL(s->opts, s->nats->url), NATS_OK);
    assert_int_equal(natsOptions_SetTimeout(s->opts, 5000), NATS_OK);
    if (tls) {
        assert_int_equal(natsOptions_SetSecure(s->opts, true), NATS_OK);
        assert_int_equal(natsOptions_LoadCATrustedCertificates(s->opts, s->nats->ca_file), NATS_OK);
        /* cnats checks the name only when asked to; this exercises the DNS SAN. */
        assert_int_equal(natsOptions_SetExpectedHostname(s->opts, "localhost"), NATS_OK);
    }
    assert_int_equal(natsConnection_Connect(&s->responder, s->opts), NATS_OK);
    assert_int_equal(natsConnection_Connect(&s->requester, s->opts), NATS_OK);
}

/* Responder and requester on separate connections, like the agent and HVS. */
static void nats_round_trip(struct smoke *s)
{
    natsMsg *reply = NULL;

    assert_int_equal(natsConnection_Subscribe(&s->sub, s->responder, ECHO_SUBJECT, on_echo, NULL), NATS_OK);
    assert_int_equal(natsConnection_Flush(s->responder), NATS_OK);
    assert_int_equal(natsConnection_RequestString(&reply, s->requester, ECHO_SUBJECT, "ping", 5000), NATS_OK);
    assert_int_equal(natsMsg_GetDataLength(reply), 9);
    assert_memory_equal(natsMsg_GetData(reply), "echo:ping", 9);
    natsMsg_Destroy(reply);
}

static void natsd_free_and_check(struct smoke *s)
{
    struct leftover left;

    leftover_note(&left, s->nats->pid, s->nats->dir);
    natsd_free(s->nats);
    s->nats = NULL;
    assert_nothing_left(&left);
}

static void test_nats_plain(void **state)
{
    struct smoke *s = *state;

    assert_int_equal(natsd_start(NULL, &s->nats), 0);
    assert_int_equal(strncmp(s->nats->url, "nats://127.0.0.1:", 17), 0);
    nats_connect_pair(s, false);
    nats_round_trip(s);
    nats_close(s);
    natsd_free_and_check(s);
}

static void test_nats_tls(void **state)
{
    const struct natsd_opts opts = {.tls = true};
    struct smoke *s = *state;
    natsConnection *untrusted = NULL;
    natsOptions *no_ca = NULL;

    assert_int_equal(natsd_start(&opts, &s->nats), 0);
    assert_int_equal(strncmp(s->nats->url, "tls://127.0.0.1:", 16), 0);

    /* Without our CA the server certificate must not verify: TLS is really on and checked. */
    assert_int_equal(natsOptions_Create(&no_ca), NATS_OK);
    assert_int_equal(natsOptions_SetURL(no_ca, s->nats->url), NATS_OK);
    assert_int_equal(natsOptions_SetSecure(no_ca, true), NATS_OK);
    assert_int_equal(natsOptions_SetMaxReconnect(no_ca, 0), NATS_OK);
    assert_int_not_equal(natsConnection_Connect(&untrusted, no_ca), NATS_OK);
    natsConnection_Destroy(untrusted);
    natsOptions_Destroy(no_ca);

    nats_connect_pair(s, true);
    nats_round_trip(s);
    nats_close(s);
    natsd_free_and_check(s);
}

static void test_nats_restart(void **state)
{
    struct smoke *s = *state;
    pid_t first;

    assert_int_equal(natsd_start(NULL, &s->nats), 0);
    first = s->nats->pid;
    /* Live clients leave the server's side of their sockets in TIME_WAIT on the port. */
    nats_connect_pair(s, false);
    assert_int_equal(natsd_restart(s->nats), 0);
    assert_int_not_equal(s->nats->pid, first);
    assert_int_equal(kill(first, 0), -1);
    nats_close(s);
    nats_connect_pair(s, false);
    nats_round_trip(s);
    nats_close(s);
    natsd_free_and_check(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_swtpm_random_and_banks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_swtpm_kill_and_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nats_plain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nats_tls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nats_restart, setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("integration.smoke", tests, NULL, NULL);

    /* cnats keeps library threads and buffers until told; release them for the leak checker. */
    harness_nats_close(); /* not nats_CloseAndWait(): see harness.h (cnats + OpenSSL exit order) */
    return failed;
}
