/* SPDX-License-Identifier: BSD-3-Clause */
#include "dl_table.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *or_unknown(const char *s)
{
    return s ? s : "unknown error";
}

int dl_table_load(const char *soname, const char *package, const struct dl_symbol *symbols, size_t n,
                  void *table, char *why, size_t why_size)
{
    void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(why, why_size, "cannot load %s: %s; install the %s package", soname, or_unknown(dlerror()),
                 package);
        return -ELIBACC;
    }
    for (size_t i = 0; i < n; i++) {
        dlerror();
        void *p = dlsym(lib, symbols[i].name);
        if (!p) {
            snprintf(why, why_size, "%s is not in %s (%s); install the %s package", symbols[i].name, soname,
                     or_unknown(dlerror()), package);
            dlclose(lib);
            return -ELIBBAD;
        }
        /* POSIX: a dlsym() result converts to a function pointer of the right type */
        memcpy((char *)table + symbols[i].offset, &p, sizeof(p));
    }
    return 0;
}
