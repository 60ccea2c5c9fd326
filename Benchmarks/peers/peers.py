#!/usr/bin/env python3
"""Dateline's peers on the same articles and queries: SQLite FTS5 and Tantivy, in process.

Reads what the Swift benchmark wrote to Benchmarks/.build/peers/ (articles.jsonl: the Reuters-21578 articles as
Dateline parsed them; input.json: the queries, Dateline's top 10 for each and Dateline's figures from the same
run) and prints a Markdown section with each peer's figures and Dateline's ratio to it.

Usage: python3 Benchmarks/peers/peers.py [--quick]
"""
import json, os, re, shutil, socket, sqlite3, statistics, subprocess, sys, tempfile, time

here = os.path.dirname(os.path.abspath(__file__))
data = os.path.join(here, "..", ".build", "peers")
quick = "--quick" in sys.argv
runs = 1 if quick else 3

only_shapes = "--shapes" in sys.argv  # the per-shape section alone (after `DatelineBenchmarks --shapes`)
if only_shapes:
    articles, queries, dateline = [], [], {}
else:
    articles = [json.loads(line) for line in open(os.path.join(data, "articles.jsonl"), encoding="utf-8")]
    source = json.load(open(os.path.join(data, "input.json"), encoding="utf-8"))
    queries = source["queries"]
    dateline = source["dateline"]


def words(text):
    return re.findall(r'"[^"]*"|\S+', text)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def median_run(function):
    """Runs `function` `runs` times; returns (median, min, max) of what it returns."""
    results = [function() for _ in range(runs)]
    return statistics.median(results), min(results), max(results)


# ---------------------------------------------------------------- SQLite FTS5
def fts5_query(text):
    out = []
    for word in words(text):
        if word == "OR":
            out.append("OR")
        elif word.startswith('"'):
            out.append(word)
        else:
            out.append('"' + word.replace('"', "") + '"')
    return " ".join(out)


def sqlite_ingest(path):
    if os.path.exists(path):
        os.remove(path)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, title, body, date UNINDEXED, tokenize='porter unicode61')")
    start = time.perf_counter()
    with db:
        db.executemany("INSERT INTO docs(id, title, body, date) VALUES (?, ?, ?, ?)",
                       ((a["id"], a["title"], a["body"], a.get("date")) for a in articles))
    elapsed = time.perf_counter() - start
    db.close()
    return len(articles) / elapsed


def sqlite_queries(path):
    db = sqlite3.connect(path)
    latencies, tops = [], []
    for q in queries:
        sql = ("SELECT id, title, snippet(docs, 2, '[[', ']]', '…', 16) FROM docs WHERE docs MATCH ?"
               + (" AND date >= ?" if q.get("from") is not None else "") + " ORDER BY bm25(docs, 0, 2.0, 1.0) LIMIT 10")
        args = [fts5_query(q["query"])] + ([int(q["from"])] if q.get("from") is not None else [])
        begin = time.perf_counter()
        rows = db.execute(sql, args).fetchall()
        latencies.append(time.perf_counter() - begin)
        tops.append([row[0] for row in rows])
    db.close()
    return latencies, tops


# ---------------------------------------------------------------- Tantivy
def tantivy_query_text(text):
    out, pending_or = [], False
    parts = words(text)
    has_or = "OR" in parts
    for word in parts:
        if word == "OR":
            continue
        out.append(word if has_or else "+" + word)
    return " ".join(out)


def tantivy_ingest(directory, articles=None):
    articles = globals()["articles"] if articles is None else articles
    import tantivy
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("title", stored=True, tokenizer_name="en_stem")
    builder.add_text_field("body", stored=True, tokenizer_name="en_stem")
    builder.add_integer_field("date", stored=True, indexed=True, fast=True)
    schema = builder.build()
    index = tantivy.Index(schema, path=directory)
    start = time.perf_counter()
    writer = index.writer(heap_size=256_000_000, num_threads=1)
    for a in articles:
        writer.add_document(tantivy.Document(id=a["id"], title=a["title"], body=a["body"], date=a.get("date", 0)))
    writer.commit()
    writer.wait_merging_threads()
    elapsed = time.perf_counter() - start
    return len(articles) / elapsed, index, schema


def tantivy_search(index, searcher, schema, q):
    """One top-10 search as Dateline answers it: parse, match (within the date range when there is one), fetch the
    stored documents and build a snippet for each hit. Returns the hits' ids and the match count."""
    import tantivy
    query = index.parse_query(tantivy_query_text(q["query"]), ["title", "body"], field_boosts={"title": 2.0})
    if q.get("from") is not None or q.get("to") is not None:
        low = int(q["from"]) if q.get("from") is not None else -2**62
        high = int(q["to"]) if q.get("to") is not None else 2**62
        date_query = tantivy.Query.range_query(schema, "date", tantivy.FieldType.Integer, low, high)
        query = tantivy.Query.boolean_query([(tantivy.Occur.Must, query), (tantivy.Occur.Must, date_query)])
    result = searcher.search(query, 10, count=True)
    snippets = tantivy.SnippetGenerator.create(searcher, query, schema, "body")
    top = []
    for _, address in result.hits:
        document = searcher.doc(address)
        snippets.snippet_from_doc(document).to_html()
        top.append(document["id"][0])
    return top, result.count


