#!/usr/bin/env python3
"""Writes the seed corpora of the fuzzers into Fuzz/Corpus/<target>/ (run from anywhere; rewrites them whole).

Sources: protocol/vectors/frames.json (frames, payloads and malformed streams), samples/*.txt, the Reuters
fixture of the tests plus three small records of the Reuters-21578 corpus when it is at
$REUTERS_DIR (default /work/shared/corpora/reuters21578), and the snippets and queries below.
Seeds are small on purpose: libFuzzer grows its own corpus from them (in Fuzz/.build-fuzz/corpus/).
"""
import hashlib
import json
import os
import re
import shutil
import struct
import sys

FUZZ = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(FUZZ)
CORPUS = os.path.join(FUZZ, "Corpus")
PREFACE = bytes([0x89, 0x44, 0x54, 0x4C, 0x0D, 0x0A, 0x00, 0x01])

# The order of DatelineMessageType.known (Fuzz/Sources/FuzzSupport/Messages.swift checks the table against it):
# the payload fuzzer's first byte is an index into it.
KNOWN_TYPES = [
    0x0001, 0x0002, 0x0003, 0x0004, 0x0005, 0x0006, 0x0007, 0x0008, 0x0009,
    0x0100, 0x0101, 0x0102, 0x0103, 0x0104, 0x0105,
    0x0200, 0x0201, 0x0202, 0x0203, 0x0204, 0x0205, 0x0206, 0x0207, 0x0208, 0x0209, 0x020A, 0x020B,
]


def check_known_types():
    """Fails when DatelineMessageType.known has changed (the seeds would pick the wrong types)."""
    source = open(os.path.join(ROOT, "Sources/DatelineProtocol/Messages/DatelineMessageType.swift")).read()
    numbers = dict(re.findall(r"static let (\w+) = Self\(rawValue: (0x[0-9A-Fa-f]+)\)", source))
    known = re.search(r"static let known.*?\[(.*?)\]\n", source, re.S).group(1)
    order = [int(numbers[name], 16) for name in re.findall(r"\(\.(\w+), \"", known)]
    if order != KNOWN_TYPES:
        sys.exit(f"make-corpus.py: KNOWN_TYPES is out of date; DatelineMessageType.known is {[hex(t) for t in order]}")


