/* SPDX-License-Identifier: BSD-3-Clause */
#include "hvs_expect.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define HVS_TIMEOUT_MS 10000 /* HVS's request timeout */

static void expect_error(natsConnection *nc, const char *host_id, const char *suffix, const void *data,
                         size_t len, int code, int max_ms, struct hvs_ta_result *r)
{
    assert_int_equal(hvs_ta_request(nc, host_id, suffix, data, len, HVS_TIMEOUT_MS, r), 0);
    if (r->outcome != HVS_ERROR)
        fail_msg("%s: HVS concludes %s, not an error (reply %.120s)", suffix, hvs_outcome_name(r->outcome),
                 r->body ? r->body : "(none)");
    if (!r->replied)
        fail_msg("%s: no reply: HVS waited out %lld ms", suffix, (long long)r->ms);
    if (code && r->tagent_code != code)
        fail_msg("%s: Tagent-Error-Code %d, want %d (%s)", suffix, r->tagent_code, code,
                 r->tagent_error ? r->tagent_error : "no Tagent-Error");
    if (!r->tagent_error || !strstr(r->tagent_error, suffix))
        fail_msg("%s: Tagent-Error does not name the subject: %s", suffix,
                 r->tagent_error ? r->tagent_error : "-");
    if (r->ms > max_ms)
        fail_msg("%s: HVS had its error after %lld ms (bound %d ms): %s", suffix, (long long)r->ms, max_ms,
                 r->tagent_error);
}

int64_t hvs_expect_error(natsConnection *nc, const char *host_id, const char *suffix, const void *data,
                         size_t len, int code, int max_ms)
{
    struct hvs_ta_result r;
    expect_error(nc, host_id, suffix, data, len, code, max_ms, &r);
    int64_t ms = r.ms;
    hvs_ta_result_free(&r);
    return ms;
}

int64_t hvs_expect_error_saying(natsConnection *nc, const char *host_id, const char *suffix,
                                const char *payload, int code, int max_ms, const char *needle)
{
    struct hvs_ta_result r;
    expect_error(nc, host_id, suffix, payload, strlen(payload), code, max_ms, &r);
    if (!strstr(r.tagent_error, needle))
        fail_msg("%s: the error does not say \"%s\": %s", suffix, needle, r.tagent_error);
    fprintf(stderr, "%s: HVS error in %lld ms (%s); the agent says: %s\n", suffix, (long long)r.ms, r.error,
            r.tagent_error);
    int64_t ms = r.ms;
    hvs_ta_result_free(&r);
    return ms;
}

void hvs_expect_ok(natsConnection *nc, const char *host_id, const char *suffix, const char *payload,
                   struct hvs_ta_result *ret)
{
    assert_int_equal(hvs_ta_request(nc, host_id, suffix, payload, strlen(payload), HVS_TIMEOUT_MS, ret), 0);
    if (ret->outcome != HVS_OK)
        fail_msg("%s: HVS concludes %s: %s (agent: %s)", suffix, hvs_outcome_name(ret->outcome), ret->error,
                 ret->tagent_error ? ret->tagent_error : "-");
}
