// Linux thread calls Swift cannot make directly (syscall is variadic; pthread_setname_np is
// declared by glibc only under _GNU_SOURCE, which must not be defined here: the headers would
// then differ from Swift's Glibc module's and a clean build fails on the conflict).
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/// Lowers the calling thread's CPU priority to `nice_value` and puts its disk I/O in the
/// best-effort class at `io_level` (0 highest, 7 lowest). Returns 0, or -1 when either
/// call failed (the thread runs on at the normal priority).
static inline int skein_lower_thread_priority(int nice_value, int io_level) {
    pid_t tid = (pid_t)syscall(SYS_gettid);
    int rc = setpriority(PRIO_PROCESS, (id_t)tid, nice_value);
    // ioprio_set(IOPRIO_WHO_PROCESS = 1, tid, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE = 2, level))
    long io = syscall(SYS_ioprio_set, 1, tid, (2 << 13) | (io_level & 7));
    return (rc == 0 && io == 0) ? 0 : -1;
}

/// Names the calling thread as the kernel shows it (`top -H`, `ps -L`, `perf`): at most 15
/// bytes, longer names are cut. (`ThreadName.set` in SkeinService is the Swift side.)
extern int pthread_setname_np(pthread_t thread, const char *name);

static inline void skein_name_thread(const char *name) {
    char buf[16];
    int i = 0;
    for (; i < 15 && name[i]; i++) buf[i] = name[i];
    buf[i] = 0;
    pthread_setname_np(pthread_self(), buf);
}
