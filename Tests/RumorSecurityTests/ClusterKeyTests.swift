@preconcurrency import Crypto
import Testing
@testable import RumorSecurity

@Suite("Cluster keys")
struct ClusterKeyTests {
    @Test("a generated key's text is 64 lowercase hex digits and parses back to the same key and id")
    func textRoundTrip() throws {
        for _ in 0..<100 {
            let key = ClusterKey.generate()
            let text = key.text
            #expect(text.count == 64)
            #expect(text.allSatisfy { "0123456789abcdef".contains($0) })
            let parsed = try ClusterKey(text: text)
            #expect(parsed == key)
            #expect(parsed.id == key.id)
        }
    }

    @Test("generated keys differ")
    func generatedKeysDiffer() {
        let keys = (0..<50).map { _ in ClusterKey.generate().text }
        #expect(Set(keys).count == keys.count)
    }

    @Test("a key's text is its bytes in order, in lowercase hex")
    func textIsBytes() {
        #expect(TestKeys.a.text == "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
    }

    @Test("parsing ignores surrounding whitespace and accepts upper case; the text written is always lower case")
    func lenientParsing() throws {
        let upper = "  " + TestKeys.b.text.uppercased() + "\r\n"
        let parsed = try ClusterKey(text: upper)
        #expect(parsed == TestKeys.b)
        #expect(parsed.text == TestKeys.b.text)
    }

    @Test("text of the wrong length is refused, naming the length found")
    func wrongLength() {
        #expect(throws: ClusterKeyTextError.wrongLength(found: 12)) { try ClusterKey(text: "0123456789ab") }
        #expect(throws: ClusterKeyTextError.wrongLength(found: 0)) { try ClusterKey(text: "  \n") }
        #expect(throws: ClusterKeyTextError.wrongLength(found: 65)) { try ClusterKey(text: TestKeys.a.text + "0") }
        #expect(ClusterKeyTextError.wrongLength(found: 12).description == "expected 64 hex characters, found 12")
    }

    @Test("a character that is not a hex digit is refused, naming its position and the character")
    func notHex() {
        var text = Array(TestKeys.a.text)
        text[12] = "g"
        #expect(throws: ClusterKeyTextError.notHex(position: 13, character: "g")) { try ClusterKey(text: String(text)) }
        text[12] = "0"
        text[63] = "G"
        #expect(throws: ClusterKeyTextError.notHex(position: 64, character: "G")) { try ClusterKey(text: String(text)) }
        text[63] = "0"
        text[0] = "O"
        #expect(throws: ClusterKeyTextError.notHex(position: 1, character: "O")) { try ClusterKey(text: String(text)) }
        #expect(ClusterKeyTextError.notHex(position: 13, character: "g").description == #"character 13 is "g", not a hex digit"#)
    }

    @Test("a key's id is the first 8 bytes of HMAC-SHA256(key, \"rumor key id v1\")")
    func keyIDDerivation() {
        for key in [TestKeys.a, TestKeys.b, ClusterKey.generate()] {
            let keyBytes = Array<UInt8>(hex: key.text)
            let mac = HMAC<SHA256>.authenticationCode(for: Array("rumor key id v1".utf8), using: SymmetricKey(data: keyBytes))
            #expect(key.id.bytes == Array(Array(mac).prefix(8)))
            #expect(key.id.description == Array(Array(mac).prefix(8)).hex)
        }
        #expect(TestKeys.a.id != TestKeys.b.id)
    }

    @Test("a key id survives its 8-byte wire form, which is big-endian")
    func keyIDBytes() {
        let id = ClusterKey.ID(rawValue: 0x0102_0304_0506_0708)
        #expect(id.bytes == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(ClusterKey.ID(bytes: id.bytes) == id)
        #expect(ClusterKey.ID(bytes: [1, 2, 3]) == nil)
    }

    @Test("a key is made only from exactly 32 bytes")
    func keyFromBytes() {
        #expect(ClusterKey(bytes: [UInt8](repeating: 1, count: 31)) == nil)
        #expect(ClusterKey(bytes: [UInt8](repeating: 1, count: 33)) == nil)
        #expect(ClusterKey(bytes: [UInt8](repeating: 1, count: 32)) != nil)
    }

    @Test("describing a key, as a log line would, shows its id and never the secret")
    func descriptionHidesSecret() {
        let key = ClusterKey.generate()
        #expect(key.description == "cluster key \(key.id)")
        #expect(!"\(key)".contains(key.text))
        #expect(!String(reflecting: key).contains(key.text.prefix(16)))
    }
}
