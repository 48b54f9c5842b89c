import Testing
@testable import RumorCore

@Suite("Seed files and addresses")
struct SeedListTests {
    @Test("a seed file gives its addresses in order, without comments, blanks or repeats")
    func parsesSeeds() throws {
        let text = """
        # two local seeds
        127.0.0.1:7001
          127.0.0.2:7002   # the second

        [::1]:7003
        localhost:7004
        127.0.0.1:7001
        """
        let seeds = try SeedList.parse(text, file: "seeds.txt")
        #expect(seeds.map(\.description) == ["127.0.0.1:7001", "127.0.0.2:7002", "[::1]:7003", "127.0.0.1:7004"])
    }

    @Test("a bad line names the file, the line and the problem",
          arguments: [("127.0.0.1", "HOST:PORT"), ("127.0.0.1:0", "port"), ("127.0.0.1:99999", "port"),
                      (":7000", "a host"), ("::1:7000", "brackets")])
    func badLine(line: String, mentions: String) {
        do {
            _ = try SeedList.parse("# header\n\(line)\n", file: "bootstrap/bad.txt")
            Issue.record("'\(line)' was accepted")
        } catch {
            #expect(error.file == "bootstrap/bad.txt")
            #expect(error.line == 2)
            #expect(error.description.contains(mentions), "\(error.description)")
        }
    }
}
