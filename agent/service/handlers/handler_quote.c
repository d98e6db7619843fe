/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * quote-request (NATS) and POST /v2/tpm/quote (HTTP): TpmQuoteRequest {"nonce": b64, "pcrs": [int],
 * "pcrbanks": ["SHA256",...], "ima_measure_enabled": bool} -> TpmQuoteResponse, in its Go-default JSON form
 * over NATS and as indented XML over HTTP (quote_xml.c) (spec 5). A failure is not answered in this shape
 * (HVS would read it as a quote and panic on the empty Aik): service_error.c says how for NATS.
 */
#include "cleanup.h"
#include "config.h"
#include "eventlog.h"
#include "log.h"
#include "request_decode.h"
#include "handler.h"
#include "measure_log.h"
#include "quote_reply.h"
#include "service_tag.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#define XML_MAX (4u << 20)

static cJSON *xml_name(void)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "Space", "");
    cJSON_AddStringToObject(o, "Local", "");
    return o;
}

static char *reply_json(const struct quote_reply *q)
{
    cJSON *o = cJSON_CreateObject(), *tcb = cJSON_CreateObject(), *banks = cJSON_CreateObject();
    cJSON *tcb_list = cJSON_CreateArray(), *bank_list = cJSON_CreateArray();
    char *out = NULL;
    if (!o || !tcb || !banks || !tcb_list || !bank_list) {
        cJSON_Delete(tcb_list);
        cJSON_Delete(bank_list);
        goto out;
    }
    cJSON_AddItemToObject(o, "XMLName", xml_name());
    cJSON_AddNumberToObject(o, "TimeStamp", (double)q->timestamp);
    /* what the Go agent sends with every quote (HVS never reads them) */
    cJSON_AddNumberToObject(o, "ErrorCode", 0);
    cJSON_AddStringToObject(o, "ErrorMessage", "OK");
    cJSON_AddStringToObject(o, "Aik", q->aik ? q->aik : "");
    cJSON_AddStringToObject(o, "Quote", q->quote ? q->quote : "");
    cJSON_AddStringToObject(o, "EventLog", q->event_log ? q->event_log : "");
    cJSON_AddStringToObject(o, "ImaLogs", q->ima_logs ? q->ima_logs : "");
    for (size_t i = 0; q->tcb && q->tcb[i]; i++)
        cJSON_AddItemToArray(tcb_list, cJSON_CreateString(q->tcb[i]));
    cJSON_AddItemToObject(tcb, "XMLName", xml_name());
    cJSON_AddItemToObject(tcb, "TcbMeasurements", tcb_list);
    cJSON_AddItemToObject(o, "TcbMeasurements", tcb);
    tcb = NULL;
    for (size_t i = 0; i < q->n_banks; i++)
        cJSON_AddItemToArray(bank_list, cJSON_CreateString(tpm_bank_name(q->banks[i])));
    cJSON_AddItemToObject(banks, "XMLName", xml_name());
    cJSON_AddItemToObject(banks, "SelectedPcrBanks", bank_list);
    cJSON_AddItemToObject(o, "SelectedPcrBanks", banks);
    banks = NULL;
    cJSON_AddBoolToObject(o, "IsTagProvisioned", q->tag_present);
    cJSON_AddStringToObject(o, "AssetTag", q->asset_tag ? q->asset_tag : "");
    out = cJSON_PrintUnformatted(o);
out:
    cJSON_Delete(o);
    cJSON_Delete(tcb);
    cJSON_Delete(banks);
    return out;
}

static int xml_filter(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 4 && strcmp(d->d_name + n - 4, ".xml") == 0;
}

/* The text of each *.xml in the ramfs directory (tbootxm's measurements), in name order. */
static int tcb_measurements(const char *root, char ***ret_list)
{
    _cleanup_free_ char *dir = config_path(root, TAGENT_RAMFS_DIR);
    struct dirent **names = NULL;
    int n = dir ? scandir(dir, &names, xml_filter, alphasort) : -1;
    _cleanup_strv_free_ char **list = calloc(n > 0 ? (size_t)n + 1 : 1, sizeof(char *));
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        _cleanup_free_ char *path = list ? service_strdupf("%s/%s", dir, names[i]->d_name) : NULL;
        char *text = NULL;
        size_t len = 0;
        if (path && config_read_file(path, XML_MAX, &text, &len) == 0 && strlen(text) == len)
            list[k++] = text;
        else
            free(text);
        free(names[i]);
    }
    free(names);
    if (!list)
        return -ENOMEM;
    *ret_list = TAKE_PTR(list);
    return 0;
}

