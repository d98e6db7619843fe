/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Modules live in <the binary's directory>/../lib/tagent: /usr/lib/tagent for /usr/bin/tagent,
 * /opt/trustagent/lib/tagent for /opt/trustagent/bin/tagent, agent/lib/tagent in the build tree. The
 * directory comes from the binary's real path (/proc/self/exe, which resolves the /opt/trustagent/bin/tagent
 * link), never from the environment or the working directory, so nobody but who may write beside the binary
 * chooses the code loaded; without /proc, the directory configured at build time.
 */
#include "module_load.h"

#include "cli.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef TAGENT_MODULE_DIR
#error "TAGENT_MODULE_DIR (the installed module directory) comes from agent/cli/CMakeLists.txt"
#endif

static int module_path(const char *name, char *buf, size_t size)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash = n > 0 ? (exe[n] = '\0', strrchr(exe, '/')) : NULL;
    int len = slash ? (*slash = '\0', snprintf(buf, size, "%s/../lib/tagent/tagent-%s.so", exe, name))
                    : snprintf(buf, size, "%s/tagent-%s.so", TAGENT_MODULE_DIR, name);
    return len > 0 && (size_t)len < size ? 0 : -1;
}

int module_run(const char *name, int argc, char **argv)
{
    char path[PATH_MAX + 64];
    if (module_path(name, path, sizeof(path)) < 0) {
        fprintf(stderr,
                "tagent: error: the path of the %s module is too long; install tagent in a shorter "
                "directory\n",
                name);
        return TAGENT_EXIT_ERROR;
    }
    /* RTLD_NOW: a module that does not match its libraries fails here, with the missing symbol named, rather
     * than halfway through a command */
    void *module = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    tagent_module_main_fn entry = module ? (tagent_module_main_fn)dlsym(module, TAGENT_MODULE_ENTRY) : NULL;
    if (!entry) {
        fprintf(stderr,
                "tagent: error: cannot load the %s module: %s; the installation is incomplete or does "
                "not match this binary: reinstall tagent\n",
                name, dlerror());
        return TAGENT_EXIT_ERROR;
    }
    /* never unloaded: the process ends with the command */
    return entry(argc, argv);
}
