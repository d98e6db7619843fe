/* SPDX-License-Identifier: BSD-3-Clause */
/* CURRENT_IP in Go's canonical text (see host_ip.h). */
#include "host_ip.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The longest run of two or more zero groups (the first of equal runs): its start, -1 when none. */
static int zero_run(const uint16_t g[8], int *ret_len)
{
    int best = -1, best_len = 1;
    for (int i = 0; i < 8;) {
        int j = i;
        while (j < 8 && g[j] == 0)
            j++;
        if (j - i > best_len) {
            best = i;
            best_len = j - i;
        }
        i = j > i ? j : i + 1;
    }
    *ret_len = best_len;
    return best;
}

static void v6_text(const uint8_t a[16], char *out, size_t size)
{
    uint16_t g[8];
    for (int i = 0; i < 8; i++)
        g[i] = (uint16_t)(a[2 * i] << 8 | a[2 * i + 1]);
    int len = 0, run = zero_run(g, &len);
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < 8 && used < size; i++) {
        if (i == run) {
            used += (size_t)snprintf(out + used, size - used, "::");
            i += len - 1;
            continue;
        }
        bool after_run = run >= 0 && i == run + len;
        used += (size_t)snprintf(out + used, size - used, "%s%x", i == 0 || after_run ? "" : ":", g[i]);
    }
}

int host_ip_go_string(const char *text, char *out, size_t size, bool *ret_v6)
{
    uint8_t a[16];
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (inet_pton(AF_INET, text, a) == 1) {
        *ret_v6 = false;
        return inet_ntop(AF_INET, a, out, (socklen_t)size) ? 0 : -EINVAL;
    }
    if (inet_pton(AF_INET6, text, a) != 1)
        return -EINVAL;
    if (memcmp(a, mapped, sizeof(mapped)) == 0) { /* Go's To4() */
        *ret_v6 = false;
        return inet_ntop(AF_INET, a + 12, out, (socklen_t)size) ? 0 : -EINVAL;
    }
    *ret_v6 = true;
    v6_text(a, out, size);
    return 0;
}
