/* Shared between the harness files; not for tests. */
#ifndef TAGENT_TEST_HARNESS_INTERNAL_H
#define TAGENT_TEST_HARNESS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Removes every registered temp dir using only async-signal-safe calls. */
void harness_tmpdirs_remove_all(void);

/* Full path of an executable: name itself if it holds a '/', else the first match in $PATH. */
int harness_find_program(const char *name, char *buf, size_t size);

int64_t harness_now_ms(void);
void harness_sleep_ms(int ms);

#endif
