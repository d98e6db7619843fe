/* SPDX-License-Identifier: BSD-3-Clause */
/* provision/tepc/'s payload archive: safe extraction against hostile tars (made here with libarchive's
 * writer), the limits (a gzip bomb stops at max_total), and deterministic creation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tepc.h"

/* ---- a growable buffer for libarchive's writer ---- */

struct buf {
    uint8_t *data;
    size_t len, cap;
};

static la_ssize_t buf_write(struct archive *a, void *user, const void *p, size_t n)
{
    struct buf *b = user;
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->data = realloc(b->data, b->cap);
        assert_non_null(b->data);
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return (la_ssize_t)n;
}

static struct archive *tgz_new(struct buf *b)
{
    struct archive *a = archive_write_new();
    assert_non_null(a);
    assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
    assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
    assert_int_equal(archive_write_open(a, b, NULL, buf_write, NULL), ARCHIVE_OK);
    return a;
}

/* One entry; for AE_IFREG, size bytes of fill (or of data when given); link is a symlink or hard link target.
 */
static void tgz_add(struct archive *a, const char *name, mode_t type, const char *symlink,
                    const char *hardlink, uint64_t size, const char *data)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
    if (symlink)
        archive_entry_set_symlink(e, symlink);
    if (hardlink)
        archive_entry_set_hardlink(e, hardlink);
    archive_entry_set_size(e, (la_int64_t)(type == AE_IFREG ? size : 0));
    assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
    archive_entry_free(e);
    if (type != AE_IFREG || hardlink)
        return;
    if (data) {
        assert_int_equal(archive_write_data(a, data, size), (la_ssize_t)size);
        return;
    }
    static uint8_t zeros[1 << 20];
    for (uint64_t left = size; left > 0;) {
        size_t n = left < sizeof(zeros) ? (size_t)left : sizeof(zeros);
        assert_int_equal(archive_write_data(a, zeros, n), (la_ssize_t)n);
        left -= n;
    }
}

static void tgz_done(struct archive *a)
{
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
}

/* ---- a scratch directory ---- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

struct scratch {
    char path[64];
    int fd;
};

static void scratch_new(struct scratch *s)
{
    strcpy(s->path, "/tmp/test_tepc_archive.XXXXXX");
    assert_non_null(mkdtemp(s->path));
    s->fd = open(s->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(s->fd >= 0);
}

static void scratch_free(struct scratch *s)
{
    close(s->fd);
    nftw(s->path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static uint64_t total_bytes;
static int size_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    if (flag == FTW_F)
        total_bytes += (uint64_t)st->st_size;
    return 0;
}

static uint64_t tree_bytes(const char *path)
{
    total_bytes = 0;
    nftw(path, size_one, 16, FTW_PHYS);
    return total_bytes;
}

/* Extracts b into a fresh directory and expects r with fragment in the message; returns the bytes written. */
static uint64_t extract_expect(const struct buf *b, const struct tepc_extract_limits *lim, int want,
                               const char *fragment)
{
    struct scratch s;
    char *err = NULL;
    scratch_new(&s);
    int r = tepc_archive_extract(b->data, b->len, s.fd, lim, &err);
    if (r != want || (fragment && (!err || !strstr(err, fragment))))
        fail_msg("extract gave %d \"%s\", expected %d \"%s\"", r, err ? err : "", want,
                 fragment ? fragment : "");
    free(err);
    uint64_t bytes = tree_bytes(s.path);
    scratch_free(&s);
    return bytes;
}

static void one_entry_refused(const char *name, mode_t type, const char *symlink, const char *hardlink,
                              int want, const char *fragment)
{
    struct buf b = {0};
    struct archive *a = tgz_new(&b);
    tgz_add(a, "ok.txt", AE_IFREG, NULL, NULL, 3, "ok\n");
    tgz_add(a, name, type, symlink, hardlink, type == AE_IFREG ? 1 : 0, "x");
    tgz_done(a);
    const struct tepc_extract_limits lim = TEPC_EXTRACT_LIMITS_DEFAULT;
    extract_expect(&b, &lim, want, fragment);
    free(b.data);
}

