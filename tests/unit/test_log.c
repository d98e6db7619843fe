/* SPDX-License-Identifier: BSD-3-Clause */
/* log.h: redaction of registered secrets, levels, truncation; output captured from stderr. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "sd_wire.h"

/* Runs fn with stderr redirected to a temp file; returns what it wrote (caller frees). */
static char *capture_stderr(void (*fn)(void))
{
    char path[] = "/tmp/tagent-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    fn();
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);

    off_t len = lseek(fd, 0, SEEK_END);
    char *out = calloc(1, (size_t)len + 1);
    assert_int_equal(pread(fd, out, (size_t)len, 0), len);
    close(fd);
    unlink(path);
    return out;
}

static void log_with_secrets(void)
{
    log_error("token=%s owner=%s twice=%s%s", "eyJBEARER.TOKEN.sig", "0wnerSecret", "0wnerSecret",
              "0wnerSecret");
    const char *fields[] = {"SUBJECT=trust-agent.h.quote-request", "DETAIL=eyJBEARER.TOKEN.sig", NULL};
    log_emit(LOG_WARNING, fields, "with fields");
}

static void test_redaction(void **state)
{
    log_redact_add("eyJBEARER.TOKEN.sig");
    log_redact_add("0wnerSecret");
    char *out = capture_stderr(log_with_secrets);
    assert_null(strstr(out, "eyJBEARER"));
    assert_null(strstr(out, "0wnerSecret"));
    assert_non_null(strstr(out, "token=**** owner=**** twice=********"));
    assert_non_null(strstr(out, "SUBJECT=trust-agent.h.quote-request DETAIL=****"));
    free(out);

    char *r = log_redact_string("a 0wnerSecret b");
    assert_string_equal(r, "a **** b");
    free(r);
    log_redact_clear();
    r = log_redact_string("a 0wnerSecret b");
    assert_string_equal(r, "a 0wnerSecret b");
    free(r);
}

static void test_secret_like_the_mask(void **state)
{
    /* A secret that the mask itself contains must not make redaction loop. */
    log_redact_add("***");
    log_redact_add("****");
    char *r = log_redact_string("x***y");
    assert_string_equal(r, "x****y"); /* terminates; "***" became the mask, the mask is left alone */
    free(r);
    log_redact_clear();

    log_redact_add("ab"); /* too short to match: not registered */
    r = log_redact_string("abc");
    assert_string_equal(r, "abc");
    free(r);
    log_redact_clear();
}

static void log_levels(void)
{
    log_set_max_level(LOG_WARNING);
    log_info("hidden info");
    log_warning("shown warning");
    log_set_max_level(LOG_INFO);
    log_set_max_length(20);
    log_info("0123456789abcdefghijklmnopqrstuvwxyz");
    log_set_max_length(3000);
}

static void test_levels_and_truncation(void **state)
{
    char *out = capture_stderr(log_levels);
    assert_null(strstr(out, "hidden info"));
    assert_non_null(strstr(out, "tagent: warning: shown warning\n"));
    assert_non_null(strstr(out, "tagent: info: 0123456789abcdefg...\n"));
    free(out);
    assert_int_equal(log_level_from_name("warn"), LOG_WARNING);
    assert_int_equal(log_level_from_name("TRACE"), LOG_DEBUG);
    assert_int_equal(log_level_from_name("loud"), -1);
}

static void log_to_missing_journal(void)
{
    setenv("TAGENT_LOG_TARGET", "journal", 1);
    log_setup();
    log_error("the journal is not there: %s", "this line is not lost");
    unsetenv("TAGENT_LOG_TARGET");
    log_setup();
}

/* TAGENT_LOG_TARGET=journal without a journald: the line goes to stderr rather than nowhere. */
static void test_journal_falls_back_to_stderr(void **state)
{
    struct stat st;
    if (stat(JOURNAL_SOCKET, &st) == 0) {
        print_message("journald runs here (%s exists): the fallback cannot be observed; skipped\n",
                      JOURNAL_SOCKET);
        skip();
    }
    char *out = capture_stderr(log_to_missing_journal);
    assert_non_null(strstr(out, "tagent: error: the journal is not there: this line is not lost"));
    free(out);
}

int main(void)
{
    setenv("TAGENT_LOG_TARGET", "stderr", 1);
    log_setup();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redaction),
        cmocka_unit_test(test_secret_like_the_mask),
        cmocka_unit_test(test_levels_and_truncation),
        cmocka_unit_test(test_journal_falls_back_to_stderr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
