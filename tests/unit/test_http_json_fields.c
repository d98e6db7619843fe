/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * HTTP mode's DisallowUnknownFields (agent/service/http/http_json_fields.c): what the Go agent's
 * json.Decoder with DisallowUnknownFields refuses on POST /v2/tpm/quote and /v2/tag, and what it lets through
 * to the shared decoder (keys matched case-insensitively; anything that is not an object).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http_json_fields.h"
#include "http_routes.h"

static int check(const char *method, const char *path, const char *body, char **reason)
{
    const struct http_route *route = NULL;
    assert_int_equal(http_route_find(method, path, &route), 0);
    *reason = NULL;
    return http_json_fields_check(route, body, strlen(body), reason);
}

static void test_unknown_fields(void **state)
{
    (void)state;
    char *reason = NULL;
    assert_int_equal(check("POST", "/v2/tpm/quote", "{\"nonce\":\"AA==\",\"pcrs\":[0],\"extra\":1}", &reason), 400);
    assert_non_null(strstr(reason, "unknown field \"extra\""));
    free(reason);
    assert_int_equal(check("POST", "/v2/tag", "{\"tag\":\"AA==\",\"hardwareUUID\":\"x\"}", &reason), 400);
    assert_non_null(strstr(reason, "\"hardwareUUID\""));
    free(reason);
}

static void test_passed_on(void **state)
{
    (void)state;
    char *reason = NULL;
    static const char *const quote_bodies[] = {
        "{\"nonce\":\"AA==\",\"pcrs\":[0],\"pcrbanks\":[],\"ima_measure_enabled\":false}",
        "{\"Nonce\":\"AA==\",\"PCRS\":[0],\"PcrBanks\":[]}", /* encoding/json folds case */
        "{}", "null", "[1]", "{not json", "",
    };
    for (size_t i = 0; i < sizeof(quote_bodies) / sizeof(quote_bodies[0]); i++)
        if (check("POST", "/v2/tpm/quote", quote_bodies[i], &reason) != 0)
            fail_msg("refused %s: %s", quote_bodies[i], reason);
    assert_int_equal(check("POST", "/v2/tag", "{\"tag\":\"AA==\",\"hardware_uuid\":\"x\"}", &reason), 0);
    /* XML and bodiless routes are not JSON: never checked */
    assert_int_equal(check("POST", "/v2/deploy/manifest", "{\"x\":1}", &reason), 0);
    assert_int_equal(check("GET", "/v2/aik", "{\"x\":1}", &reason), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_fields),
        cmocka_unit_test(test_passed_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