def tantivy_queries(index, schema, queries=queries, rounds=1):
    """Each query's time (the median of `rounds`) and its top 10."""
    index.reload()
    searcher = index.searcher()
    latencies, tops = [], []
    for q in queries:
        times = []
        for _ in range(rounds):
            begin = time.perf_counter()
            top, _ = tantivy_search(index, searcher, schema, q)
            times.append(time.perf_counter() - begin)
        latencies.append(statistics.median(times))
        tops.append(top)
    return latencies, tops


def overlap(a, b):
    scores = [len(set(x) & set(y)) / max(1, min(10, max(len(x), len(y)))) for x, y in zip(a, b) if x or y]
    return statistics.mean(scores) if scores else 0.0


def us(seconds):
    return f"{seconds * 1e6:,.0f} µs"


def ratio(value):
    return f"{value:.2f}×"


def main_section():
    with tempfile.TemporaryDirectory() as scratch:
        sqlite_path = os.path.join(scratch, "fts5.db")
        fts_rate = median_run(lambda: sqlite_ingest(sqlite_path))
        fts_latencies, fts_tops = sqlite_queries(sqlite_path)
        try:
            def one_tantivy():
                directory = tempfile.mkdtemp(dir=scratch)
                return tantivy_ingest(directory)
            tantivy_runs = [one_tantivy() for _ in range(runs)]
            tantivy_rates = [r[0] for r in tantivy_runs]
            tantivy_rate = (statistics.median(tantivy_rates), min(tantivy_rates), max(tantivy_rates))
            tantivy_latencies, tantivy_tops = tantivy_queries(tantivy_runs[-1][1], tantivy_runs[-1][2])
            have_tantivy = True
        except ImportError:
            have_tantivy = False

    dateline_tops = [q["datelineTop10"] for q in queries]
    d = dateline
    print(f"### Peers on the same {len(articles):,} articles and {len(queries)} queries (in process, one thread each; median of {runs} runs, min–max)\n")
    print("| what | Dateline | SQLite FTS5 | Tantivy | Dateline ÷ FTS5 | Dateline ÷ Tantivy |")
    print("|---|---|---|---|---|---|")
    t_rate = f"{tantivy_rate[0]:,.0f}/s ({tantivy_rate[1]:,.0f}–{tantivy_rate[2]:,.0f})" if have_tantivy else "not installed"
    print(f"| index the corpus, durable (articles/s): Dateline end to end through the protocol, extraction off; peers in process | "
          f"{d['ingestSearchableExtractionOff']:,.0f}/s | {fts_rate[0]:,.0f}/s ({fts_rate[1]:,.0f}–{fts_rate[2]:,.0f}) | {t_rate} | "
          f"{ratio(d['ingestSearchableExtractionOff'] / fts_rate[0])} | {ratio(d['ingestSearchableExtractionOff'] / tantivy_rate[0]) if have_tantivy else ''} |")
    print(f"| ... Dateline with extraction on | {d['ingestSearchableExtractionOn']:,.0f}/s | | | "
          f"{ratio(d['ingestSearchableExtractionOn'] / fts_rate[0])} | {ratio(d['ingestSearchableExtractionOn'] / tantivy_rate[0]) if have_tantivy else ''} |")
    for label, p in [("p50", 0.5), ("p95", 0.95), ("p99", 0.99)]:
        fts = percentile(fts_latencies, p)
        tan = percentile(tantivy_latencies, p) if have_tantivy else None
        key = {"p50": "queryP50", "p95": "queryP95", "p99": "queryP99"}[label]
        print(f"| top 10 with snippets, {label} (Dateline over loopback) | {us(d[key])} | {us(fts)} | {us(tan) if tan else ''} | "
              f"{ratio(fts / d[key])} faster | {ratio(tan / d[key]) + ' faster' if tan else ''} |")
    fts50 = percentile(fts_latencies, 0.5)
    tan50 = percentile(tantivy_latencies, 0.5) if have_tantivy else None
    print(f"| top 10 with snippets, p50, Dateline in process | {us(d['queryInProcessP50'])} | {us(fts50)} | {us(tan50) if tan50 else ''} | "
          f"{ratio(fts50 / d['queryInProcessP50'])} faster | {ratio(tan50 / d['queryInProcessP50']) + ' faster' if tan50 else ''} |")
    print()
    if have_tantivy:
        print(f"Ranking sanity: the top 10 overlap with Tantivy's is {overlap(dateline_tops, tantivy_tops) * 100:.0f}% for Dateline and "
              f"{overlap(fts_tops, tantivy_tops) * 100:.0f}% for SQLite FTS5 (both BM25; analyzers and phrase handling differ).")
    print("(\"× faster\" > 1 means Dateline is faster. Dateline's query figures include the protocol round trip over loopback; "
          "the peers run in process, so the in-process row is the like-for-like one.)\n")




