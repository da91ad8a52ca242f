import CThread

/// Names the calling thread where `top -H`, `ps -L` and `perf` read it (the kernel's comm,
/// at most 15 bytes: longer names are cut). Foundation's `Thread.name` does not reach the
/// kernel here: without this a store's writer and index worker both showed as
/// "skein-store" in a profile.
public enum ThreadName {
    public static func set(_ name: String) {
        skein_name_thread(name)
    }
}
