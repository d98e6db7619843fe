/* SPDX-License-Identifier: BSD-3-Clause */
/* trustagent.env names -> configuration: every key, the spec's precedence, value checks, secrets. */
#include "test_util.h"

#include <errno.h>

#define SHA384_HEX                                                                                           \
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct fixture {
    struct tagent_config cfg;
    struct config_env env;
    struct config_diags diags;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_int_equal(config_init_defaults(&f->cfg), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    config_free(&f->cfg);
    config_env_free(&f->env);
    config_diags_free(&f->diags);
    free(f);
    return 0;
}

/* Parses text as trustagent.env and applies it with the given process environment. */
static int apply(struct fixture *f, const char *text, char **envp)
{
    config_env_free(&f->env);
    assert_int_equal(config_env_parse(text, strlen(text), "ta.env", &f->env, &f->diags), 0);
    return config_apply_env(&f->cfg, &f->env, envp, &f->diags);
}

static void test_tep_guide_keys(void **state)
{
    struct fixture *f = *state;
    const char *text = "TA_TLS_CERT_CN=Edge TA\n"
                       "HVS_URL=https://hvs.example.com:8443/hvs/v2\n"
                       "AAS_API_URL=https://aas.example.com:8444/aas/v1\n"
                       "CMS_BASE_URL=https://cms.example.com:8445/cms/v1\n"
                       "SAN_LIST=10.0.0.5,edge-01.example.com,::1\n"
                       "CMS_TLS_CERT_SHA384=" SHA384_HEX "\n"
                       "BEARER_TOKEN=eyJhbGciOiJSUzM4NCJ9.eyJzdWIiOiJ4In0.c2ln\n"
                       "TPM_OWNER_SECRET=625d6d8a18f98bf794760fd392b8c01be0b4e959\n"
                       "TA_SERVICE_MODE=outbound\n"
                       "NATS_SERVERS=tls://nats1.example.com:4222, nats://10.0.0.9:4222\n"
                       "TA_HOST_ID=edge-01\n";
    assert_int_equal(apply(f, text, NULL), 0);
    assert_int_equal(f->diags.n, 0);
    assert_string_equal(f->cfg.tls_common_name, "Edge TA");
    assert_string_equal(f->cfg.hvs_url, "https://hvs.example.com:8443/hvs/v2");
    assert_string_equal(f->cfg.aas_base_url, "https://aas.example.com:8444/aas/v1/"); /* "/" appended */
    assert_string_equal(f->cfg.cms_base_url, "https://cms.example.com:8445/cms/v1");
    assert_string_equal(f->cfg.tls_san_list, "10.0.0.5,edge-01.example.com,::1");
    assert_string_equal(f->cfg.cms_tls_cert_sha384, SHA384_HEX);
    assert_string_equal(f->cfg.bearer_token, "eyJhbGciOiJSUzM4NCJ9.eyJzdWIiOiJ4In0.c2ln");
    assert_string_equal(f->cfg.owner_secret, "625d6d8a18f98bf794760fd392b8c01be0b4e959");
    assert_int_equal(f->cfg.mode, CONFIG_MODE_OUTBOUND);
    assert_int_equal(f->cfg.n_nats_servers, 2);
    assert_string_equal(f->cfg.nats_servers[0], "tls://nats1.example.com:4222");
    assert_string_equal(f->cfg.nats_servers[1], "nats://10.0.0.9:4222");
    assert_null(f->cfg.nats_servers[2]);
    assert_string_equal(f->cfg.nats_host_id, "edge-01");
    assert_int_equal(config_check(&f->cfg, &f->diags), 0);
}

static void test_v5_names(void **state)
{
    struct fixture *f = *state;
    const char *text =
        "TA_SERVICE_MODE=http\n"
        "AAS_BASE_URL=https://aas:8444/aas/v1/\n"
        "NATS_HOST_ID=v5-host\n"
        "SERVER_PORT=2443\n"
        "SERVER_READ_TIMEOUT=1m30s\n"
        "SERVER_READ_HEADER_TIMEOUT=5s\n"
        "SERVER_WRITE_TIMEOUT=500ms\n"
        "SERVER_IDLE_TIMEOUT=2h\n"
        "SERVER_MAX_HEADER_BYTES=4096\n"
        "LOG_LEVEL=debug\n"
        "LOG_ENABLE_STDOUT=false\n"
        "LOG_MAX_LENGTH=5000\n"
        "TLS_COMMON_NAME=v5 CN\n"
        "TLS_SAN_LIST=localhost\n"
        "IMA_MEASURE_ENABLED=False\n"
        "TPM_ENDORSEMENT_SECRET=hex:00ff\n"
        "CURRENT_IP=192.0.2.7\n"
        "FLAVOR_UUIDS=8f4e0fd5-3fbb-4d06-9e3e-0b7d3b6a0f11,8F4E0FD5-3FBB-4D06-9E3E-0B7D3B6A0F12\n"
        "FLAVOR_LABELS=label-a,label-b\n"
        "TAGENT_TCTI=swtpm:host=127.0.0.1,port=2321\n"
        "PROVISION_ATTESTATION=y\n"
        "GRUB_FILE=/boot/grub/grub.cfg\n";
    assert_int_equal(apply(f, text, NULL), 0);
    assert_int_equal(f->diags.n, 0); /* installer-only keys are known: no warning */
    assert_int_equal(f->cfg.mode, CONFIG_MODE_HTTP);
    assert_string_equal(f->cfg.aas_base_url, "https://aas:8444/aas/v1/");
    assert_string_equal(f->cfg.nats_host_id, "v5-host");
    assert_int_equal(f->cfg.server.port, 2443);
    assert_true(f->cfg.server.read_timeout_ns == 90000000000LL);
    assert_true(f->cfg.server.read_header_timeout_ns == 5000000000LL);
    assert_true(f->cfg.server.write_timeout_ns == 500000000LL);
    assert_true(f->cfg.server.idle_timeout_ns == 7200000000000LL);
    assert_int_equal(f->cfg.server.max_header_bytes, 4096);
    assert_int_equal(f->cfg.log.level, CONFIG_LOG_DEBUG);
    assert_false(f->cfg.log.enable_stdout);
    assert_int_equal(f->cfg.log.max_length, 5000);
    assert_string_equal(f->cfg.tls_common_name, "v5 CN");
    assert_string_equal(f->cfg.tls_san_list, "localhost");
    assert_false(f->cfg.ima_measure_enabled);
    assert_string_equal(f->cfg.endorsement_secret, "hex:00ff");
    assert_string_equal(f->cfg.current_ip, "192.0.2.7");
    assert_non_null(f->cfg.flavor_uuids);
    assert_string_equal(f->cfg.flavor_labels, "label-a,label-b");
    assert_string_equal(f->cfg.tcti, "swtpm:host=127.0.0.1,port=2321");
}

static void test_doc_only_names(void **state)
{
    struct fixture *f = *state;
    const char *text = "TRUSTAGENT_PORT=3443\n"
                       "TRUSTAGENT_LOG_LEVEL=warn\n"
                       "TA_ENABLE_CONSOLE_LOG=0\n"
                       "LOG_ENTRY_MAXLENGTH=4000\n";
    assert_int_equal(apply(f, text, NULL), 0);
    assert_int_equal(f->cfg.server.port, 3443);
    assert_int_equal(f->cfg.log.level, CONFIG_LOG_WARNING);
    assert_false(f->cfg.log.enable_stdout);
    assert_int_equal(f->cfg.log.max_length, 4000);
}

static void test_alias_precedence(void **state)
{
    struct fixture *f = *state;
    /* alias > v5 name > doc-only name, whatever the order in the file */
    const char *text = "TA_HOST_ID=alias-host\n"
                       "NATS_HOST_ID=v5-host\n"
                       "AAS_BASE_URL=https://v5:8444/aas/v1\n"
                       "AAS_API_URL=https://alias:8444/aas/v1\n"
                       "TLS_SAN_LIST=v5.example.com\n"
                       "SAN_LIST=alias.example.com\n"
                       "SERVER_READ_TIMEOUT=1s\n"
                       "TA_SERVER_READ_TIMEOUT=2s\n"
                       "SERVER_READ_HEADER_TIMEOUT=1s\n"
                       "TA_SERVER_READ_HEADER_TIMEOUT=3s\n"
                       "SERVER_WRITE_TIMEOUT=1s\n"
                       "TA_SERVER_WRITE_TIMEOUT=4s\n"
                       "SERVER_IDLE_TIMEOUT=1s\n"
                       "TA_SERVER_IDLE_TIMEOUT=5s\n"
                       "SERVER_MAX_HEADER_BYTES=1\n"
                       "TA_SERVER_MAX_HEADER_BYTES=6\n"
                       "TA_TLS_CERT_CN=doc CN\n"
                       "TLS_COMMON_NAME=v5 CN\n"
                       "TRUSTAGENT_PORT=3443\n"
                       "SERVER_PORT=2443\n"
                       "TRUSTAGENT_LOG_LEVEL=error\n"
                       "LOG_LEVEL=trace\n";
    assert_int_equal(apply(f, text, NULL), 0);
    assert_string_equal(f->cfg.nats_host_id, "alias-host");
    assert_string_equal(f->cfg.aas_base_url, "https://alias:8444/aas/v1/");
    assert_string_equal(f->cfg.tls_san_list, "alias.example.com");
    assert_true(f->cfg.server.read_timeout_ns == 2000000000LL);
    assert_true(f->cfg.server.read_header_timeout_ns == 3000000000LL);
    assert_true(f->cfg.server.write_timeout_ns == 4000000000LL);
    assert_true(f->cfg.server.idle_timeout_ns == 5000000000LL);
    assert_int_equal(f->cfg.server.max_header_bytes, 6);
    assert_string_equal(f->cfg.tls_common_name, "v5 CN");
    assert_int_equal(f->cfg.server.port, 2443);
    assert_int_equal(f->cfg.log.level, CONFIG_LOG_TRACE);
    /* each overridden spelling is reported, naming both lines */
    char *all = diags_text(&f->diags);
    assert_non_null(strstr(all, "NATS_HOST_ID (line 2) is ignored: TA_HOST_ID (line 1)"));
    assert_non_null(strstr(all, "TA_TLS_CERT_CN (line 17) is ignored: TLS_COMMON_NAME (line 18)"));
    free(all);
}

static void test_environment_wins_over_file(void **state)
{
    struct fixture *f = *state;
    char *envp[] = {"HVS_URL=https://from-env:8443/hvs/v2", "NATS_SERVERS=", "PATH=/usr/bin",
                    "TA_HOST_ID=env-host", NULL};
    const char *text = "HVS_URL=https://from-file:8443/hvs/v2\n"
                       "NATS_SERVERS=nats://file:4222\n"
                       "NATS_HOST_ID=file-host\n";
    assert_int_equal(apply(f, text, envp), 0);
    assert_string_equal(f->cfg.hvs_url, "https://from-env:8443/hvs/v2");
    assert_string_equal(f->cfg.nats_servers[0], "nats://file:4222"); /* empty env value is ignored */
    assert_string_equal(f->cfg.nats_host_id, "env-host");            /* env alias beats file v5 name */
    assert_diag(&f->diags, CONFIG_WARNING, 1, "overridden by the process environment");
}

static void test_empty_values_ignored(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(apply(f, "TLS_COMMON_NAME=\nSERVER_PORT=\n", NULL), 0);
    assert_string_equal(f->cfg.tls_common_name, "Trust Agent TLS Certificate");
    assert_int_equal(f->cfg.server.port, 1443);
}

static void test_unknown_key_warns(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(apply(f, "HVS_ULR=https://x\nCOMPLETELY_UNRELATED=1\n", NULL), 0);
    assert_int_equal(f->diags.n_errors, 0);
    assert_diag(&f->diags, CONFIG_WARNING, 1, "did you mean HVS_URL?");
    assert_diag(&f->diags, CONFIG_WARNING, 2, "unknown key, ignored");
}

static void test_many_unknown_keys_summarised(void **state)
{
    struct fixture *f = *state;
    char text[4096] = "";
    for (int i = 0; i < 30; i++)
        sprintf(text + strlen(text), "ZZ_UNKNOWN_%d=1\n", i);
    assert_int_equal(apply(f, text, NULL), 0);
    assert_int_equal(f->diags.n, 21);
    assert_non_null(strstr(f->diags.items[20].message, "10 more unknown keys"));
}

/* One bad value: apply fails, and the message names the line and says what is expected. */
static void check_rejected(void **state, const char *line, const char *fragment)
{
    struct fixture *f = *state;
    config_diags_free(&f->diags);
    char *text = NULL;
    assert_true(asprintf(&text, "# first line\n%s\n", line) > 0);
    assert_int_equal(apply(f, text, NULL), -EINVAL);
    assert_diag(&f->diags, CONFIG_ERROR, 2, fragment);
    free(text);
}

static void test_bad_values(void **state)
{
    check_rejected(state, "HVS_URL=http://hvs:8443/hvs/v2", "must be an https:// URL");
    check_rejected(state, "CMS_BASE_URL=hvs:8443", "must be an https:// URL");
    check_rejected(state, "AAS_API_URL=https://", "https:// URL");
    check_rejected(state, "HVS_URL=https://user:pw@hvs/", "credentials do not belong in a URL");
    check_rejected(state, "HVS_URL=https://hvs/ x", "space or control character");
    check_rejected(state, "CMS_TLS_CERT_SHA384=abc", "96 hex digits");
    check_rejected(state, "CMS_TLS_CERT_SHA384=" SHA384_HEX "00", "96 hex digits");
    check_rejected(state, "CMS_TLS_CERT_SHA384=" SHA384_HEX "g", "96 hex digits");
    check_rejected(state, "TA_SERVICE_MODE=nats", "\"outbound\" (NATS) or \"http\"");
    check_rejected(state, "NATS_SERVERS=https://nats:4222", "nats:// or tls://");
    check_rejected(state, "NATS_SERVERS=nats://a:4222,,nats://b:4222", "is empty");
    check_rejected(state, "NATS_SERVERS=nats.example.com:4222", "nats:// or tls://");
    check_rejected(state, "TA_HOST_ID=bad_host", "valid host name");
    check_rejected(state, "TA_HOST_ID=-leading", "valid host name");
    check_rejected(state, "TA_HOST_ID=trust-agent.*", "valid host name");
    check_rejected(state, "SAN_LIST=localhost,bad name", "item \"bad name\" is neither");
    check_rejected(state, "SAN_LIST=localhost,", "is empty");
    check_rejected(state, "SERVER_PORT=80", "from 1024 to 65535");
    check_rejected(state, "SERVER_PORT=65536", "from 1024 to 65535");
    check_rejected(state, "SERVER_PORT=14x3", "whole number");
    check_rejected(state, "SERVER_READ_TIMEOUT=30", "needs a unit");
    check_rejected(state, "SERVER_IDLE_TIMEOUT=-5s", "positive duration");
    check_rejected(state, "SERVER_WRITE_TIMEOUT=10 seconds", "duration such as 30s");
    check_rejected(state, "SERVER_MAX_HEADER_BYTES=0", "from 1 to");
    check_rejected(state, "LOG_LEVEL=verbose", "error, warning, info, debug, trace");
    check_rejected(state, "LOG_ENABLE_STDOUT=yes", "true or false");
    check_rejected(state, "IMA_MEASURE_ENABLED=2", "true or false");
    check_rejected(state,
                   "TLS_COMMON_NAME="
                   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                   "1 to 64");
    check_rejected(state, "CURRENT_IP=999.1.1.1", "IPv4 or IPv6");
    check_rejected(state, "FLAVOR_UUIDS=not-a-uuid", "not a UUID");
    check_rejected(state, "TPM_OWNER_SECRET=hex:abc", "even number of hex digits");
    check_rejected(state, "TPM_OWNER_SECRET=hex:zz", "only hex digits");
    /* an odd count that also holds a non-digit: the non-digit is named first */
    check_rejected(state, "TPM_OWNER_SECRET=hex:ab!", "only hex digits");
    check_rejected(state,
                   "TPM_OWNER_SECRET=0123456789012345678901234567890123456789012345678901234567890123456789",
                   "longer than 64 bytes");
    check_rejected(state, "BEARER_TOKEN=abc def", "without spaces");
}

static void test_log_length_clamped_with_warning(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(apply(f, "LOG_MAX_LENGTH=100\n", NULL), 0);
    assert_int_equal(f->cfg.log.max_length, 3000);
    assert_diag(&f->diags, CONFIG_WARNING, 1, "3000 is used");
}

static void test_sha384_forms(void **state)
{
    struct fixture *f = *state;
    /* openssl's colon form and upper case are normalised to the 96 lower-case hex digits */
    char colon[200] = "CMS_TLS_CERT_SHA384=";
    const char *hex = SHA384_HEX;
    for (size_t i = 0; i < 96; i += 2)
        snprintf(colon + strlen(colon), 4, "%s%c%c", i ? ":" : "", hex[i] - (hex[i] >= 'a' ? 32 : 0),
                 hex[i + 1] - (hex[i + 1] >= 'a' ? 32 : 0));
    snprintf(colon + strlen(colon), sizeof(colon) - strlen(colon), "\n");
    assert_int_equal(apply(f, colon, NULL), 0);
    assert_string_equal(f->cfg.cms_tls_cert_sha384, SHA384_HEX);
}

static void test_owner_secret_formats(void **state)
{
    uint8_t b[CONFIG_OWNER_SECRET_MAX];
    size_t n;
    char *why = NULL;

    assert_int_equal(config_secret_decode("625d6d8a18f98bf794760fd392b8c01be0b4e959", b, &n, &why), 0);
    assert_int_equal(n, 20);
    assert_int_equal(b[0], 0x62);
    assert_int_equal(b[19], 0x59);

    assert_int_equal(config_secret_decode("hex:00ff10", b, &n, &why), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(b, "\x00\xff\x10", 3);
    /* either case, in both hex forms */
    assert_int_equal(config_secret_decode("hex:00FF10", b, &n, &why), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(b, "\x00\xff\x10", 3);
    assert_int_equal(config_secret_decode("625D6D8A18F98BF794760FD392B8C01BE0B4E959", b, &n, &why), 0);
    assert_int_equal(n, 20);
    assert_int_equal(b[19], 0x59);
    assert_int_equal(config_secret_decode("hex:", b, &n, &why), 0);
    assert_int_equal(n, 0);

    /* 39 or 41 hex characters are not the legacy form: raw bytes */
    assert_int_equal(config_secret_decode("625d6d8a18f98bf794760fd392b8c01be0b4e95", b, &n, &why), 0);
    assert_int_equal(n, 39);
    assert_int_equal(b[0], '6');

    assert_int_equal(config_secret_decode("My Owner Pass", b, &n, &why), 0);
    assert_int_equal(n, 13);
    assert_int_equal(config_secret_decode("", b, &n, &why), 0);
    assert_int_equal(n, 0);

    char max_hex[4 + 128 + 3] = "hex:";
    memset(max_hex + 4, 'a', 128);
    max_hex[132] = '\0';
    assert_int_equal(config_secret_decode(max_hex, b, &n, &why), 0);
    assert_int_equal(n, 64);
    /* untouched on success */
    assert_null(why);
    memcpy(max_hex + 132, "aa", sizeof("aa")); /* 130 digits: 65 bytes */
    assert_int_equal(config_secret_decode(max_hex, b, &n, &why), -EINVAL);
    assert_non_null(strstr(why, "more than 64 bytes"));
    free(why);
    /* a caller that does not want the reason */
    assert_int_equal(config_secret_decode(max_hex, b, &n, NULL), -EINVAL);
}

static void test_cross_field_rules(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(apply(f, "TA_SERVICE_MODE=outbound\n", NULL), 0);
    assert_int_equal(config_check(&f->cfg, &f->diags), -EINVAL);
    char *all = diags_text(&f->diags);
    assert_non_null(strstr(all, "AAS_API_URL: not set"));
    assert_non_null(strstr(all, "NATS_SERVERS: not set, but TA_SERVICE_MODE is outbound"));
    free(all);
}

/* No message, whatever goes wrong, contains the value of a secret. */
static void test_secrets_never_in_messages(void **state)
{
    struct fixture *f = *state;
    const char *secrets[] = {"eyJTOPSECRET BEARER", "hex:SECRETOWNERzz",
                             "SECRETENDORSEMENT-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                             "SERVICEPASSWORDSECRET"};
    char *text = NULL;
    assert_true(
        asprintf(&text,
                 "BEARER_TOKEN=%s\nTPM_OWNER_SECRET=%s\nTPM_ENDORSEMENT_SECRET=%s\nSERVICE_PASSWORD=%s\n"
                 "BEARER_TOKEN=%s\nTPM_OWNER_SECRET=\"%s\n",
                 secrets[0], secrets[1], secrets[2], secrets[3], secrets[0], secrets[1]) > 0);
    config_env_free(&f->env);
    config_env_parse(text, strlen(text), "ta.env", &f->env, &f->diags);
    char *envp[] = {"BEARER_TOKEN=ENVSECRET TOKEN", NULL};
    assert_int_equal(config_apply_env(&f->cfg, &f->env, envp, &f->diags), -EINVAL);
    assert_true(f->diags.n_errors >= 5);
    char *all = diags_text(&f->diags);
    for (size_t i = 0; i < 4; i++)
        assert_null(strstr(all, secrets[i]));
    assert_null(strstr(all, "ENVSECRET"));
    assert_null(strstr(all, "SECRETOWNER")); /* not even the part after "hex:" */
    free(all);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tep_guide_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v5_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_doc_only_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alias_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_environment_wins_over_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_values_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key_warns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_unknown_keys_summarised, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_length_clamped_with_warning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sha384_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owner_secret_formats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cross_field_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secrets_never_in_messages, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
