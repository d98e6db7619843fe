/* SPDX-License-Identifier: BSD-3-Clause */
/* The version, as the build stamped it (version.c is generated from version.c.in). */
#ifndef TAGENT_VERSION_H
#define TAGENT_VERSION_H

/* The version text of `tagent version` and version-request, in the Go agent's three-line format. */
const char *tagent_version_text(void);
/* Just "v<ver>-<git hash>". */
const char *tagent_version(void);

#endif
