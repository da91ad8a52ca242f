@preconcurrency import Glibc

/// Line-buffered stdout, so the benchmark's progress shows as it happens also through a
/// pipe or into a file. Call once, before printing.
func lineBufferStandardOutput() {
    setvbuf(stdout, nil, _IOLBF, 0)
}
