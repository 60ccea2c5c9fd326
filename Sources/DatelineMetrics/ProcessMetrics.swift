#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The standard process metrics of Prometheus client libraries, read from `/proc` at each scrape:
/// `process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_virtual_memory_bytes`,
/// `process_start_time_seconds`, `process_open_fds`, `process_max_fds`, and Dateline's
/// `dateline_process_peak_resident_memory_bytes` (the high-water mark, VmHWM). Where `/proc` is missing
/// (not Linux) nothing is written.
package enum ProcessMetrics {
    /// Figures read from `/proc/self`.
    package struct Sample: Sendable, Equatable {
        package var cpuSeconds: Double
        package var residentBytes: UInt64
        package var virtualBytes: UInt64
        package var startTimeSeconds: Double
        package var peakResidentBytes: UInt64?
        package var openDescriptors: Int?
        package var maximumDescriptors: UInt64?
    }

    /// This process's figures now, or nil where there is no `/proc/self/stat`.
    package static func sample() -> Sample? {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let boot = try? String(contentsOfFile: "/proc/stat", encoding: .utf8)
        else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = UInt64(sysconf(Int32(_SC_PAGESIZE)))
        let bootTime = boot.split(separator: "\n").first { $0.hasPrefix("btime ") }.flatMap { Double($0.dropFirst(6)) }
        guard let sample = self.parse(stat: stat, ticksPerSecond: ticks, pageSize: pageSize, bootTime: bootTime ?? 0) else { return nil }
        var result = sample
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kilobytes = line.split(separator: " ").compactMap({ UInt64($0) }).first
        {
            result.peakResidentBytes = kilobytes * 1024
        }
        result.openDescriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")).map { max(0, $0.count - 1) }
        var limit = rlimit()
        #if canImport(Glibc)
        let resource = __rlimit_resource_t(UInt32(RLIMIT_NOFILE.rawValue))
        #else
        let resource = RLIMIT_NOFILE
        #endif
        if getrlimit(resource, &limit) == 0 { result.maximumDescriptors = UInt64(limit.rlim_cur) }
        return result
    }

    /// Reads `/proc/self/stat`: the command name is in parentheses and may hold spaces, so fields are counted
    /// from the last `)`. Fields 14-15 are user and system time in ticks, 22 the start time in ticks after boot,
    /// 23 the virtual size in bytes, 24 the resident set in pages.
    package static func parse(stat: String, ticksPerSecond: Double, pageSize: UInt64, bootTime: Double) -> Sample? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        // After ")": field 3 (state) onwards.
        let fields = stat[stat.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        func field(_ number: Int) -> Double? { number - 3 < fields.count ? Double(fields[number - 3]) : nil }
        guard let user = field(14), let system = field(15), let start = field(22), let virtual = field(23), let resident = field(24),
            ticksPerSecond > 0
        else { return nil }
        return Sample(
            cpuSeconds: (user + system) / ticksPerSecond,
            residentBytes: UInt64(resident) * pageSize,
            virtualBytes: UInt64(virtual),
            startTimeSeconds: bootTime + start / ticksPerSecond
        )
    }

    /// Appends the exposition text of `sample`.
    package static func write(_ sample: Sample, into buffer: inout [UInt8]) {
        func metric(_ name: String, _ type: String, _ help: String, _ value: String) {
            buffer.append(contentsOf: "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n".utf8)
        }
        metric("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", "\(sample.cpuSeconds)")
        metric("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", "\(sample.residentBytes)")
        metric("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", "\(sample.virtualBytes)")
        metric("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", "\(sample.startTimeSeconds)")
        if let peak = sample.peakResidentBytes {
            metric("dateline_process_peak_resident_memory_bytes", "gauge", "The most resident memory the process has held, in bytes.", "\(peak)")
        }
        if let open = sample.openDescriptors {
            metric("process_open_fds", "gauge", "Number of open file descriptors.", "\(open)")
        }
        if let maximum = sample.maximumDescriptors {
            metric("process_max_fds", "gauge", "Maximum number of open file descriptors.", "\(maximum)")
        }
    }
}
