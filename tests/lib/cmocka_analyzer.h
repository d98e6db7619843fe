/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * For static analysis only: scripts/static-analysis.sh force-includes this into every cmocka test (a file
 * that includes cmocka.h, directly or through tests/unit/test_util.h) when it runs clang-tidy; no build uses
 * it. cmocka's failing assertions end the test (they longjmp out of it), but cmocka 1.1 declares nothing as
 * noreturn, so clang's analyzer follows every failed assert_*() onward and reports what would go wrong past
 * it (a NULL that assert_non_null() has just refused, a buffer that a failed assert_int_equal() left
 * unwritten) - findings about code that cannot run. Here the assertion helpers the public macros expand to
 * are modelled as "holds, or _fail() never returns", which is what they do.
 */
#ifndef TAGENT_TESTS_CMOCKA_ANALYZER_H
#define TAGENT_TESTS_CMOCKA_ANALYZER_H

#ifdef __clang_analyzer__
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* NOLINTBEGIN(bugprone-reserved-identifier): cmocka's own names, redeclared and modelled, not new ones */
void _fail(const char *const file, const int line) __attribute__((noreturn));

#define TAGENT_MODEL_ASSERT(holds, file, line)       ((holds) ? (void)0 : _fail((file), (line)))
#define _assert_true(result, expression, file, line) TAGENT_MODEL_ASSERT(result, file, line)
#define _assert_int_equal(a, b, file, line)          TAGENT_MODEL_ASSERT((a) == (b), file, line)
#define _assert_int_not_equal(a, b, file, line)      TAGENT_MODEL_ASSERT((a) != (b), file, line)
#define _assert_string_equal(a, b, file, line)                                                               \
    TAGENT_MODEL_ASSERT((a) && (b) && strcmp((a), (b)) == 0, file, line)
#define _assert_string_not_equal(a, b, file, line)                                                           \
    TAGENT_MODEL_ASSERT((a) && (b) && strcmp((a), (b)) != 0, file, line)
#define _assert_memory_equal(a, b, size, file, line)                                                         \
    TAGENT_MODEL_ASSERT((a) && (b) && memcmp((a), (b), (size)) == 0, file, line)
#define _assert_memory_not_equal(a, b, size, file, line)                                                     \
    TAGENT_MODEL_ASSERT((a) && (b) && memcmp((a), (b), (size)) != 0, file, line)
/* NOLINTEND(bugprone-reserved-identifier) */
#endif

#endif
