/* SPDX-License-Identifier: BSD-3-Clause */
/* config.yml: round trip, a file as the Go agent writes it, bad files, atomic saving with the right mode. */
#include "test_util.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHA384_HEX                                                                                           \
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Built from the spec's key list in the layout Go's yaml.v3 writes (4-space indent, plain scalars,
 * block lists, Go duration strings, "30ns" as the Go agent's own test config has). */
static const char go_agent_yml[] = "ta-service-mode: outbound\n"
                                   "log:\n"
                                   "    max-length: 1500\n"
                                   "    enable-stdout: true\n"
                                   "    level: info\n"
                                   "server:\n"
                                   "    port: 1443\n"
                                   "    read-timeout: 30ns\n"
                                   "    read-header-timeout: 10s\n"
                                   "    write-timeout: 1m0s\n"
                                   "    idle-timeout: 10s\n"
                                   "    max-header-bytes: 1048576\n"
                                   "hvs:\n"
                                   "    url: https://hvs.example.com:8443/hvs/v2/\n"
                                   "tpm:\n"
                                   "    tag-secret-key: hex:0102030405060708090a0b0c0d0e0f1011121314\n"
                                   "aas:\n"
                                   "    base-url: https://aas.example.com:8444/aas/v1/\n"
                                   "cms:\n"
                                   "    base-url: https://cms.example.com:8445/cms/v1/\n"
                                   "    tls-cert-sha384: " SHA384_HEX "\n"
                                   "tls:\n"
                                   "    common-name: Trust Agent TLS Certificate\n"
                                   "    san-list: 127.0.0.1,localhost\n"
                                   "nats:\n"
                                   "    servers:\n"
                                   "        - tls://nats.example.com:4222\n"
                                   "        - tls://10.1.2.3:4222\n"
                                   "    host-id: edge-node-7\n"
                                   "api-token: eyJhbGciOiJSUzM4NCJ9.eyJzdWIiOiJhYmMifQ.c2lnbmF0dXJl\n"
                                   "ima-measure-enabled: false\n";

static void fill(struct tagent_config *cfg, struct config_diags *d)
{
    assert_int_equal(config_init_defaults(cfg), 0);
    assert_int_equal(config_yml_parse(go_agent_yml, strlen(go_agent_yml), "config.yml", cfg, d), 0);
}

static void test_reads_go_agent_file(void **state)
{
    struct tagent_config cfg;
    struct config_diags d = {0};
    fill(&cfg, &d);
    assert_int_equal(d.n_errors, 0);
    assert_int_equal(cfg.mode, CONFIG_MODE_OUTBOUND);
    assert_int_equal(cfg.log.max_length, 3000); /* below the minimum: clamped, with a warning */
    assert_diag(&d, CONFIG_WARNING, 3, "3000 is used");
    assert_true(cfg.log.enable_stdout);
    assert_int_equal(cfg.log.level, CONFIG_LOG_INFO);
    assert_int_equal(cfg.server.port, 1443);
    assert_true(cfg.server.read_timeout_ns == 30);
    assert_true(cfg.server.write_timeout_ns == 60000000000LL);
    assert_int_equal(cfg.server.max_header_bytes, 1048576);
    assert_string_equal(cfg.hvs_url, "https://hvs.example.com:8443/hvs/v2/");
    assert_string_equal(cfg.tag_secret_key, "hex:0102030405060708090a0b0c0d0e0f1011121314");
    assert_string_equal(cfg.aas_base_url, "https://aas.example.com:8444/aas/v1/");
    assert_string_equal(cfg.cms_tls_cert_sha384, SHA384_HEX);
    assert_string_equal(cfg.tls_san_list, "127.0.0.1,localhost");
    assert_int_equal(cfg.n_nats_servers, 2);
    assert_string_equal(cfg.nats_servers[1], "tls://10.1.2.3:4222");
    assert_string_equal(cfg.nats_host_id, "edge-node-7");
    assert_string_equal(cfg.api_token, "eyJhbGciOiJSUzM4NCJ9.eyJzdWIiOiJhYmMifQ.c2lnbmF0dXJl");
    assert_false(cfg.ima_measure_enabled);
    config_free(&cfg);
    config_diags_free(&d);
}

static void test_round_trip(void **state)
{
    struct tagent_config a, b;
    struct config_diags d = {0};
    fill(&a, &d);
    a.server.read_timeout_ns = 90000000000LL;
    free(a.tls_common_name);
    a.tls_common_name = strdup("needs \"quotes\": yes # and more");

    char *yml = NULL;
    size_t len = 0;
    assert_int_equal(config_yml_format(&a, &yml, &len), 0);
    assert_int_equal(strlen(yml), len);
    /* Go layout: top-level keys in the spec's order, durations as Go strings */
    assert_non_null(strstr(yml, "ta-service-mode: outbound\n"));
    assert_non_null(strstr(yml, "read-timeout: 1m30s\n"));
    assert_true(strstr(yml, "ta-service-mode") < strstr(yml, "log:"));
    assert_true(strstr(yml, "nats:") < strstr(yml, "api-token"));

    assert_int_equal(config_init_defaults(&b), 0);
    config_diags_free(&d);
    assert_int_equal(config_yml_parse(yml, len, "out.yml", &b, &d), 0);
    assert_int_equal(d.n, 0);
    assert_true(config_equal(&a, &b));
    assert_string_equal(b.tls_common_name, "needs \"quotes\": yes # and more");

    /* setup-time secrets are never written */
    a.bearer_token = strdup("BEARERSECRET.x.y");
    a.owner_secret = strdup("OWNERSECRET");
    free(yml);
    assert_int_equal(config_yml_format(&a, &yml, &len), 0);
    assert_null(strstr(yml, "BEARERSECRET"));
    assert_null(strstr(yml, "OWNERSECRET"));
    free(yml);
    config_free(&a);
    config_free(&b);
    config_diags_free(&d);
}

static void test_string_values_that_look_like_numbers(void **state)
{
    /* "1443" as a host id stays a string and reads back as one */
    struct tagent_config a, b;
    struct config_diags d = {0};
    assert_int_equal(config_init_defaults(&a), 0);
    free(a.nats_host_id);
    a.nats_host_id = strdup("1443");
    char *yml = NULL;
    size_t len;
    assert_int_equal(config_yml_format(&a, &yml, &len), 0);
    assert_non_null(strstr(yml, "host-id: \"1443\""));
    assert_int_equal(config_init_defaults(&b), 0);
    assert_int_equal(config_yml_parse(yml, len, "x", &b, &d), 0);
    assert_string_equal(b.nats_host_id, "1443");
    free(yml);
    config_free(&a);
    config_free(&b);
    config_diags_free(&d);
}

static int parse_text(const char *text, struct config_diags *d)
{
    struct tagent_config cfg;
    assert_int_equal(config_init_defaults(&cfg), 0);
    int r = config_yml_parse(text, strlen(text), "config.yml", &cfg, d);
    config_free(&cfg);
    return r;
}

static void test_bad_files(void **state)
{
    struct config_diags d = {0};
    assert_int_equal(parse_text("log:\n  level: [unclosed\n", &d), -EINVAL);
    assert_non_null(strstr(d.items[0].message, "not valid YAML"));
    config_diags_free(&d);

    assert_int_equal(parse_text("- a\n- b\n", &d), -EINVAL);
    assert_diag(&d, CONFIG_ERROR, 1, "must be a mapping");
    config_diags_free(&d);

    assert_int_equal(parse_text("server:\n  port: 80\n", &d), -EINVAL);
    assert_diag(&d, CONFIG_ERROR, 2, "from 1024 to 65535");
    config_diags_free(&d);

    assert_int_equal(parse_text("nats:\n  servers: tls://a:4222\n  host-id: [x]\n", &d), -EINVAL);
    assert_diag(&d, CONFIG_ERROR, 3, "wrong shape");
    config_diags_free(&d);

    assert_int_equal(parse_text("tpm:\n  tag-secret-key: \"TAGSECRETzz\"\n", &d), -EINVAL);
    assert_diag(&d, CONFIG_ERROR, 2, "hex:");
    char *all = diags_text(&d);
    assert_null(strstr(all, "TAGSECRET"));
    free(all);
    config_diags_free(&d);

    assert_int_equal(parse_text("hvs:\n  url: \"https://a\\0b\"\n", &d), -EINVAL);
    assert_diag(&d, CONFIG_ERROR, 2, "NUL");
    config_diags_free(&d);

    /* unknown keys, a bare-number duration and an empty file are not errors */
    assert_int_equal(parse_text("future-key: 1\nlog:\n  colour: red\nserver:\n  read-timeout: 30\n", &d), 0);
    assert_diag(&d, CONFIG_WARNING, 1, "unknown key");
    assert_diag(&d, CONFIG_WARNING, 3, "unknown key");
    assert_diag(&d, CONFIG_WARNING, 5, "nanoseconds");
    config_diags_free(&d);
    assert_int_equal(parse_text("", &d), 0);
    assert_int_equal(parse_text("hvs:\n  url:\n", &d), 0); /* null = unset */
    assert_int_equal(d.n, 0);

    /* a self-referencing alias must not loop */
    assert_int_equal(parse_text("log: &a\n  x: *a\n", &d), 0);
    config_diags_free(&d);
}

static size_t count_entries(const char *dir)
{
    DIR *dp = opendir(dir);
    assert_non_null(dp);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(dp));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(dp);
    return n;
}

