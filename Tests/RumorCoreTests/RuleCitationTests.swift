import Foundation
import Testing

/// The numbered rules of the protocol docs and the specs that cite them: every rule has a spec, every spec
/// cites a rule that exists, and no id is defined twice.
@Suite("Rule citations: every numbered rule has a spec")
struct RuleCitationTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    /// Each doc and the letter of its rule ids.
    static let docs = [("docs/protocol.md", "L"), ("docs/membership.md", "M"), ("docs/broadcast.md", "B"), ("docs/sampling.md", "S")]
    static let specsDirectory = repository.appendingPathComponent("Tests/RumorCoreTests/RuleSpecs")

    /// A rule id: one capital letter and a number, as in "M4".
    static func isRuleID(_ text: Substring) -> Bool {
        guard let letter = text.first, letter.isUppercase, letter.isASCII, text.count > 1 else { return false }
        return text.dropFirst().allSatisfy(\.isASCII) && text.dropFirst().allSatisfy(\.isNumber)
    }

    /// The ids a doc defines, in order: lines `- **ID** …`.
    static func definedIDs(in text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).compactMap { line in
            guard line.hasPrefix("- **") else { return nil }
            let rest = line.dropFirst(4)
            guard let end = rest.range(of: "**") else { return nil }
            let id = rest[..<end.lowerBound]
            return isRuleID(id) ? String(id) : nil
        }
    }

    /// The ids cited by test names: `@Test("ID: …")`.
    static func citedIDs(in text: String) -> [String] {
        text.components(separatedBy: "@Test(\"").dropFirst().compactMap { tail in
            guard let colon = tail.firstIndex(of: ":") else { return nil }
            let id = tail[..<colon]
            return isRuleID(id) ? String(id) : nil
        }
    }

    static func read(_ url: URL) throws -> String { try String(contentsOf: url, encoding: .utf8) }

    /// Every definition, with the doc it is in.
    static func definitions() throws -> [(id: String, doc: String)] {
        try docs.flatMap { path, _ in
            try definedIDs(in: read(repository.appendingPathComponent(path))).map { ($0, path) }
        }
    }

    static func citations() throws -> Set<String> {
        let files = try FileManager.default.contentsOfDirectory(at: specsDirectory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "swift" }
        #expect(!files.isEmpty, "no spec files in \(specsDirectory.path)")
        return try Set(files.flatMap { try citedIDs(in: read($0)) })
    }

    @Test("every numbered rule is cited by a spec")
    func everyRuleCited() throws {
        let defined = try Self.definitions()
        #expect(defined.count >= 30, "the docs define \(defined.count) rules: has the `- **ID**` form changed?")
        let cited = try Self.citations()
        let uncited = defined.filter { !cited.contains($0.id) }
        #expect(uncited.isEmpty, "rules no spec cites: \(uncited.map { "\($0.id) (\($0.doc))" }.joined(separator: ", "))")
    }

    @Test("every cited rule is defined in a doc")
    func everyCitationDefined() throws {
        let defined = Set(try Self.definitions().map(\.id))
        let unknown = try Self.citations().subtracting(defined).sorted()
        #expect(unknown.isEmpty, "specs cite rules no doc defines: \(unknown.joined(separator: ", "))")
    }

    @Test("a rule id is defined once, in the doc its letter belongs to")
    func rulesDefinedOnce() throws {
        let definitions = try Self.definitions()
        let counts = Dictionary(definitions.map { ($0.id, 1) }, uniquingKeysWith: +)
        let repeated = counts.filter { $0.value > 1 }.keys.sorted()
        #expect(repeated.isEmpty, "rules defined more than once: \(repeated.joined(separator: ", "))")
        let letters = Dictionary(uniqueKeysWithValues: Self.docs)
        let misplaced = definitions.filter { !$0.id.hasPrefix(letters[$0.doc]!) }
        #expect(misplaced.isEmpty, "rules in the wrong doc: \(misplaced.map { "\($0.id) in \($0.doc)" }.joined(separator: ", "))")
    }

    @Test("the parsers find definitions and citations in their forms, and nothing else")
    func parsers() {
        let doc = "- **M4** a rule\n- **Not** a rule\n- plain\n  - **M5** nested is not a rule\n- **B12** another"
        #expect(Self.definedIDs(in: doc) == ["M4", "B12"])
        let source = #"@Test("L3: a spec") @Test("a plain test") @Test("B10: another")"#
        #expect(Self.citedIDs(in: source) == ["L3", "B10"])
    }
}