# ---------------------------------------------------------------- Query cost per shape
def shapes_section():
    """Tantivy on the corpora and queries ShapeBenchmark.swift wrote (shapes.json), beside Dateline's figures."""
    path = os.path.join(data, "shapes.json")
    if not os.path.exists(path):
        return "Query shapes: skipped (the Swift benchmark did not write shapes.json).\n"
    try:
        import tantivy  # noqa: F401
    except ImportError:
        return "Query shapes: skipped (Python's tantivy is not installed).\n"
    corpora = json.load(open(path, encoding="utf-8"))["corpora"]
    rounds = int(os.environ.get("DATELINE_SHAPES_ROUNDS", 3 if quick else 5))  # more for profiling, as the Swift side
    lines = [f"### Query cost per shape: Dateline against Tantivy (top 10 with snippets; each query timed {rounds} times, its median kept; "
             "p50 and p99 over a shape's queries)\n",
             "| corpus | query set | shape | queries | Dateline in process p50 / p99 | Dateline over loopback p50 | Tantivy p50 / p99 | "
             "Dateline ÷ Tantivy, p50 time (target ≤ 0.80) |",
             "|---|---|---|---|---|---|---|---|"]
    notes = []
    disk_lines = ["### Index on disk: the same articles (Dateline's segments after its merges; Tantivy's after its merging threads)\n",
                  "| corpus | raw title + body text | Dateline full-text index (dictionary, postings, positions, lengths and columns, keys) | "
                  "its entity and filter annex | Tantivy's without `.store` | full-text ratio (target ≤ 1.0) | with the annex | "
                  "Dateline stored articles ÷ raw text (target ≤ 0.6) | Tantivy's `.store` ÷ raw text |",
                  "|---|---|---|---|---|---|---|---|---|"]
    for corpus in corpora:
        corpus_articles = [json.loads(line) for line in open(os.path.join(data, corpus["articles"]), encoding="utf-8")]
        with tempfile.TemporaryDirectory() as scratch:
            _, index, schema = tantivy_ingest(scratch, corpus_articles)
            del corpus_articles
            theirs = {}
            their_segments = set()
            for root, _, files in os.walk(scratch):
                for name in files:
                    kind = "store" if name.endswith(".store") else "index"
                    theirs[kind] = theirs.get(kind, 0) + os.path.getsize(os.path.join(root, name))
                    segment, _, extension = name.partition(".")
                    if extension in ("idx", "pos", "term", "store", "fast", "fieldnorm", "del"):
                        their_segments.add(segment)  # a segment's files: <segment id>.<kind>
            ours = corpus.get("indexBytes", {})
            if ours:
                raw = corpus["rawTextBytes"]
                annex = ours.get("annx", 0)
                full_text = sum(size for kind, size in ours.items() if kind not in ("stor", "annx"))
                tantivy_index = max(1, theirs.get("index", 0))
                def segment_count(n): return f"{n} segment" + ("" if n == 1 else "s")
                segments = f" ({segment_count(corpus['segments'])})" if "segments" in corpus else ""
                disk_lines.append(f"| {corpus['name']} | {raw / 1e6:.1f} MB | {full_text / 1e6:.1f} MB{segments} | {annex / 1e6:.1f} MB | "
                                  f"{tantivy_index / 1e6:.1f} MB ({segment_count(len(their_segments))}) | **{ratio(full_text / tantivy_index)}** | {ratio((full_text + annex) / tantivy_index)} | "
                                  f"**{ours.get('stor', 0) / raw:.2f}** | {theirs.get('store', 0) / raw:.2f} |")
            entries = corpus["queries"]
            latencies, tops = tantivy_queries(index, schema, entries, rounds)
            index.reload()
            searcher = index.searcher()
            counts = [tantivy_search(index, searcher, schema, q)[1] for q in entries]
        if os.environ.get("DATELINE_SHAPES_DUMP"):  # for profiling: each query's two times, side by side
            with open(os.environ["DATELINE_SHAPES_DUMP"], "w", encoding="utf-8") as dump:
                json.dump([dict(entry, tantivy=latency, tantivyTotal=count) for entry, latency, count in zip(entries, latencies, counts)], dump)
        groups = {}
        for entry, latency in zip(entries, latencies):
            groups.setdefault((entry["set"], entry["shape"]), []).append((entry, latency))
        for (set_name, shape), members in groups.items():
            ours = [m[0]["inProcess"] for m in members]
            loop = [m[0]["loopback"] for m in members]
            theirs = [m[1] for m in members]
            ratio_p50 = percentile(ours, 0.5) / percentile(theirs, 0.5)
            lines.append(f"| {corpus['name']} ({corpus['indexed']:,} indexed) | {set_name} | {shape} | {len(members)} | "
                         f"{us(percentile(ours, 0.5))} / {us(percentile(ours, 0.99))} | {us(percentile(loop, 0.5))} | "
                         f"{us(percentile(theirs, 0.5))} / {us(percentile(theirs, 0.99))} | **{ratio(ratio_p50)}** |")
        same = sum(1 for entry, count in zip(entries, counts) if entry["total"] == count)
        notes.append(f"{corpus['name']}: top-10 overlap with Tantivy {overlap([e['top10'] for e in entries], tops) * 100:.0f}%, "
                     f"same match count for {same} of {len(entries)} queries")
    lines.append("")
    lines.append("Ranking sanity — " + "; ".join(notes) + " (analyzers and phrase handling differ; Dateline drops "
                 "the corpus's duplicate texts, Tantivy indexes every article).")
    lines.append("(Both in process, one thread; Dateline's in-process figure is `QueryService.search`, which parses, ranks, "
                 "reads the stored articles and builds the snippets; Tantivy's parses, searches with a match count, fetches "
                 "the stored documents and runs its snippet generator on each hit.)\n")
    if len(disk_lines) > 3:
        lines.extend(disk_lines)
        lines.append("(Tantivy's schema here: id (raw, stored), title and body (stemmed, positions, stored), date (indexed, fast): "
                     "its every file but `.store`. Dateline's full-text index is the same ground: term dictionary, postings, "
                     "positions, field lengths and the date and log-offset columns, the id and external-id keys, the manifest; its "
                     "annex holds what Tantivy's schema has no counterpart of (per-article entity records and the source, tag, "
                     "language, topic and entity filter postings). Its stored articles carry id, source, title, body and dates.)\n")
    return "\n".join(lines)