static void test_save_is_atomic_with_mode(void **state)
{
    char dir[] = "/tmp/tagent-yml-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/config.yml", dir);

    struct tagent_config cfg, back;
    struct config_diags d = {0};
    fill(&cfg, &d);
    mode_t old = umask(0);
    assert_int_equal(config_yml_save(path, &cfg), 0);
    umask(old);

    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(count_entries(dir), 1); /* no temp file left behind */

    assert_int_equal(config_init_defaults(&back), 0);
    assert_int_equal(config_yml_load(path, &back, &d), 0);
    assert_true(config_equal(&cfg, &back));

    /* saving over an existing file replaces it */
    cfg.server.port = 2443;
    assert_int_equal(config_yml_save(path, &cfg), 0);
    config_free(&back);
    assert_int_equal(config_init_defaults(&back), 0);
    assert_int_equal(config_yml_load(path, &back, &d), 0);
    assert_int_equal(back.server.port, 2443);
    assert_int_equal(count_entries(dir), 1);

    /* a directory that cannot be written: an error, and the old file untouched */
    if (geteuid() != 0) {
        assert_int_equal(chmod(dir, 0500), 0);
        cfg.server.port = 3443;
        assert_true(config_yml_save(path, &cfg) < 0);
        assert_int_equal(chmod(dir, 0700), 0);
    }
    assert_int_equal(config_yml_save("/nonexistent-dir/config.yml", &cfg), -ENOENT);

    struct tagent_config missing;
    assert_int_equal(config_init_defaults(&missing), 0);
    char absent[160];
    snprintf(absent, sizeof(absent), "%s/absent.yml", dir);
    assert_int_equal(config_yml_load(absent, &missing, &d), -ENOENT);
    config_free(&missing);

    unlink(path);
    rmdir(dir);
    config_free(&cfg);
    config_free(&back);
    config_diags_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_go_agent_file),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_string_values_that_look_like_numbers),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_save_is_atomic_with_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