static void test_names_refused(void **state)
{
    one_entry_refused("../x", AE_IFREG, NULL, NULL, -EPERM, "\"../x\"");
    one_entry_refused("/abs", AE_IFREG, NULL, NULL, -EPERM, "\"/abs\"");
    one_entry_refused("a/../../x", AE_IFREG, NULL, NULL, -EPERM, "\"a/../../x\"");
    one_entry_refused("a/..", AE_IFDIR, NULL, NULL, -EPERM, "\"a/..");
    one_entry_refused("ok.txt", AE_IFREG, NULL, NULL, -EPERM, "twice");
}

static void test_types_refused(void **state)
{
    one_entry_refused("link", AE_IFLNK, "/etc/passwd", NULL, -EPERM, "symlink");
    one_entry_refused("hard", AE_IFREG, NULL, "ok.txt", -EPERM, "hard link");
    one_entry_refused("dev", AE_IFCHR, NULL, NULL, -EPERM, "character device");
    one_entry_refused("blk", AE_IFBLK, NULL, NULL, -EPERM, "block device");
    one_entry_refused("fifo", AE_IFIFO, NULL, NULL, -EPERM, "FIFO");
}

/* A symlink first and a file through it: the symlink is refused before anything is written through it. */
static void test_symlink_then_file(void **state)
{
    struct buf b = {0};
    struct archive *a = tgz_new(&b);
    tgz_add(a, "d", AE_IFLNK, "/tmp", NULL, 0, NULL);
    tgz_add(a, "d/owned", AE_IFREG, NULL, NULL, 1, "x");
    tgz_done(a);
    const struct tepc_extract_limits lim = TEPC_EXTRACT_LIMITS_DEFAULT;
    assert_int_equal(extract_expect(&b, &lim, -EPERM, "symlink"), 0);
    free(b.data);
}

static void test_limits(void **state)
{
    struct buf b = {0};
    struct archive *a = tgz_new(&b);
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof(name), "f%d", i);
        tgz_add(a, name, AE_IFREG, NULL, NULL, 200, NULL);
    }
    tgz_done(a);
    struct tepc_extract_limits lim = {.max_entries = 3, .max_entry = 1000, .max_total = 10000};
    extract_expect(&b, &lim, -EFBIG, "more than 3 entries");
    lim = (struct tepc_extract_limits){.max_entries = 10, .max_entry = 199, .max_total = 10000};
    assert_int_equal(extract_expect(&b, &lim, -EFBIG, "\"f0\" has 200 bytes"), 0);
    lim = (struct tepc_extract_limits){.max_entries = 10, .max_entry = 1000, .max_total = 500};
    assert_true(extract_expect(&b, &lim, -EFBIG, "more than 500 bytes") <= 500);
    lim = (struct tepc_extract_limits){.max_entries = 4, .max_entry = 200, .max_total = 800};
    assert_int_equal(extract_expect(&b, &lim, 0, NULL), 800);
    free(b.data);
}

/* 300 MiB of zeros in five 60 MiB files compress to well under a MiB; extraction stops at max_total. */
static void test_gzip_bomb(void **state)
{
    struct buf b = {0};
    struct archive *a = tgz_new(&b);
    for (int i = 0; i < 5; i++) {
        char name[16];
        snprintf(name, sizeof(name), "zero%d", i);
        tgz_add(a, name, AE_IFREG, NULL, NULL, (uint64_t)60 << 20, NULL);
    }
    tgz_done(a);
    assert_true(b.len < (1 << 20));
    struct tepc_extract_limits lim = TEPC_EXTRACT_LIMITS_DEFAULT;
    lim.max_total = (uint64_t)16 << 20;
    uint64_t written = extract_expect(&b, &lim, -EFBIG, "more than 16777216 bytes");
    assert_true(written <= lim.max_total);
    print_message("gzip bomb: %zu compressed bytes of 300 MiB; %llu bytes written before the 16 MiB limit\n",
                  b.len, (unsigned long long)written);
    free(b.data);
}

static void test_not_tgz(void **state)
{
    const struct tepc_extract_limits lim = TEPC_EXTRACT_LIMITS_DEFAULT;
    struct buf junk = {.data = (uint8_t *)strdup("this is no archive at all"), .len = 25};
    extract_expect(&junk, &lim, -EBADMSG, "gzip'ed tar");
    free(junk.data);
    /* a tar that is not compressed */
    struct buf b = {0};
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_open(a, &b, NULL, buf_write, NULL);
    tgz_add(a, "f", AE_IFREG, NULL, NULL, 1, "x");
    tgz_done(a);
    extract_expect(&b, &lim, -EBADMSG, "not gzip'ed");
    free(b.data);
}

