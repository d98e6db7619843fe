/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What every bench program needs and none should write again: the command line (a table of options instead
 * of a getopt loop per program), clocks, sample arrays and their quantiles, and the few process helpers the
 * timed rows share. Nothing here prints except bench_opts_parse(), which tells the user what was wrong with
 * the command line; nothing exits.
 */
#ifndef TAGENT_BENCH_UTIL_H
#define TAGENT_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>

/* ---- the command line ---- */

/* One option. Exactly one of count, string, parse and flag is set; a table lists them with designated
 * initializers (the fields a kind does not use stay zero) and ends with {0}. All but flag take an argument.
 */
struct bench_option {
    char letter;
    const char *long_name; /* --long_name ARG / --long_name=ARG as well; NULL: the letter only */
    unsigned *count;       /* a decimal count in [min, max] */
    unsigned min, max;
    const char **string;                       /* the argument as given */
    int (*parse)(const char *arg, void *data); /* anything else; returns 0 or a negative errno */
    void *data;
    bool *flag; /* no argument: the option sets *flag */
};

struct bench_cli {
    const char *prog;                   /* "bench_quote": what messages start with */
    void (*usage)(FILE *f);             /* the program's usage text */
    const struct bench_option *options; /* ended by an entry with letter 0 */
};

/* Parses argv against cli->options. -h (and --help when any option has a long name) prints the usage to
 * stdout and returns 1: the caller exits 0. Returns 0 when every option was good; -EINVAL after printing the
 * usage (unknown option, missing argument, operands) or what was wrong with a value to stderr. */
int bench_opts_parse(const struct bench_cli *cli, int argc, char **argv);

/* s as a decimal count in [min, max], all of s. */
int bench_parse_count(const char *s, unsigned min, unsigned max, unsigned *ret);
/* A comma-separated list of counts in [min, max]: at least one, at most cap; empty items are refused. */
int bench_parse_counts(const char *s, unsigned min, unsigned max, unsigned *v, size_t cap, size_t *ret_n);

/* ---- clocks ---- */

uint64_t bench_clock_ns(clockid_t clock);
/* CLOCK_MONOTONIC: wall time that NTP steps cannot bend. */
uint64_t bench_mono_ns(void);
/* CLOCK_THREAD_CPUTIME_ID: CPU time of the calling thread. */
uint64_t bench_thread_cpu_ns(void);
uint64_t bench_timeval_ns(struct timeval tv);

/* ---- samples ---- */

/* One column of measurements (ns, kB, ...), at most cap of them. */
struct bench_samples {
    uint64_t *v;
    size_t n, cap;
};

int bench_samples_init(struct bench_samples *s, size_t cap);
/* A sample beyond cap is dropped: the arrays are sized for the runs asked for. */
void bench_samples_add(struct bench_samples *s, uint64_t v);
void bench_samples_free(struct bench_samples *s);
void bench_samples_sort(struct bench_samples *s);
/* Quantile q (0..1) of sorted samples, interpolated between the two nearest ranks; 0 without samples. */
double bench_samples_quantile(const struct bench_samples *s, double q);
/* Median of n doubles (sorts them); 0 when n is 0. */
double bench_median_double(double *v, size_t n);

/* ---- processes ---- */

/* name's absolute path from $PATH (a default path when unset), resolved once, outside any timing. */
int bench_which(const char *name, char *buf, size_t size);
/* Blocks until the child pid exits, without reaping it (the caller's harness reaps and unregisters it):
 * a pidfd wakes us at the exit, where a polling wait would round every sample up to its period. Without
 * pidfds (kernel < 5.3) waitid blocks, with no timeout. *ret_status: the exit status, or 128 + the signal. */
int bench_child_wait(pid_t pid, int timeout_ms, int *ret_status);

/* One whole-process run of a program. */
struct bench_run {
    uint64_t wall_ns;   /* just before posix_spawn() .. just after wait4() returned (CLOCK_MONOTONIC) */
    uint64_t cpu_ns;    /* the child's user + system time */
    uint64_t maxrss_kb; /* the child's peak RSS */
    pid_t pid;
    int status; /* as wait4() gives it */
};

/* Runs argv (argv[0] an absolute path, resolved outside any timing) with stdin, stdout and stderr on
 * fds[0..2] and the environment envp (NULL: this process's), and waits for it with a blocking wait4().
 * posix_spawn() (glibc: clone with CLONE_VM | CLONE_VFORK, no copy of our page tables), so the figure is the
 * child's own start-up and run, not the cost of forking the bench. */
int bench_spawn_run(char *const argv[], char *const envp[], const int fds[3], struct bench_run *ret);
/* The same through fork() and execve(), for a peak-RSS figure: a vfork child's exec records the hiwater RSS
 * of the address space it ran on, which is the bench's own peak (a log buffer long freed), in the child's
 * ru_maxrss; a forked child's records only what its copy holds at the exec (this process's current RSS). */
int bench_fork_run(char *const argv[], char *const envp[], const int fds[3], struct bench_run *ret);
/* The columns of whole-process runs, one sample per run: wall and CPU time (ns), peak RSS (kB). */
struct bench_proc_samples {
    struct bench_samples wall, cpu, rss_kb;
};

int bench_proc_samples_init(struct bench_proc_samples *s, size_t cap);
void bench_proc_samples_free(struct bench_proc_samples *s);
/* One timed run of argv through bench_spawn_run(), its stdio on fds. An exit status other than 0 is an error
 * (-EPROTO), told on stderr as "prog: label: exit N (...)". record: the run's figures go
 * into s (a warm-up run's do not). */
int bench_spawn_timed(const char *prog, const char *label, char *const argv[], const int fds[3],
                      struct bench_proc_samples *s, bool record);
/* bench_spawn_timed(), through bench_fork_run() when fork_first. */
int bench_run_timed(const char *prog, const char *label, char *const argv[], const int fds[3],
                    bool fork_first, struct bench_proc_samples *s, bool record);
/* Exit status 0. */
bool bench_exited_ok(int status);
/* "exit 3", "signal 11": a wait4() status for a message. */
void bench_status_text(int status, char *buf, size_t size);

#endif
