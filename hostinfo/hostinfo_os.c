/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The operating-system fields of HostInfo (spec section 7), all from files under the root prefix. The Go
 * agent runs programs for some of them; we read files instead (no shelling out from a root daemon), choosing
 * the file whose answer matches what the program would have said:
 *   tboot_installed  Go: `txt-stat --help` exits 0, i.e. tboot's tools are on the service's PATH. We look for
 *                    an executable txt-stat in the directories of systemd's default PATH. Like Go's, this
 *                    answer means "installed", not "this boot went through tboot": a different meaning
 *                    would change the value HVS has on record for hosts that move from one agent to the
 *                    other.
 *   no_of_sockets    Go: runtime.NumCPU(), the logical CPUs it may run on. We count the kernel's online CPU
 *                    list (sys/devices/system/cpu/online); without it, the CPUs of our affinity mask (what
 *                    Go counts).
 * A missing or unreadable file gives the Go agent's empty value ("" or "false"), never an error.
 */
#include "config.h"
#include "hostinfo_internal.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define OS_RELEASE_MAX (64u << 10)
#define HOSTNAME_MAX   (4u << 10)
#define CPU_LIST_MAX   (64u << 10)
#define CPU_MAX        (1u << 22) /* above any kernel's NR_CPUS; bounds a corrupt list */

/* systemd's default PATH for services, where `txt-stat` would have been found. */
static const char *const service_path[] = {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
                                           "/usr/bin",        "/sbin",          "/bin"};

/* The whole file under root, or NULL (missing, unreadable, too big: all mean "no value here"). */
static int read_under_root(const char *root, const char *abs, size_t max, char **ret_buf, size_t *ret_len)
{
    char *path = config_path(root, abs);
    if (!path)
        return -ENOMEM;
    int r = config_read_file(path, max, ret_buf, ret_len);
    free(path);
    if (r < 0 && r != -ENOMEM) {
        *ret_buf = NULL;
        *ret_len = 0;
        r = 0;
    }
    return r;
}

int hostinfo_path_exists(const char *root, const char *abs, enum hostinfo_path_kind kind, bool *ret)
{
    struct stat st;
    char *path = config_path(root, abs);
    if (!path)
        return -ENOMEM;
    bool found = stat(path, &st) == 0;
    if (found && kind == HOSTINFO_PATH_DIR)
        found = S_ISDIR(st.st_mode);
    else if (found && kind == HOSTINFO_PATH_EXECUTABLE)
        found = S_ISREG(st.st_mode) && (st.st_mode & 0111);
    free(path);
    *ret = found;
    return 0;
}

int hostinfo_os_release_parse(const char *buf, size_t len, char **ret_name, char **ret_version)
{
    /* os-release is shell-style KEY=VALUE, the syntax config/ already parses for trustagent.env (quotes
     * stripped, \" escapes). Lines it cannot read are skipped: they only matter if they are NAME/VERSION_ID.
     */
    struct config_env env = {0};
    struct config_diags diags = {0};
    int r = config_env_parse(buf, len, "os-release", &env, &diags);
    config_diags_free(&diags);
    if (r == -ENOMEM)
        return r;

    const struct config_env_entry *name = config_env_find(&env, "NAME");
    const struct config_env_entry *version = config_env_find(&env, "VERSION_ID");
    const char *n = name ? name->value : "";
    /* The Go agent's one rename: HVS flavors for RHEL hosts carry "RedHatEnterprise". */
    if (strcmp(n, "Red Hat Enterprise Linux") == 0)
        n = "RedHatEnterprise";
    char *out_name = strdup(n), *out_version = strdup(version ? version->value : "");
    config_env_free(&env);
    if (!out_name || !out_version) {
        free(out_name);
        free(out_version);
        return -ENOMEM;
    }
    *ret_name = out_name;
    *ret_version = out_version;
    return 0;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* hostname(5): the first line that is neither empty nor a comment, without surrounding blanks. */
static char *hostname_parse(const char *buf, size_t len)
{
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len, b = pos;
        while (b < end && is_blank(buf[b]))
            b++;
        size_t e = end;
        while (e > b && is_blank(buf[e - 1]))
            e--;
        if (e > b && buf[b] != '#') {
            char *out = malloc(e - b + 1);
            if (out) {
                memcpy(out, buf + b, e - b);
                out[e - b] = '\0';
            }
            return out;
        }
        pos = end + 1;
    }
    return strdup("");
}

