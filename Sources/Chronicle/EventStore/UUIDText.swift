import Crypto
import Foundation

extension UUID {
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// The lowercase text form (`0b341422-c516-4ee4-8f3e-ef1992dfff32`), as the stores write ids:
    /// written byte by byte (Foundation's `uuidString` goes through `sprintf` and is then lowercased).
    public var lowercasedString: String {
        let bytes = withUnsafeBytes(of: uuid) { Array($0) }
        return String(unsafeUninitializedCapacity: 36) { buffer in
            var out = 0
            for (index, byte) in bytes.enumerated() {
                if index == 4 || index == 6 || index == 8 || index == 10 {
                    buffer[out] = UInt8(ascii: "-")
                    out += 1
                }
                buffer[out] = Self.hexDigits[Int(byte >> 4)]
                buffer[out + 1] = Self.hexDigits[Int(byte & 0x0F)]
                out += 2
            }
            return out
        }
    }

    /// Reads the 36-character text form in either letter case (nil for anything else), without the
    /// `sscanf` that Foundation's `init(uuidString:)` uses: straight from the string's UTF-8 bytes (every
    /// event a store reads goes through here).
    public init?(text: String) {
        var text = text
        guard let uuid = text.withUTF8({ Self.parse($0) }) else { return nil }
        self = uuid
    }

    /// Reads the text form from a substring or any other string (see ``init(text:)-(String)``).
    public init?(text: some StringProtocol) {
        self.init(text: String(text))
    }

    /// The value of each hex digit's byte; 0xFF for any other byte.
    private static let nibbles: [UInt8] = (0...255).map { byte -> UInt8 in
        switch UInt8(byte) {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt8(byte) - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt8(byte) - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt8(byte) - UInt8(ascii: "A") + 10
        default: 0xFF
        }
    }

    private static func parse(_ text: UnsafeBufferPointer<UInt8>) -> UUID? {
        let dash = UInt8(ascii: "-")
        guard text.count == 36, text[8] == dash, text[13] == dash, text[18] == dash, text[23] == dash else { return nil }
        var uuid: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let valid = nibbles.withUnsafeBufferPointer { nibbles in
            withUnsafeMutableBytes(of: &uuid) { bytes in
                var position = 0
                for index in 0..<16 {
                    if position == 8 || position == 13 || position == 18 || position == 23 { position += 1 }
                    let high = nibbles[Int(text[position])]
                    let low = nibbles[Int(text[position + 1])]
                    guard high | low < 0x10 else { return false }
                    bytes[index] = high << 4 | low
                    position += 2
                }
                return true
            }
        }
        return valid ? UUID(uuid: uuid) : nil
    }
}

extension UUID {
    /// A UUID derived from this one one-to-one (distinct ids give distinct ids), different for each
    /// `salt`: the ids of a reactor's effects, derived from the causing event's id, so that an event
    /// handed over again repeats none of them.
    // NOTE: stored format — ids derived here are stored (the Todo notifier's events); never change it.
    public func derived(salt: UInt8) -> UUID {
        var bytes = uuid
        withUnsafeMutableBytes(of: &bytes) { raw in
            for i in raw.indices { raw[i] ^= salt &+ UInt8(i) }
        }
        return UUID(uuid: bytes)
    }

    /// The name-based (version 5, SHA-1) UUID of `name` in `namespace` (RFC 9562): the same inputs
    /// always give the same id, so an id derived from a client's command id is the same on every retry.
    public init(namespace: UUID, name: some Sequence<UInt8>) {
        var hash = Insecure.SHA1()
        withUnsafeBytes(of: namespace.uuid) { hash.update(bufferPointer: $0) }
        hash.update(data: Array(name))
        var bytes = Array(hash.finalize().prefix(16))
        bytes[6] = bytes[6] & 0x0F | 0x50  // version 5
        bytes[8] = bytes[8] & 0x3F | 0x80  // the RFC variant
        self = bytes.withUnsafeBytes { UUID(uuid: $0.loadUnaligned(as: uuid_t.self)) }
    }

    /// The id of the `index`-th event (from 0) a command with the client-chosen id `commandId` makes.
    public static func event(_ index: Int, ofCommand commandId: UUID) -> UUID {
        let count = withUnsafeBytes(of: UInt32(truncatingIfNeeded: index).bigEndian) { Array($0) }
        return UUID(namespace: commandEvents, name: withUnsafeBytes(of: commandId.uuid) { Array($0) } + count)
    }

    /// The id of the `index`-th event (from 0) a process manager's command with the id `commandId`
    /// makes: another namespace than clients' (``event(_:ofCommand:)``), so that no command id a client
    /// can send derives these ids.
    public static func event(_ index: Int, ofProcessCommand commandId: UUID) -> UUID {
        let count = withUnsafeBytes(of: UInt32(truncatingIfNeeded: index).bigEndian) { Array($0) }
        return UUID(namespace: processCommandEvents, name: withUnsafeBytes(of: commandId.uuid) { Array($0) } + count)
    }

    // NOTE: stored format — the namespaces below derive stored event ids; never change them.
    static let processCommandEvents = UUID(uuid: (0xc4, 0x7e, 0x2a, 0x91, 0x08, 0xd3, 0x4b, 0x6f, 0xa5, 0x1e, 0x70, 0x3c, 0x9b, 0x62, 0xd8, 0x05))

    /// The namespace of the event ids derived from command ids.
    static let commandEvents = UUID(uuid: (0x6b, 0x1c, 0x6f, 0x0e, 0x3d, 0x2a, 0x4c, 0x55, 0x9a, 0x71, 0x2f, 0xc8, 0x0d, 0x5e, 0x44, 0x19))
}
