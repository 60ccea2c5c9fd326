/// Sizes as the command lines write them: `4096`, `64K`, `4M`, `1G` (powers of 1024, case-insensitive).
package enum ByteSize {
    /// The number of bytes `text` names; nil when it names none or the number does not fit an `Int`.
    package static func parse(_ text: String) -> Int? {
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        let upper = text.uppercased()
        if let last = upper.last, let unit = units[last] {
            return Int(upper.dropLast()).flatMap { $0.multipliedReportingOverflow(by: unit).overflow ? nil : $0 * unit }
        }
        return Int(upper)
    }
}
