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

/// The tagger's feature table: eight-byte slots keyed by a fingerprint, which must still give every feature of
/// the model its own row.
@Suite struct FeatureTableTests {
    @Test func everyKeyFindsItsOwnRowEvenWhenFingerprintsMeet() {
        let fingerprint: UInt64 = 0xABCD_0123 << 32
        // Same fingerprint, same slot at 16 slots (the same low four bits): the table is rebuilt larger.
        let meetOnce: [UInt64: Int32] = [fingerprint | 1: 0, fingerprint | 17: 9]
        let table = NamedEntityModel.FeatureTable(meetOnce)
        #expect(table.exact == nil && table.slots.count > 16)
        for (key, row) in meetOnce { #expect(table.find(key) == row) }
        // Same low ten bits too: no table of up to 64 slots tells them apart, so the exact map answers.
        let meetAlways: [UInt64: Int32] = [fingerprint | 1: 0, fingerprint | 1025: 9, 7: 18]
        let exact = NamedEntityModel.FeatureTable(meetAlways)
        #expect(exact.exact != nil)
        for (key, row) in meetAlways { #expect(exact.find(key) == row) }
        #expect(exact.find(8) == nil && table.find(8) == nil && table.find(fingerprint | 2) == nil)
    }

    @Test func theShippedModelsTableFindsEveryFeature() throws {
        let model = try #require(NamedEntityModel.shared)
        #expect(model.table.exact == nil, "the shipped model fits the fingerprinted table")
        for (key, row) in model.rows where key != 0 { #expect(model.table.find(key) == row) }
    }
}