static int read_hostname(const char *root, char **ret)
{
    /* /etc/hostname as the Go agent reads it; the kernel's name when that file does not exist (hosts named
     * by DHCP or the kernel command line), still under root so tests see only their own tree. */
    static const char *const sources[] = {"/etc/hostname", "/proc/sys/kernel/hostname"};
    for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
        char *buf = NULL;
        size_t len = 0;
        int r = read_under_root(root, sources[i], HOSTNAME_MAX, &buf, &len);
        if (r < 0)
            return r;
        char *name = buf ? hostname_parse(buf, len) : NULL;
        bool found = buf != NULL;
        free(buf);
        if (found && !name)
            return -ENOMEM;
        if (name && *name) {
            *ret = name;
            return 0;
        }
        free(name);
    }
    *ret = strdup("");
    return *ret ? 0 : -ENOMEM;
}

/* A decimal CPU number at list[*i], at most CPU_MAX. */
static int cpu_number(const char *list, size_t len, size_t *i, unsigned long *ret)
{
    size_t start = *i;
    unsigned long v = 0;
    for (; *i < len && list[*i] >= '0' && list[*i] <= '9'; (*i)++)
        if ((v = v * 10 + (unsigned long)(list[*i] - '0')) > CPU_MAX)
            return -EINVAL;
    if (*i == start)
        return -EINVAL;
    *ret = v;
    return 0;
}

int hostinfo_cpu_list_count(const char *list, size_t len, unsigned *ret_count)
{
    unsigned long count = 0, first, last;
    size_t i = 0;
    while (len && is_blank(list[len - 1]))
        len--;
    for (;;) {
        if (cpu_number(list, len, &i, &first) < 0)
            return -EINVAL;
        last = first;
        if (i < len && list[i] == '-' && (++i, cpu_number(list, len, &i, &last) < 0))
            return -EINVAL;
        if (last < first || (count += last - first + 1) > CPU_MAX)
            return -EINVAL;
        if (i == len)
            break;
        if (list[i++] != ',')
            return -EINVAL;
    }
    *ret_count = (unsigned)count;
    return 0;
}

static int count_cpus(const char *root, char **ret)
{
    char *buf = NULL;
    size_t len = 0;
    unsigned n = 0;
    int r = read_under_root(root, "/sys/devices/system/cpu/online", CPU_LIST_MAX, &buf, &len);
    if (r < 0)
        return r;
    if (!buf || hostinfo_cpu_list_count(buf, len, &n) < 0) {
        cpu_set_t set;
        n = sched_getaffinity(0, sizeof(set), &set) == 0 ? (unsigned)CPU_COUNT(&set) : 0;
    }
    free(buf);
    if (n == 0)
        *ret = strdup("");
    else if (asprintf(ret, "%u", n) < 0)
        *ret = NULL;
    return *ret ? 0 : -ENOMEM;
}

void hostinfo_os_clear(struct hostinfo_os *o)
{
    if (!o)
        return;
    free(o->os_name);
    free(o->os_version);
    free(o->host_name);
    free(o->no_of_sockets);
    *o = (struct hostinfo_os){0};
}

int hostinfo_os_read(const char *root, struct hostinfo_os *ret)
{
    struct hostinfo_os o = {0};
    char *buf = NULL;
    size_t len = 0;
    bool dockerenv = false, container_env = false;

    /* os-release(5): /etc/os-release, else /usr/lib/os-release (what /etc/os-release links to on most). */
    int r = read_under_root(root, "/etc/os-release", OS_RELEASE_MAX, &buf, &len);
    if (r == 0 && !buf)
        r = read_under_root(root, "/usr/lib/os-release", OS_RELEASE_MAX, &buf, &len);
    if (r == 0)
        r = hostinfo_os_release_parse(buf ? buf : "", len, &o.os_name, &o.os_version);
    free(buf);
    if (r == 0)
        r = read_hostname(root, &o.host_name);
    if (r == 0)
        r = count_cpus(root, &o.no_of_sockets);
    for (size_t i = 0; r == 0 && !o.tboot_installed && i < sizeof(service_path) / sizeof(service_path[0]);
         i++) {
        char abs[64];
        snprintf(abs, sizeof(abs), "%s/txt-stat", service_path[i]);
        r = hostinfo_path_exists(root, abs, HOSTINFO_PATH_EXECUTABLE, &o.tboot_installed);
    }
    if (r == 0)
        r = hostinfo_path_exists(root, "/.dockerenv", HOSTINFO_PATH_ANY, &dockerenv);
    if (r == 0)
        r = hostinfo_path_exists(root, "/.container-env", HOSTINFO_PATH_ANY, &container_env);
    o.is_docker_env = dockerenv || container_env;

    if (r < 0)
        hostinfo_os_clear(&o);
    else
        *ret = o;
    return r;
}