static void file_put(int dirfd, const char *name, const char *text, mode_t mode)
{
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void file_expect(int dirfd, const char *name, const char *text, mode_t mode)
{
    char got[256] = "";
    struct stat st;
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 0111, mode & 0111);
    assert_int_equal(read(fd, got, sizeof(got) - 1), (ssize_t)strlen(text));
    assert_string_equal(got, text);
    close(fd);
}

/* A tree round trip through create and extract; create twice gives the same bytes. */
static void test_create_extract(void **state)
{
    struct scratch src, dst;
    uint8_t *t1 = NULL, *t2 = NULL;
    size_t l1 = 0, l2 = 0;
    char *err = NULL;

    scratch_new(&src);
    assert_int_equal(mkdirat(src.fd, "sub", 0700), 0);
    assert_int_equal(mkdirat(src.fd, "sub/deeper", 0700), 0);
    assert_int_equal(mkdirat(src.fd, "empty", 0700), 0);
    file_put(src.fd, "b.conf", "b\n", 0600);
    file_put(src.fd, "a.conf", "a\n", 0640);
    file_put(src.fd, "sub/run.sh", "#!/bin/sh\n", 0700);
    file_put(src.fd, "sub/deeper/x", "x\n", 0644);
    if (tepc_archive_create(src.path, 1700000000, &t1, &l1, &err) < 0)
        fail_msg("create: %s", err);
    sleep(1); /* a gzip or tar timestamp taken from the clock would now differ */
    assert_int_equal(tepc_archive_create(src.path, 1700000000, &t2, &l2, &err), 0);
    assert_int_equal(l1, l2);
    assert_memory_equal(t1, t2, l1);

    scratch_new(&dst);
    const struct tepc_extract_limits lim = TEPC_EXTRACT_LIMITS_DEFAULT;
    if (tepc_archive_extract(t1, l1, dst.fd, &lim, &err) < 0)
        fail_msg("extract: %s", err);
    file_expect(dst.fd, "a.conf", "a\n", 0600);
    file_expect(dst.fd, "b.conf", "b\n", 0600);
    file_expect(dst.fd, "sub/run.sh", "#!/bin/sh\n", 0700);
    file_expect(dst.fd, "sub/deeper/x", "x\n", 0600);
    struct stat st;
    assert_int_equal(fstatat(dst.fd, "empty", &st, AT_SYMLINK_NOFOLLOW), 0);
    assert_true(S_ISDIR(st.st_mode));

    /* a symlink in the source is refused, naming it */
    assert_int_equal(symlinkat("/etc/passwd", src.fd, "sub/link"), 0);
    free(t2);
    assert_int_equal(tepc_archive_create(src.path, 1, &t2, &l2, &err), -EPERM);
    assert_non_null(strstr(err, "\"sub/link\""));
    free(err);
    free(t1);
    scratch_free(&src);
    scratch_free(&dst);
}

/* Names as tar(1) writes them ("./", "./a") are accepted. */
static void test_dot_names(void **state)
{
    struct buf b = {0};
    struct archive *a = tgz_new(&b);
    tgz_add(a, "./", AE_IFDIR, NULL, NULL, 0, NULL);
    tgz_add(a, "./d/", AE_IFDIR, NULL, NULL, 0, NULL);
    tgz_add(a, "./d/f", AE_IFREG, NULL, NULL, 2, "f\n");
    tgz_done(a);
    const struct tepc_extract_limits lim = TEPC_EXTRACT_LIMITS_DEFAULT;
    assert_int_equal(extract_expect(&b, &lim, 0, NULL), 2);
    free(b.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_refused),     cmocka_unit_test(test_types_refused),
        cmocka_unit_test(test_symlink_then_file), cmocka_unit_test(test_limits),
        cmocka_unit_test(test_gzip_bomb),         cmocka_unit_test(test_not_tgz),
        cmocka_unit_test(test_create_extract),    cmocka_unit_test(test_dot_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
