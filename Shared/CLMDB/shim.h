#include <lmdb.h>
#include <sys/syscall.h>
#include <unistd.h>

/// Starts writing back the dirty pages of `fd` in [offset, offset + count) and waits until
/// they are written: sync_file_range(2) with WAIT_BEFORE | WRITE | WAIT_AFTER (1 | 2 | 4),
/// through syscall(2): the libc wrapper is a GNU extension Swift's Glibc module does not
/// show. Returns 0 or -1 (errno set).
static inline int skein_write_back_range(int fd, long long offset, long long count) {
    return (int)syscall(SYS_sync_file_range, fd, offset, count, 1 | 2 | 4);
}
