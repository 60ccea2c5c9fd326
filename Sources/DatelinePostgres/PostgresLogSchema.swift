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
///   notify listeners.
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
            LANGUAGE plpgsql AS $$
            DECLARE
                next_offset bigint;
                found_id text;
                found_offset bigint;
            BEGIN
                SELECT h.end_offset INTO next_offset FROM \(self.head) h FOR UPDATE;
                FOR i IN 1 .. coalesce(array_length(ids, 1), 0) LOOP
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