def write(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as handle:
        handle.write(data)


def frame_parts(frame):
    """(header fields, compressed payload, declared size) of a frame's bytes."""
    length, flags, _, _ = struct.unpack(">IBHI", frame[:11])
    offset = 11
    declared = None
    if flags & 0x01:
        declared = struct.unpack(">I", frame[offset:offset + 4])[0]
        offset += 4
    if flags & 0x08:
        offset += 4
    if flags & 0x10:
        offset += 4
    return frame[offset:offset + length], declared


def protocol_seeds():
    vectors = json.load(open(os.path.join(ROOT, "protocol/vectors/frames.json")))
    frames = vectors["frames"]
    for vector in frames:
        frame = bytes.fromhex(vector["frameHex"])
        write("frame-decoder", "vector-" + vector["name"], PREFACE + frame)
        if not vector["compressed"]:
            index = KNOWN_TYPES.index(vector["messageType"])
            write("payload-decoder", "vector-" + vector["name"], bytes([index]) + bytes.fromhex(vector["payloadHex"]))
        else:
            payload, declared = frame_parts(frame)
            write("decompression", "vector-" + vector["name"], struct.pack(">IH", declared, len(payload)) + payload)
    # A whole conversation: several frames on one connection, compressed and not.
    chosen = ["hello", "ping", "ingest-request-compressed", "search-response", "error", "log-batch-compressed"]
    stream = PREFACE + b"".join(bytes.fromhex(v["frameHex"]) for v in frames if v["name"] in chosen)
    write("frame-decoder", "conversation", stream)
    # Two compressed payloads through one decompressor.
    records = b""
    for vector in frames:
        if vector["name"] in ("search-request-compressed", "ingest-request-compressed"):
            payload, declared = frame_parts(bytes.fromhex(vector["frameHex"]))
            records += struct.pack(">IH", declared, len(payload)) + payload
    write("decompression", "two-streams", records)
    for malformed in vectors["malformed"]:
        stream = bytes.fromhex(malformed["streamHex"])
        write("frame-decoder", "malformed-" + malformed["name"], stream)
        if len(stream) >= 8 + 15 and stream[8 + 4] & 0x01:  # a compressed frame: its zlib part for decompression
            payload, declared = frame_parts(stream[8:])
            write("decompression", "malformed-" + malformed["name"], struct.pack(">IH", declared, len(payload)) + payload)
    # Empty payloads of every type, and a field of every wire type on a message with none of them.
    for index, number in enumerate(KNOWN_TYPES):
        write("payload-decoder", f"empty-{number:04x}", bytes([index]))
    write("payload-decoder", "unknown-fields", bytes([2]) + bytes.fromhex("f8ff07 01 f9ff07 0102030405060708 fa ff07 03 616263 fdff07 01020304".replace(" ", "")))


ARTICLE_SNIPPETS = {
    "dateline-iso": "Reuters — 2025-08-04T10:30:00+05:00: Officials met.\n\nA second paragraph about trade and energy talks.\n",
    "dateline-words": "NEW DELHI - 4 August 2025 - India said on Monday that talks would resume next week with its neighbours.\n",
    "dateline-abbrev": "Geneva – Aug. 1, 2025: The talks resumed.\n",
    "header": "OpenVoiceNews\nTransparent. Unbiased. Yours.\nA Short Title\nMon, 04 Aug 2025 10:00:00 +0500\nCategories: General News, World\n\nWashington, D.C. – The body begins here and goes on for a while about diplomacy.\n",
    "epoch": "1754300000\nThe body follows the epoch-seconds date line and is long enough to be prose.\n",
    "crlf-bom": "\ufeffTitle line\r\n\r\nAugust 4, 2025\r\n\r\nBody text with a\u00a0non-breaking space and \u200b zero-width space.\r\n",
    "latin1": b"Caf\xe9 \xe0 Paris\n\nLe corps de l'article, en fran\xe7ais, assez long pour \xeatre de la prose.\n",
}

JSON_SNIPPETS = {
    "object": '{"title": "Rubio, Ishaq Dar Hold Talks", "body": "First paragraph.\\n\\nSecond paragraph.", "source": "OpenVoiceNews", '
              '"url": "https://example.org/a", "publishedAt": "2025-07-26T09:00:00+05:00", "language": "EN", '
              '"externalId": "ov-1", "tags": ["diplomacy", "trade"], "ignored": 42}',
    "array": '[{"body": "one"}, {"body": "two", "tags": "a, b"}, {"text": "three", "date": 1754300000, "id": 7}]',
    "aliases": '{"headline": "H", "content": "Body text.", "outlet": "O", "link": "http://x", "published_at": "August 4, 2025", "lang": "fr", "external_id": 12}',
    "millis": '{"body": "x", "date": 1754300000123, "tags": null, "title": null}',
    "bad-tags": '{"body": "x", "tags": [1]}',
    "rfc2822": '{"body": "x\\ny\\nz", "publishedAt": "Mon, 04 Aug 2025 10:00:00 +0500"}',
    "unicode": '{"body": "\\u00e9t\\u00e9 \\ud83d\\ude00 \\u2014 caf\\u00e9", "title": "\\u201cquoted\\u201d"}',
    "fraction": '{"body": "x", "publishedAt": "2025-08-04 10:00:00.5Z"}',
}

JSONL = (
    '{"body": "first", "id": 7}\n'
    '\n'
    '{"body": 12}\n'
    'not json\n'
    '{"title": "no body"}\n'
    '{"body": "last", "published_at": "August 4, 2025"}\n'
)

QUERIES = [
    "counterterrorism", '"rare earth"', "Rubio -telephone", "Rubio NOT telephone", "trade OR energy", "rubio AND dar",
    "terror*", "(trade OR energy) rubio", "Lashkar-e-Taiba", "\u201cclimate resilience\u201d", "U.S.", "co-operation",
    '"rare earth" Pakistan', "counterterror*", "rubio -telephone", "((a OR b) (c OR -d)) e*", "NOT NOT rubio",
    "-a -b c", "(()", '"  "', "t*", "trade)", "OR trade", "caf\u00e9 na\u00efve \u00dcber", "a AND (b OR (c AND NOT d))",
]


def article_seeds():
    for path in sorted(os.listdir(os.path.join(ROOT, "samples"))):
        if path.endswith(".txt"):
            write("article-plaintext", "sample-" + path, open(os.path.join(ROOT, "samples", path), "rb").read())
    for name, text in ARTICLE_SNIPPETS.items():
        write("article-plaintext", name, text)
    for name, text in JSON_SNIPPETS.items():
        write("article-json", name, text)
    write("article-jsonl", "mixed", JSONL)
    write("article-jsonl", "all-objects", "\n".join(JSON_SNIPPETS[name] for name in ("object", "aliases", "millis", "unicode")) + "\n")
    fixture = os.path.join(ROOT, "Tests/DatelineArticlesTests/Fixtures/reuters-sample.sgm")
    write("article-reuters", "tests-fixture.sgm", open(fixture, "rb").read())
    reuters = os.environ.get("REUTERS_DIR", "/work/shared/corpora/reuters21578")
    source = os.path.join(reuters, "reut2-000.sgm")
    if os.path.exists(source):
        records = re.findall(rb"<REUTERS.*?</REUTERS>", open(source, "rb").read(), re.S)
        by_id = {re.search(rb'NEWID="(\d+)"', record).group(1).decode(): record for record in records}
        header = b'<!DOCTYPE lewis SYSTEM "lewis.dtd">\n'
        # 992: a short normal item; 636 and 994: the smallest brief and unprocessed items of reut2-000.
        for newid in ("992", "636", "994", "5"):
            if newid in by_id:
                write("article-reuters", f"reut2-000-{newid}.sgm", header + by_id[newid] + b"\n")
    else:
        print(f"make-corpus.py: {source} not found; Reuters seeds are only the test fixture", file=sys.stderr)


EXTRACTION_SNIPPETS = {
    # The first byte: bit 0 = title and dateline lines first, bit 1 = a publication date.
    "meeting": b"\x03Rubio, Dar Hold Talks in Washington\nIslamabad\nUS Secretary of State Marco Rubio met Pakistan's Foreign "
               b"Minister Ishaq Dar in Washington on Friday, during Dar's official visit. \u201cWe are grateful,\u201d Rubio said. "
               b"The Foreign Office highlighted that the two sides agreed to resume trade talks next month.",
    "report": b"\x02Third-quarter net income jumped 97% to $2.8 million. In the year-earlier quarter, it earned $1.4 million, "
              b"up from $1 million a year ago. The talks are set to resume Monday; he will visit New Delhi in December.",
    "attack": b"\x02The April 22 attack in India's Jammu and Kashmir region, which killed 26 civilians, was claimed by TRF. "
              b"Mr Blair and Ms Hewitt met on Tuesday night, 2 1/2 years after the summit, according to officials.",
    "undated": b"\x00Senator Dar said: \u201cnothing\u201d \u201cunclosed (bracket Jean-Luc Brassard van der Merwe MP U.S. 1996-08-30",
}


def extraction_seeds():
    for path in sorted(os.listdir(os.path.join(ROOT, "samples"))):
        if path.endswith(".txt"):
            body = open(os.path.join(ROOT, "samples", path), "rb").read()
            write("article-extraction", "sample-" + path, b"\x02" + body)
    for name, data in EXTRACTION_SNIPPETS.items():
        write("article-extraction", name, data.decode("unicode_escape").encode("utf-8"))


def query_seeds():
    for query in QUERIES:
        write("query-parser", hashlib.sha1(query.encode()).hexdigest()[:12], query)


def main():
    check_known_types()
    if os.path.isdir(CORPUS):
        shutil.rmtree(CORPUS)
    protocol_seeds()
    article_seeds()
    extraction_seeds()
    query_seeds()
    total = 0
    for target in sorted(os.listdir(CORPUS)):
        files = os.listdir(os.path.join(CORPUS, target))
        size = sum(os.path.getsize(os.path.join(CORPUS, target, name)) for name in files)
        total += size
        print(f"{target}: {len(files)} seeds, {size} bytes")
    print(f"total: {total} bytes")


if __name__ == "__main__":
    main()
