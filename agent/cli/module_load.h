/* SPDX-License-Identifier: BSD-3-Clause */
/* The front's module loader (module_load.c). */
#ifndef TAGENT_MODULE_LOAD_H
#define TAGENT_MODULE_LOAD_H

/* Loads tagent-<name>.so from the module directory and runs its tagent_module_main(argc, argv); its exit
 * status, or TAGENT_EXIT_ERROR with the reason on stderr when the module cannot be loaded. */
int module_run(const char *name, int argc, char **argv);

#endif
