import Testing
@testable import RumorSecurity

@Suite("Keyrings")
struct KeyringTests {
    @Test("a keyring file keeps its keys in order, skipping blank lines and comments, with either line ending")
    func parsesFile() throws {
        let file = """
            # cluster keys, newest first
            \(TestKeys.b.text)

              \(TestKeys.a.text)   # the old key, drop after the rotation\r
            #\(TestKeys.c.text)
            \t
            """
        let keyring = try Keyring(parsing: file)
        #expect(keyring.keys == [TestKeys.b, TestKeys.a])
        #expect(keyring.primary == TestKeys.b)
    }

    @Test("a bad line is refused with its line number and what was wrong")
    func badLineNumber() {
        let file = "# keys\n\(TestKeys.a.text)\n0123456789ab\n"
        let error = #expect(throws: KeyringError.self) { try Keyring(parsing: file) }
        #expect(error == .invalidLine(line: 3, .wrongLength(found: 12)))
        #expect(error?.description == "keyring line 3: expected 64 hex characters, found 12")
    }

    @Test("a line numbers its errors the same after Windows line endings")
    func badLineAfterCRLF() {
        let file = "\(TestKeys.a.text)\r\n\r\n\(TestKeys.b.text.dropLast())z\r\n"
        #expect(throws: KeyringError.invalidLine(line: 3, .notHex(position: 64, character: "z"))) { try Keyring(parsing: file) }
    }

    @Test("a keyring with no key is refused, as file or as list")
    func emptyKeyring() {
        #expect(throws: KeyringError.empty) { try Keyring(parsing: "") }
        #expect(throws: KeyringError.empty) { try Keyring(parsing: "# nothing yet\n\n   \n") }
        #expect(throws: KeyringError.empty) { try Keyring([]) }
        #expect(KeyringError.empty.description == "keyring holds no key")
    }

    @Test("a key listed twice is refused, naming both places")
    func duplicates() {
        let file = "\(TestKeys.a.text)\n\(TestKeys.b.text)\n\n\(TestKeys.a.text.uppercased())\n"
        #expect(throws: KeyringError.duplicateLine(line: 4, sameAs: 1)) { try Keyring(parsing: file) }
        #expect(KeyringError.duplicateLine(line: 4, sameAs: 1).description == "keyring line 4: the same key as line 1")
        #expect(throws: KeyringError.duplicateKey(position: 3, sameAs: 2)) { try Keyring([TestKeys.a, TestKeys.b, TestKeys.b]) }
    }

    @Test("a responder finds any key of its keyring by id, and no other")
    func lookupByID() throws {
        let keyring = try Keyring([TestKeys.a, TestKeys.b])
        #expect(keyring.key(withID: TestKeys.b.id) == TestKeys.b)
        #expect(keyring.key(withID: TestKeys.a.id) == TestKeys.a)
        #expect(keyring.key(withID: TestKeys.c.id) == nil)
    }

    @Test("a keyring's text parses back to the same keys in the same order")
    func textRoundTrip() throws {
        let keyring = try Keyring([TestKeys.c, TestKeys.a, ClusterKey.generate()])
        #expect(try Keyring(parsing: keyring.text).keys == keyring.keys)
    }
}
