#if canImport(FoundationEssentials)
package import FoundationEssentials
#else
package import Foundation
#endif

/// One packet read from a capture file, as the link layer delivered it.
package struct CapturedPacket: Sendable, Hashable {
    /// The packet's 1-based number in the file, as Wireshark numbers it.
    package var number: Int
    /// Where the packet's record starts in the file.
    package var fileOffset: Int
    /// When it was captured.
    package var timestamp: CaptureTimestamp
    /// The link-layer header type (`LINKTYPE_*`): 1 Ethernet, 113 Linux SLL, 276 SLL2, 101 raw IP, 0 BSD loopback.
    package var linkType: UInt32
    /// The bytes captured, from the link-layer header on; fewer than `originalLength` when the capture's snap
    /// length cut the packet short.
    package var data: [UInt8]
    /// The packet's length on the wire.
    package var originalLength: Int

    package init(number: Int, fileOffset: Int, timestamp: CaptureTimestamp, linkType: UInt32, data: [UInt8], originalLength: Int) {
        self.number = number
        self.fileOffset = fileOffset
        self.timestamp = timestamp
        self.linkType = linkType
        self.data = data
        self.originalLength = originalLength
    }
}

/// A capture timestamp: seconds since 1970 plus nanoseconds, as precise as the file recorded it.
package struct CaptureTimestamp: Sendable, Hashable, Comparable {
    package var seconds: Int64
    package var nanoseconds: UInt32

    package init(seconds: Int64, nanoseconds: UInt32) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// The instant as a `Date` (to about a microsecond).
    package var date: Date { Date(timeIntervalSince1970: Double(self.seconds) + Double(self.nanoseconds) / 1e9) }

    /// Seconds from `start` to this timestamp.
    package func seconds(since start: CaptureTimestamp) -> Double {
        Double(self.seconds - start.seconds) + (Double(self.nanoseconds) - Double(start.nanoseconds)) / 1e9
    }

    package static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
    }
}
