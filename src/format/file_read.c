/*
 * file_read.c: a regular file is read in one allocation of its size; a
 * pipe or a file that grows while read doubles the buffer up to the cap.
 */
#include "file_read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int read_all(int fd, size_t max_bytes, uint8_t **out, size_t *out_len)
{
    struct stat st;
    size_t cap = 64 << 10;
    if (fstat(fd, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return errno = EISDIR, -1;
        if (S_ISREG(st.st_mode) && st.st_size > 0)
            cap = (size_t)st.st_size + 1;
    }
    if (cap > max_bytes + 1)
        return errno = EFBIG, -1;
    uint8_t *buf = malloc(cap);
    size_t len = 0;
    if (!buf)
        return -1;
    for (;;) {
        if (len == cap) {
            uint8_t *nb = cap > max_bytes ? NULL : realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return errno = cap > max_bytes ? EFBIG : ENOMEM, -1;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            return errno = e, -1;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    *out = buf;
    *out_len = len;
    return 0;
}

int format_read_file(const char *path, size_t max_bytes, uint8_t **out, size_t *out_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = read_all(fd, max_bytes, out, out_len);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}