if not only_shapes:
    main_section()
if "--no-shapes" not in sys.argv:  # scripts/bench.sh runs the shapes apart, right after Dateline's (see there)
    print(shapes_section())
if only_shapes:
    sys.exit(0)


# ---------------------------------------------------------------- Redis PING
def redis_section():
    path = os.path.join(data, "roundtrips.json")
    if not os.path.exists(path):
        return "Redis: skipped (run the round-trip benchmark first: it writes roundtrips.json).\n"
    if not shutil.which("redis-server") or not shutil.which("redis-benchmark"):
        return "Redis: skipped (redis-server / redis-benchmark not installed; Debian: apt-get install redis-server).\n"
    figures = json.load(open(path))
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        def rate(pipeline, requests):
            values = []
            for _ in range(runs):
                out = subprocess.run(["redis-benchmark", "-p", str(port), "-t", "ping_mbulk", "-c", "1", "-n", str(requests), "-P", str(pipeline), "--csv"],
                                     capture_output=True, text=True, check=True).stdout
                line = [l for l in out.splitlines() if "PING" in l][-1]
                values.append(float(line.split(",")[1].strip('"')))
            return statistics.median(values), min(values), max(values)
        sequential = rate(1, 20000 if quick else 100000)
        pipelined = rate(64, 200000 if quick else 1000000)
    finally:
        server.terminate()
        server.wait()
    lines = ["### Ping round trips: Dateline against Redis on the same machine (one connection; median of %d runs)\n" % runs,
             "| shape | Redis PING /s | Dateline ping /s | NIO echo /s | Dateline ÷ Redis |", "|---|---|---|---|---|"]
    lines.append(f"| 1 at a time | {sequential[0]:,.0f} ({sequential[1]:,.0f}–{sequential[2]:,.0f}) | {figures['pingSequential']:,.0f} | {figures['echoSequential']:,.0f} | {figures['pingSequential'] / sequential[0]:.2f}× |")
    lines.append(f"| 64 in flight (Redis: pipelined) | {pipelined[0]:,.0f} ({pipelined[1]:,.0f}–{pipelined[2]:,.0f}) | {figures['pingPipelined']:,.0f} | {figures['echoPipelined']:,.0f} | {figures['pingPipelined'] / pipelined[0]:.2f}× |")
    lines.append("\n(Redis: redis-benchmark's own C client, PING_MBULK. Dateline: its Swift client library; both single-threaded servers on loopback.)\n")
    return "\n".join(lines)


print(redis_section())
