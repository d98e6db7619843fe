/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_service, private: the agent process's memory and CPU time from /proc, and start-to-READY=1
 * through a NOTIFY_SOCKET the bench binds (service_proc.c). The phases, the samples and the report are in
 * service.c.
 */
#ifndef TAGENT_BENCH_SERVICE_BENCH_H
#define TAGENT_BENCH_SERVICE_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- the agent process in /proc (service_proc.c) ---- */

/* smaps_rollup fields, kB. */
struct mem {
    long rss, pss, private_dirty, shared_clean, anonymous;
};

/* Reads /proc/<pid>/smaps_rollup. */
int mem_read(pid_t pid, struct mem *ret);
/* Field-wise maximum. */
void mem_max(struct mem *acc, const struct mem *m);
/* Threads of the process (/proc/<pid>/status). */
int proc_threads(pid_t pid);
/* CPU time of all live threads of pid, from /proc/<pid>/task/<tid>/schedstat (ns resolution, unlike the
 * clock ticks of /proc/<pid>/stat). */
uint64_t proc_cpu_ns(pid_t pid);
/* Prints the max_rows mapping groups that hold the most Private_Dirty, then the max_rows with the most Rss
 * (from /proc/<pid>/smaps; each with its Rss, Pss and Private_Dirty): files by name, anonymous mappings by
 * what they probably are (malloc arenas, thread stacks, [heap], [stack], other anonymous). */
void mem_breakdown_print(pid_t pid, size_t max_rows);
/* The max_rows groups with the most Rss, files by full path (-M: what the idle agent's memory is). */
void mem_top_print(pid_t pid, size_t max_rows);

/* Samples smaps_rollup every period_ms on a thread of its own and keeps the field-wise maximum. */
struct mem_sampler;
int mem_sampler_start(pid_t pid, int period_ms, struct mem_sampler **ret);
/* Stops the thread; *ret_peak is the maximum seen (also over a final read), *ret_reads how many reads. */
void mem_sampler_stop(struct mem_sampler *ms, struct mem *ret_peak, unsigned *ret_reads);

/* ---- start to READY=1 (service_proc.c) ---- */

/* One start of `tagent --root root startService` with NOTIFY_SOCKET set to a datagram socket of ours. */
struct start_times {
    uint64_t connected_ns; /* fork .. "STATUS=connected ..." (the NATS connection is up); 0 if never sent */
    uint64_t ready_ns;     /* fork .. "READY=1" */
    uint64_t stop_ns;      /* SIGTERM .. exit */
};

struct notify;
/* Binds a datagram socket at dir/notify. */
int notify_open(const char *dir, struct notify **ret);
void notify_close(struct notify *n);
/* Spawns the agent (extra environment env: NULL-terminated "K=V", may be NULL; stdout+stderr to log_path),
 * waits up to timeout_ms for READY=1, SIGTERMs it and waits for the exit (status 0 required). */
int start_time_one(struct notify *n, const char *tagent, const char *root, const char *tcti,
                   const char *const *env, const char *log_path, int timeout_ms, struct start_times *ret);
/* fork .. exit of argv (its output to log_path); status 0 required. */
int process_time_one(const char *const argv[], const char *log_path, int timeout_ms, uint64_t *ret_ns);

#endif