/* aik.pem's bytes in base64, as the Go agent sends them (HVS decodes base64 -> PEM -> X.509). */
static int aik_base64(const char *root, char **ret_b64, int *ret_code, char **ret_message)
{
    _cleanup_free_ char *path = config_path(root, TAGENT_AIK_PEM), *text = NULL;
    size_t len = 0;
    int r = path ? config_read_file(path, 1u << 20, &text, &len) : -ENOMEM;
    if (r < 0 && r != -ENOMEM)
        return service_fail(r, ret_code, ret_message, SERVICE_ERR_FAILED, "quote-request: %s: %s",
                            TAGENT_AIK_PEM, strerror(-r));
    if (r == 0 && !(*ret_b64 = config_base64_encode(text, len)))
        r = -ENOMEM;
    return r;
}

/* The asset tag the quote binds (from the cache, else NV) and its base64, NULL when none is provisioned. */
static int asset_tag(struct service_ctx *ctx, uint8_t tag[TPM_ASSET_TAG_SIZE], bool *ret_present,
                     char **ret_b64, int *ret_code, char **ret_message)
{
    _cleanup_free_ char *error = NULL;
    int r = service_asset_tag(ctx, tag, ret_present, &error);
    if (r < 0)
        return service_fail(r, ret_code, ret_message, SERVICE_ERR_FAILED,
                            "quote-request: reading the asset tag: %s", error ? error : "out of memory");
    if (*ret_present && !(*ret_b64 = config_base64_encode(tag, TPM_ASSET_TAG_SIZE)))
        return -ENOMEM;
    return 0;
}

/* HVS's imaLogs JSON when both HVS and the configuration ask for IMA (else *ret_json stays NULL); any IMA
 * error fails the quote, as the Go agent's does. */
static int ima_logs(struct service_ctx *ctx, bool asked, char **ret_json, int *ret_code, char **ret_message)
{
    if (!asked || !ctx->cfg->ima_measure_enabled)
        return 0;
    /* Every list of the set names the same files and file hashes, so any one gives the same imaLogs. */
    struct ima_lists ima = {0};
    _cleanup_free_ char *error = NULL;
    int r = ima_lists_load_system(ctx->root, 0, &ima, &error);
    if (r == 0)
        r = ima_logs_json(ima_lists_for_bank(&ima, EVENTLOG_ALG_SHA256), EVENTLOG_ALG_SHA256, ret_json,
                          &error);
    ima_lists_clear(&ima);
    if (r < 0 && r != -ENOMEM)
        return service_fail(r, ret_code, ret_message, SERVICE_ERR_FAILED, "quote-request: IMA log: %s",
                            error ? error : strerror(-r));
    return r;
}

/* What one quote gathered, owned; quote_result_view() lends it as a quote_reply for the renderings. */
struct quote_result {
    struct tpm_quote quote;
    char *aik_b64, *tag_b64, *quote_b64, *ima_json, *event_log;
    char **tcb;
    bool tag_present;
    int64_t timestamp;
};

static void quote_result_free(struct quote_result *res)
{
    tpm_quote_free(&res->quote);
    free(res->aik_b64);
    free(res->tag_b64);
    free(res->quote_b64);
    free(res->ima_json);
    free(res->event_log);
    strv_free(res->tcb);
}

static struct quote_reply quote_result_view(const struct quote_result *res)
{
    return (struct quote_reply){.timestamp = res->timestamp,
                                .aik = res->aik_b64,
                                .quote = res->quote_b64,
                                .event_log = res->event_log,
                                .ima_logs = res->ima_json,
                                .tcb = res->tcb,
                                .banks = res->quote.banks,
                                .n_banks = res->quote.n_banks,
                                .tag_present = res->tag_present,
                                .asset_tag = res->tag_b64};
}

/* The request decoded, the TPM asked, and everything the reply carries read: one implementation for both
 * transports. */
