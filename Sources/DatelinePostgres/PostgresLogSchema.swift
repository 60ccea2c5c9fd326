/// The log's tables and its append function, in one PostgreSQL schema.
///
/// - `log_head`: one row, the log's epoch and its end (one past the last offset). An append locks it (`FOR
///   UPDATE`) until it commits, so appends are serialised: each reads the end the previous one committed and
///   writes the offsets after it. The lock is released only after the commit is visible, so the order followers
///   see is the commit order, with no gaps — a sequence would not give that (ids are taken in one order and
///   committed in another, and a follower reading "offset > N" would skip a row that commits late).
/// - `articles`: one row per record, keyed by offset; unique constraints on the article id, the external id and
///   the content key make the database, not any one ingest node, the judge of what is a duplicate.
/// - `append(...)`: one call per batch (one round trip, one transaction): lock the head, decide per entry
///   (duplicate of a stored article, id taken, or new), insert the new ones at dense offsets, move the end,
///   notify listeners. The entries that share no key with an earlier entry of their batch (nearly all) are
///   judged and inserted by one set-based statement — index probes joined to the batch, one multi-row insert;
///   the few that do are judged after them one by one, each against everything stored before it, its own
///   batch's entries included. (Which of them comes first in the offsets may differ from the batch's order; the
///   judgement does not.)
struct PostgresLogSchema: Sendable {
    /// Bumped when the tables change shape; a log written by a newer version is refused.
    static let version = 1

    let name: String

    var head: String { "\(self.name).log_head" }
    var articles: String { "\(self.name).articles" }
    var appendFunction: String { "\(self.name).append" }
    /// The LISTEN/NOTIFY channel carrying the new end offset after each append.
    var channel: String { "dateline_log_\(self.name)" }

    /// Statements creating whatever is missing; run in one transaction under an advisory lock.
    var installStatements: [String] {
        [
            "CREATE SCHEMA IF NOT EXISTS \(self.name)",
            """
            CREATE TABLE IF NOT EXISTS \(self.head) (
                singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
                schema_version integer NOT NULL,
                epoch text NOT NULL,
                end_offset bigint NOT NULL CHECK (end_offset >= 0)
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS \(self.articles) (
                log_offset bigint PRIMARY KEY CHECK (log_offset >= 0),
                article_id text NOT NULL UNIQUE,
                external_id text UNIQUE,
                content_key text NOT NULL UNIQUE,
                payload bytea NOT NULL,
                stored_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE OR REPLACE FUNCTION \(self.appendFunction)(
                ids text[], externals text[], contents text[], payloads bytea[]
            ) RETURNS TABLE (entry integer, stored_offset bigint, duplicate_of text, duplicate_offset bigint)
            LANGUAGE plpgsql
            -- A batch is small and the table large: probe its indexes, never scan it (a generic plan would
            -- otherwise guess a thousand rows for the batch and might hash-join the whole table); and never JIT-
            -- compile (the guess makes the statement look costly enough, and compiling took 20 ms a call).
            SET enable_hashjoin = off SET enable_mergejoin = off SET jit = off
            AS $$
            DECLARE
                next_offset bigint;
                found_id text;
                found_offset bigint;
                repeated integer[];
                i integer;
            BEGIN
                SELECT h.end_offset INTO next_offset FROM \(self.head) h FOR UPDATE;
                -- The entries that share a key with an earlier entry of the batch.
                SELECT coalesce(array_agg(r.n ORDER BY r.n) FILTER (WHERE r.repeats), '{}') INTO repeated FROM (
                    SELECT u.n, (row_number() OVER (PARTITION BY u.id ORDER BY u.n) > 1
                                 OR row_number() OVER (PARTITION BY u.content ORDER BY u.n) > 1
                                 OR (u.external <> '' AND row_number() OVER (PARTITION BY u.external ORDER BY u.n) > 1)) AS repeats
                    FROM unnest(ids, externals, contents) WITH ORDINALITY AS u (id, external, content, n)
                ) r;
                -- The others at once: they cannot be each other's duplicates, only stored articles'.
                RETURN QUERY
                WITH batch AS (
                    -- One pass over the arrays (a subscript would copy the whole payload array per entry).
                    SELECT (u.n - 1)::integer AS entry, u.id, NULLIF(u.external, '') AS external, u.content, u.payload
                    FROM unnest(ids, externals, contents, payloads) WITH ORDINALITY AS u (id, external, content, payload, n)
                    WHERE u.n <> ALL (repeated)
                ), judged AS (
                    SELECT b.*, coalesce(e.article_id, c.article_id) AS dup_id, coalesce(e.log_offset, c.log_offset) AS dup_offset,
                           (e.article_id IS NULL AND c.article_id IS NULL AND t.article_id IS NULL) AS is_new
                    FROM batch b
                    LEFT JOIN \(self.articles) e ON e.external_id = b.external
                    LEFT JOIN \(self.articles) c ON c.content_key = b.content
                    LEFT JOIN \(self.articles) t ON t.article_id = b.id
                ), numbered AS (
                    SELECT j.*, CASE WHEN j.is_new THEN next_offset + count(*) FILTER (WHERE j.is_new) OVER (ORDER BY j.entry) - 1 END AS new_offset
                    FROM judged j
                ), inserted AS (
                    INSERT INTO \(self.articles) (log_offset, article_id, external_id, content_key, payload)
                    SELECT n.new_offset, n.id, n.external, n.content, n.payload FROM numbered n WHERE n.is_new
                    RETURNING log_offset
                )
                SELECT n.entry, n.new_offset, n.dup_id, n.dup_offset FROM numbered n;  -- "inserted" runs all the same
                SELECT coalesce(max(a.log_offset) + 1, next_offset) INTO next_offset FROM \(self.articles) a WHERE a.log_offset >= next_offset;
                -- The repeats one by one, each judged against everything stored before it, its batch's included.
                FOREACH i IN ARRAY repeated LOOP
                    found_id := NULL;
                    IF externals[i] <> '' THEN
                        SELECT a.article_id, a.log_offset INTO found_id, found_offset FROM \(self.articles) a WHERE a.external_id = externals[i];
                    END IF;
                    IF found_id IS NULL THEN
                        SELECT a.article_id, a.log_offset INTO found_id, found_offset FROM \(self.articles) a WHERE a.content_key = contents[i];
                    END IF;
                    entry := i - 1;
                    IF found_id IS NOT NULL THEN
                        stored_offset := NULL; duplicate_of := found_id; duplicate_offset := found_offset;
                    ELSIF EXISTS (SELECT 1 FROM \(self.articles) a WHERE a.article_id = ids[i]) THEN
                        stored_offset := NULL; duplicate_of := NULL; duplicate_offset := NULL;
                    ELSE
                        INSERT INTO \(self.articles) (log_offset, article_id, external_id, content_key, payload)
                            VALUES (next_offset, ids[i], NULLIF(externals[i], ''), contents[i], payloads[i]);
                        stored_offset := next_offset; duplicate_of := NULL; duplicate_offset := NULL;
                        next_offset := next_offset + 1;
                    END IF;
                    RETURN NEXT;
                END LOOP;
                UPDATE \(self.head) SET end_offset = next_offset;
                PERFORM pg_notify('\(self.channel)', next_offset::text);
                RETURN;
            END
            $$
            """,
        ]
    }
}
