/// How the named-entity tagger labels the words of a name. Whatever the scheme, `NamedEntityModel.tag` returns
/// IOB2 label ids (`NamedEntityModel.labels`), the form CoNLL-2003 is written in and `spans` reads.
public enum NamedEntityTagScheme: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Begin, inside, outside: nine labels ("B-PER", "I-PER", …, "O").
    case iob2 = 0
    /// Begin, inside, last, outside, unit: seventeen labels. A name's last word and a one-word name have labels of
    /// their own, so the tagger learns how names end as well as how they begin (Ratinov & Roth 2009 found it
    /// better than IOB2 on CoNLL-2003; here the tagger alone gains 0.1–0.2 F1 on the valid split and the whole
    /// extractor none, for a model twice as wide, so IOB2 stays the default).
    case bilou = 1

    public var description: String {
        switch self {
        case .iob2: "iob2"
        case .bilou: "bilou"
        }
    }

    /// The entity types, in the order of `NamedEntityModel.labels`.
    static let types = ["PER", "LOC", "ORG", "MISC"]

    /// Labels per entity type: B, I (IOB2) or B, I, L, U (BILOU).
    var partsPerType: Int { self == .iob2 ? 2 : 4 }

    /// How many labels the model scores: "O" and the parts of each type.
    var labelCount: Int { 1 + Self.types.count * self.partsPerType }

    /// The labels' names, by id: 0 is "O", then each type's parts ("B-PER", "I-PER", "L-PER", "U-PER", "B-LOC", …).
    var labelNames: [String] {
        let parts = self == .iob2 ? ["B", "I"] : ["B", "I", "L", "U"]
        return ["O"] + Self.types.flatMap { type in parts.map { "\($0)-\(type)" } }
    }

    /// The FNV-1a hashes of `labelNames`, which the features combine with (for IOB2 the hashes every model before
    /// BILOU was trained with).
    var labelHashes: [UInt64] {
        switch self {
        case .iob2: Self.iob2Hashes
        case .bilou: Self.bilouHashes
        }
    }

    private static let iob2Hashes = NamedEntityTagScheme.iob2.labelNames.map(NamedEntityModel.SentenceView.hash)
    private static let bilouHashes = NamedEntityTagScheme.bilou.labelNames.map(NamedEntityModel.SentenceView.hash)

    /// A label's type (0 PER … 3 MISC) and part (0 B, 1 I, 2 L, 3 U); nil for "O".
    @inline(__always)
    func split(_ label: Int) -> (type: Int, part: Int)? {
        guard label > 0 else { return nil }
        return ((label - 1) / self.partsPerType, (label - 1) % self.partsPerType)
    }

    @inline(__always)
    func label(type: Int, part: Int) -> Int { 1 + type * self.partsPerType + part }

    /// Whether `label` may follow `previous` (the label of the word before; 0 at a sentence's start), `isLast` saying
    /// whether it is the sentence's last word. IOB2: I-X only after B-X or I-X. BILOU: after B-X or I-X only I-X or
    /// L-X (and only L-X on the last word); elsewhere O, B-Y or U-Y (B-Y not on the last word).
    @inline(__always)
    func allows(_ label: Int, after previous: Int, isLast: Bool) -> Bool {
        switch self {
        case .iob2:
            guard let (type, part) = self.split(label), part == 1 else { return true }
            return previous == self.label(type: type, part: 0) || previous == label
        case .bilou:
            let open = self.split(previous).flatMap { $0.part < 2 ? $0.type : nil }
            guard let (type, part) = self.split(label) else { return open == nil }
            if let open { return type == open && (part == 2 || (part == 1 && !isLast)) }
            return part == 3 || (part == 0 && !isLast)
        }
    }

    /// This scheme's labels for a sentence labelled in IOB2 (an I-X that does not continue an X, as IOB1 writes a
    /// name's first word, begins a name).
    func labels(fromIOB2 iob2: [Int]) -> [Int] {
        guard self == .bilou else { return iob2 }
        let scheme = NamedEntityTagScheme.iob2
        return iob2.indices.map { i in
            guard let (type, part) = scheme.split(iob2[i]) else { return 0 }
            let begins = part == 0 || i == 0 || scheme.split(iob2[i - 1])?.type != type
            let continues = i + 1 < iob2.count && iob2[i + 1] == scheme.label(type: type, part: 1)
            return self.label(type: type, part: begins ? (continues ? 0 : 3) : (continues ? 1 : 2))
        }
    }

    /// IOB2 labels for a sentence labelled in this scheme: B and U begin a name, I and L continue the name before
    /// them of the same type (and begin one when there is none).
    func iob2Labels(_ labels: [Int]) -> [Int] {
        guard self == .bilou else { return labels }
        let iob2 = NamedEntityTagScheme.iob2
        var out: [Int] = []
        out.reserveCapacity(labels.count)
        var open: Int?
        for label in labels {
            guard let (type, part) = self.split(label) else {
                out.append(0)
                open = nil
                continue
            }
            let continues = (part == 1 || part == 2) && open == type
            out.append(iob2.label(type: type, part: continues ? 1 : 0))
            open = part < 2 ? type : nil
        }
        return out
    }
}