static int quote_collect(struct service_ctx *ctx, const char *data, size_t len, struct quote_result *res,
                         int *ret_code, char **ret_message)
{
    _cleanup_(request_quote_free) struct request_quote a = {0};
    _cleanup_free_ char *why = NULL, *error = NULL;
    uint8_t tag[TPM_ASSET_TAG_SIZE];

    int r = request_quote_decode(data, len, &a, &why);
    if (r < 0)
        return service_fail(r, ret_code, ret_message, r == -EINVAL ? SERVICE_ERR_REQUEST : SERVICE_ERR_FAILED,
                            "%s", why ? why : "quote-request: out of memory");
    if ((r = aik_base64(ctx->root, &res->aik_b64, ret_code, ret_message)) < 0 ||
        (r = asset_tag(ctx, tag, &res->tag_present, &res->tag_b64, ret_code, ret_message)) < 0)
        goto fail;
    struct tpm_quote_request qr = {.nonce = a.nonce,
                                   .nonce_len = a.nonce_len,
                                   .pcr_mask = a.pcr_mask,
                                   .banks = a.banks,
                                   .n_banks = a.n_banks,
                                   .tag = res->tag_present ? tag : NULL};
    if ((r = tpm_quote(ctx->tpm, &qr, &res->quote, &error)) < 0)
        return service_fail(r, ret_code, ret_message, SERVICE_ERR_FAILED, "quote-request: %s",
                            error ? error : "out of memory");
    res->timestamp = (int64_t)time(NULL);
    if ((res->quote_b64 = config_base64_encode(res->quote.blob, res->quote.blob_len)) &&
        (r = ima_logs(ctx, a.ima, &res->ima_json, ret_code, ret_message)) == 0 &&
        (r = tcb_measurements(ctx->root, &res->tcb)) == 0 &&
        (res->event_log = service_measure_log(ctx))) /* a copy: SIGHUP may replace it meanwhile */
        return 0;
fail:
    if (*ret_message) /* a step said what failed */
        return r < 0 ? r : -ENOMEM;
    return service_fail(-ENOMEM, ret_code, ret_message, SERVICE_ERR_FAILED, "quote-request: out of memory");
}

static int run(struct service_ctx *ctx, const char *data, size_t len, char **ret_reply, int *ret_code,
               char **ret_message)
{
    _cleanup_(quote_result_free) struct quote_result res = {0};
    int r = quote_collect(ctx, data, len, &res, ret_code, ret_message);
    if (r < 0)
        /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): res.tcb is freed by _cleanup_ */
        return r;
    struct quote_reply q = quote_result_view(&res);
    if (!(*ret_reply = reply_json(&q)))
        return service_fail(-ENOMEM, ret_code, ret_message, SERVICE_ERR_FAILED,
                            "quote-request: out of memory");
    return 0;
}

/* HTTP: unknown fields refused (400, as the Go controller's decoder), the Go agent's xml.MarshalIndent of
 * the response as application/xml. */
static int run_http(struct service_ctx *ctx, const char *data, size_t len, struct service_http_body *ret,
                    int *ret_code, char **ret_message)
{
    static const char *const fields[] = {"nonce", "pcrs", "pcrbanks", "ima_measure_enabled", NULL};
    _cleanup_(quote_result_free) struct quote_result res = {0};
    _cleanup_free_ char *why = NULL;
    int r = request_fields_known(data, len, fields, &why);
    if (r < 0)
        return service_fail(r, ret_code, ret_message, r == -EINVAL ? SERVICE_ERR_REQUEST : SERVICE_ERR_FAILED,
                            "quote-request: %s", why ? why : "out of memory");
    r = quote_collect(ctx, data, len, &res, ret_code, ret_message);
    if (r < 0)
        /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): res.tcb is freed by _cleanup_ */
        return r;
    struct quote_reply q = quote_result_view(&res);
    if (quote_reply_xml(&q, &ret->data, &ret->len) < 0)
        /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): res.tcb is freed by _cleanup_ */
        return service_fail(-ENOMEM, ret_code, ret_message, SERVICE_ERR_FAILED,
                            "quote-request: out of memory");
    ret->content_type = "application/xml";
    return 0;
}

const struct service_handler handler_quote = {.suffix = "quote-request",
                                              .run = run,
                                              .error_form = SERVICE_ERROR_JSON_STRING,
                                              .proves_tpm = true,
                                              .needs_tpm = true,
                                              .run_http = run_http};
