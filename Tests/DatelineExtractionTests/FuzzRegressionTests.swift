import DatelineExtraction
import DatelineProtocol
import Testing

/// Inputs the extraction fuzzer (Fuzz/, `scripts/fuzz.sh article-extraction`) found; reproducers in
/// Fuzz/Regressions/article-extraction/.
@Suite("Extraction fuzzer findings")
struct ExtractionFuzzRegressionTests {
    /// A word whose first three bytes cut a character in two (any word of Cyrillic, Greek or Arabic letters, two bytes
    /// each; "a€") trapped the topic look-up — dateline-ingest, which extracts every article a client sends, with it.
    @Test(arguments: ["Президент встретился с министром", "Ο πρωθυπουργός μίλησε", "قال الوزير", "a€ b€ x—y", "Straße süß"])
    func wordsOfMultiByteLettersAreRead(body: String) {
        let extraction = ArticleExtractor().extract(body: body, published: CivilDate(year: 2025, month: 8, day: 4))
        #expect(extraction.topics.isEmpty)
    }
}
