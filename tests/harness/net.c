/* Loopback ports: pick free ones, and know when *our* child (not a neighbour) listens on one. */
#include "harness.h"
#include "harness_internal.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_LISTENERS 8
#define TCP_LISTEN    0x0A

static int bind_loopback(uint16_t port, int *ret_fd, uint16_t *ret_port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -errno;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    *ret_fd = fd;
    *ret_port = ntohs(sa.sin_port);
    return 0;
}

/* Servers get ports below the kernel's ephemeral range. Inside it they compete with client sockets: a busy
 * test (the swtpm TCTI opens a TCP connection per TPM command) leaves tens of thousands of client ports in
 * TIME_WAIT, and bind(port 0) then finds no free port at all. */
#define PORT_POOL_LOW 10000

static uint16_t ephemeral_low(void)
{
    unsigned lo = 32768, hi = 60999;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
    if (f) {
        if (fscanf(f, "%u %u", &lo, &hi) != 2)
            lo = 32768;
        fclose(f);
    }
    return lo > PORT_POOL_LOW + 1000 && lo <= 65535 ? (uint16_t)lo : 32768;
}

static uint16_t pool_candidate(void)
{
    static unsigned seed;
    if (!seed)
        seed = (unsigned)getpid() * 2654435761u ^ (unsigned)time(NULL);
    uint16_t span = (uint16_t)(ephemeral_low() - PORT_POOL_LOW - 1);
    return (uint16_t)(PORT_POOL_LOW + rand_r(&seed) % span);
}

/* count consecutive ports from a random start in the pool, all bindable a moment ago */
static int ports_free(unsigned count, uint16_t *ret_port)
{
    for (int attempt = 0; attempt < 256; attempt++) {
        uint16_t first = pool_candidate(), got;
        int fds[2] = {-1, -1}, r = 0;
        for (unsigned i = 0; i < count && r == 0; i++)
            r = bind_loopback((uint16_t)(first + i), &fds[i], &got);
        for (unsigned i = 0; i < count; i++)
            if (fds[i] >= 0)
                close(fds[i]); /* never listened on, so free again at once (no TIME_WAIT) */
        if (r == 0) {
            *ret_port = first;
            return 0;
        }
    }
    return -EADDRINUSE;
}

int harness_port_free(uint16_t *ret_port)
{
    int r = ports_free(1, ret_port);
    if (r < 0)
        fprintf(stderr, "harness: no free loopback port below %u: %s\n", ephemeral_low(), strerror(-r));
    return r;
}

int harness_port_pair_free(uint16_t *ret_port)
{
    int r = ports_free(2, ret_port);
    if (r < 0)
        fprintf(stderr, "harness: no two consecutive free loopback ports below %u\n", ephemeral_low());
    return r;
}

int harness_tcp_connect(uint16_t port, int *ret_fd)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -errno;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    *ret_fd = fd;
    return 0;
}

/* Inodes of IPv4 sockets listening on port (loopback or wildcard), from /proc/net/tcp. */
static int listener_inodes(uint16_t port, unsigned long *inodes, int max)
{
    char line[512];
    int n = 0;
    FILE *f = fopen("/proc/net/tcp", "re");

    if (!f)
        return -errno;
    while (n < max && fgets(line, sizeof(line), f)) {
        unsigned int addr, lport, state;
        unsigned long inode;

        /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
        if (sscanf(line, " %*u: %x:%x %*x:%*x %x %*x:%*x %*x:%*x %*x %*u %*u %lu", &addr, &lport, &state,
                   &inode) != 4)
            continue;
        /* The kernel prints the address as the raw network-order word, so compare it raw too. */
        if (state == TCP_LISTEN && lport == port && (addr == htonl(INADDR_LOOPBACK) || addr == 0))
            inodes[n++] = inode;
    }
    fclose(f);
    return n;
}

static int pid_has_socket(pid_t pid, unsigned long inode)
{
    char dir[64], target[64], want[64];
    struct dirent *de;
    int found = 0;
    DIR *d;

    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
    snprintf(want, sizeof(want), "socket:[%lu]", inode);
    d = opendir(dir);
    if (!d)
        return 0;
    while (!found && (de = readdir(d))) {
        ssize_t len;

        len = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
        if (len > 0) {
            target[len] = '\0';
            found = strcmp(target, want) == 0;
        }
    }
    closedir(d);
    return found;
}

/* 1: pid listens on port; 0: someone else does; -ENOENT: nobody yet. */
static int port_owner_is(uint16_t port, pid_t pid)
{
    unsigned long inodes[MAX_LISTENERS] = {0};
    int n = listener_inodes(port, inodes, MAX_LISTENERS);

    if (n < 0)
        return n;
    if (n == 0)
        return -ENOENT;
    for (int i = 0; i < n; i++)
        if (pid_has_socket(pid, inodes[i]))
            return 1;
    return 0;
}

int harness_wait_listening(pid_t pid, uint16_t port, int timeout_ms)
{
    int64_t deadline = harness_now_ms() + timeout_ms;

    for (;;) {
        int fd = -1, r = harness_proc_exited(pid);

        if (r != 0)
            return r < 0 ? r : -ECHILD;
        r = port_owner_is(port, pid);
        if (r == 0)
            return -EADDRINUSE;
        if (r == 1 && harness_tcp_connect(port, &fd) == 0) {
            close(fd);
            return 0;
        }
        if (harness_now_ms() >= deadline)
            return -ETIMEDOUT;
        harness_sleep_ms(20);
    }
}
