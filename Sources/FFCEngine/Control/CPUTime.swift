// Control: CPU time, as the benchmarks and the console's frame budget measure it. On a machine
// shared with other jobs, time spent waiting for a core does not count.
import Foundation

public enum CPUTime {
    /// CPU seconds of the calling thread.
    public static func thread() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }

    /// CPU seconds of this process, user plus system, all threads.
    public static func process() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) * 1e-6
        return user + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) * 1e-6
    }
}
