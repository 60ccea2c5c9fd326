@testable import DatelineExtraction
import Testing

/// The fast paths for ASCII in reading capitals and title-casing them keep what the Unicode paths read.
@Suite struct CapitalsTests {
    @Test func allCapsReadsASCIIAndOtherLettersAlike() {
        func allCaps(_ text: String) -> Bool { TokenizedText(text).tokens.count == 1 && TokenizedText(text).tokens[0].isAllCaps }
        #expect(allCaps("TRF") && allCaps("U.S.") && allCaps("ÉLYSÉE") && allCaps("МОСКВА") && allCaps("G7"))
        #expect(!allCaps("Trf") && !allCaps("ÉLYSéE") && !allCaps("Москва") && !allCaps("1996") && !allCaps("--"))
    }

    @Test func titleCasingKeepsEveryScalarWhereItWas() {
        #expect(HeaderReading.titleCased("ISLAMABAD, PAKISTAN") == "Islamabad, Pakistan")
        #expect(HeaderReading.titleCased("O'BRIEN'S ÉLYSÉE VISIT") == "O'brien's Élysée Visit")
        #expect(HeaderReading.titleCased("MOSCOW\r\nКРЕМЛЬ") == "Moscow\r\nКремль")
        for text in ["ISLAMABAD, PAKISTAN", "O'BRIEN'S ÉLYSÉE VISIT", "MOSCOW\r\nКРЕМЛЬ", "E\u{301}TAT"] {
            #expect(HeaderReading.titleCased(text).unicodeScalars.count == text.unicodeScalars.count)
        }
    }

    @Test func topicPrefixesAreReadByTheirFirstThreeLettersOnly() {
        #expect(Lexicon.prefixSlot("economy") == Lexicon.prefixSlot("eco"))
        #expect(Lexicon.prefixSlot("ec") == nil && Lexicon.prefixSlot("économie") == nil && Lexicon.prefixSlot("Eco") == nil)
        #expect(Lexicon.prefixSlot("Пресса") == nil && Lexicon.prefixSlot("zzz") == 26 * 26 * 26 - 1)
    }
}
