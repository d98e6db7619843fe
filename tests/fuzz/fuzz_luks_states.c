/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer: signed-states.json (luks/policy/, docs/tep-formats.md 5.3), which the device reads. Properties:
 * no crash or leak; whatever parse accepts formats to JSON that parses back to the same states. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "luks_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct luks_signed_states st = {0}, back = {0};
    char *err = NULL;
    if (luks_signed_states_parse((const char *)data, size, &st, &err) < 0) {
        if (!err)
            abort(); /* every refusal says why (only out of memory may not) */
        free(err);
        return 0;
    }
    char *json = luks_signed_states_format(&st);
    if (!json || luks_signed_states_parse(json, strlen(json), &back, &err) < 0 || back.n != st.n)
        abort();
    /* format groups the states by bank: within a bank, the order and every byte are kept */
    for (uint16_t bank = 0x000b; bank <= 0x000c; bank++)
        for (size_t i = 0, j = 0;; i++, j++) {
            while (i < st.n && st.states[i].state.bank != bank)
                i++;
            while (j < back.n && back.states[j].state.bank != bank)
                j++;
            if (i == st.n || j == back.n) {
                if (i != st.n || j != back.n)
                    abort();
                break;
            }
            if (memcmp(&st.states[i], &back.states[j], sizeof(st.states[i])) != 0)
                abort();
        }
    free(json);
    luks_signed_states_clear(&st);
    luks_signed_states_clear(&back);
    return 0;
}
