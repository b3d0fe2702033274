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
    /// `sscanf` that Foundation's `init(uuidString:)` uses.
    public init?(text: some StringProtocol) {
        var bytes = [UInt8](repeating: 0, count: 16)
        var utf8 = text.utf8.makeIterator()
        var index = 0
        var position = 0
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        while let c = utf8.next() {
            if position == 8 || position == 13 || position == 18 || position == 23 {
                guard c == UInt8(ascii: "-") else { return nil }
                position += 1
                continue
            }
            guard index < 16, let high = nibble(c), let next = utf8.next(), let low = nibble(next) else { return nil }
            bytes[index] = high << 4 | low
            index += 1
            position += 2
        }
        guard index == 16, position == 36 else { return nil }
        self = bytes.withUnsafeBytes { raw in UUID(uuid: raw.load(as: uuid_t.self)) }
    }
}
