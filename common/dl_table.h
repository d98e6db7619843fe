/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A library loaded on first use, systemd-style: dlopen() its soname and fill a table of function pointers, so
 * a process that never uses the library never maps it (libcurl for HTTPS, libmicrohttpd for HTTP mode).
 * Callers keep <lib.h> for types and constants and call through the table.
 */
#ifndef TAGENT_DL_TABLE_H
#define TAGENT_DL_TABLE_H

#include <stddef.h>

struct dl_symbol {
    const char *name; /* the library's symbol */
    size_t offset;    /* of its function pointer in the caller's table: offsetof(struct t, member) */
};

/* Loads soname (RTLD_NOW | RTLD_LOCAL: its symbols serve this table only) and stores every symbol into
 * table. 0, or -ELIBACC (cannot load) / -ELIBBAD (a symbol is missing) with why set to a sentence that names
 * the library, the cause and the Debian package to install; nothing is left loaded then. The library stays
 * loaded for the life of the process. */
int dl_table_load(const char *soname, const char *package, const struct dl_symbol *symbols, size_t n,
                  void *table, char *why, size_t why_size);

#endif
