import DatelineSearch
import Foundation
import Testing

@Suite("Porter2 stemmer")
struct PorterStemmerTests {
    static let vocabulary = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/corpora/snowball-english")

    @Test(arguments: [
        ("consign", "consign"), ("consigned", "consign"), ("consigning", "consign"), ("consignment", "consign"),
        ("consist", "consist"), ("consisted", "consist"), ("consistency", "consist"), ("consistent", "consist"),
        ("knack", "knack"), ("knackeries", "knackeri"), ("knaves", "knave"), ("knavish", "knavish"),
        ("generously", "generous"), ("generate", "generat"), ("university", "universiti"), ("counterterrorism", "counterterror"),
        ("dying", "die"), ("skies", "sky"), ("inning", "inning"), ("cries", "cri"), ("ties", "tie"), ("gas", "gas"), ("gaps", "gap"),
        ("hopping", "hop"), ("hoped", "hope"), ("meetings", "meet"), ("ministers", "minist"), ("talks", "talk"),
        ("a", "a"), ("is", "is"), ("by", "by"), ("say", "say"), ("cry", "cri"),
    ])
    func stemsKnownWords(word: String, stem: String) {
        #expect(PorterStemmer.stem(word) == stem)
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: PorterStemmerTests.vocabulary.path)))
    func stemsEveryWordOfTheSnowballVocabulary() throws {
        let words = try String(contentsOf: Self.vocabulary.appendingPathComponent("voc.txt"), encoding: .utf8).split(separator: "\n")
        let stems = try String(contentsOf: Self.vocabulary.appendingPathComponent("output.txt"), encoding: .utf8).split(separator: "\n")
        #expect(words.count == stems.count)
        #expect(words.count > 40_000)
        var failures: [String] = []
        for (word, expected) in zip(words, stems) {
            let actual = PorterStemmer.stem(String(word))
            if actual != expected { failures.append("\(word) → \(actual), expected \(expected)") }
            // Snippets stem only words starting as a wanted term does: a stem keeps the word's first letter.
            if !word.hasPrefix("'"), actual.first != word.first { failures.append("\(word) → \(actual) changes the first letter") }
            // ... and a stem of two letters or more its first two, or turns a second "y" into "i" (dying → die).
            if !word.hasPrefix("'"), actual.count >= 2, actual.prefix(2) != word.prefix(2), actual.prefix(2) != word.prefix(1) + "i" || word.dropFirst().first != "y" {
                failures.append("\(word) → \(actual) changes the second letter")
            }
            // ... and shares all but at most its last two letters with the word: snippets stem only words starting
            // as a wanted term does without its last two.
            if !word.hasPrefix("'"), !word.hasPrefix(actual.dropLast(2)) { failures.append("\(word) → \(actual) changes more than its last two letters") }
        }
        #expect(failures.isEmpty, "\(failures.count) words differ, e.g. \(failures.prefix(20).joined(separator: "; "))")
    }
}
