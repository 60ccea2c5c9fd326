import DatelinePostgres
import Testing

@Suite("PostgreSQL connection strings")
struct PostgresLogConfigurationTests {
    @Test func aURLWithSeveralHostsAndParameters() throws {
        let configuration = try PostgresLogConfiguration(
            connectionString: "postgres://ingest:s%40cret@db1:5433,db2,[::1]:6000/news?sslmode=require&schema=wire&connect_timeout=3"
        )
        #expect(configuration.endpoints == [.init(host: "db1", port: 5433), .init(host: "db2", port: 5432), .init(host: "::1", port: 6000)])
        #expect(configuration.username == "ingest")
        #expect(configuration.password == "s@cret")
        #expect(configuration.database == "news")
        #expect(configuration.tls == .require)
        #expect(configuration.schema == "wire")
        #expect(configuration.connectTimeout == .seconds(3))
        #expect(!configuration.redactedDescription.contains("s@cret"))
    }

    @Test func keyValuePairsLikeLibpq() throws {
        let configuration = try PostgresLogConfiguration(connectionString: "host=/var/run/postgresql,10.0.0.2 port=5432,5433 user=dateline dbname=dl")
        #expect(configuration.endpoints == [.init(host: "/var/run/postgresql", port: 5432), .init(host: "10.0.0.2", port: 5433)])
        #expect(configuration.endpoints[0].isUnixSocket)
        #expect(configuration.database == "dl")
        #expect(configuration.schema == "dateline")
        #expect(configuration.tls == .disable)
        // The database defaults to the user's name, as libpq's does.
        #expect(try PostgresLogConfiguration(connectionString: "postgresql://me@localhost").database == "me")
    }

    @Test(arguments: [
        ("postgres://db/x", "no user"),
        ("host=a,b port=1,2,3 user=u", "3 ports"),
        ("postgres://u@db:99999/x", "not a number from 1 to 65535"),
        ("postgres://u@db/x?sslmode=sometimes", "sslmode"),
        ("postgres://u@db/x?schema=Drop%20Table", "schema"),
        ("postgres://u@db/x?colour=blue", "unknown parameter \"colour\""),
        ("user=u nonsense", "not KEY=VALUE"),
        ("", "empty"),
        ("postgres://u@db/x?target_session_attrs=read-only", "primary"),
        ("postgres://u%zz@db/x", "percent"),
    ])
    func badStringsSayWhatIsWrong(_ text: String, _ expected: String) {
        let error = #expect(throws: PostgresLogConfigurationError.self) { _ = try PostgresLogConfiguration(connectionString: text) }
        #expect(error?.description.contains(expected) == true, "\(error?.description ?? "no error") should mention \(expected)")
    }
}
