/// An exact amount of money in minor units (cents): never a binary floating-point value on the way.
///
/// Read from and written as a decimal string with at most two decimal places (`"23.50"`, `"23"`); the
/// stored and answered form always has two (`"23.50"`).
public struct Money: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The amount in cents.
    public var cents: Int64

    /// `cents` cents.
    public init(cents: Int64) {
        self.cents = cents
    }

    /// Nothing.
    public static let zero = Money(cents: 0)

    /// The largest amount accepted from outside: a trillion, far from overflowing a sum of many.
    public static let maximum = Money(cents: 100_000_000_000_000)

    /// Reads `[-]digits[.d[d]]`: at most two decimal places, at most ``maximum`` in size; nil for
    /// anything else (an exponent, a sign but minus, spaces, more places).
    public init?(_ text: some StringProtocol) {
        var bytes = Substring(text).utf8[...]
        let negative = bytes.first == UInt8(ascii: "-")
        if negative { bytes = bytes.dropFirst() }
        let point = bytes.firstIndex(of: UInt8(ascii: "."))
        let whole = point.map { bytes[..<$0] } ?? bytes
        let fraction = point.map { bytes[bytes.index(after: $0)...] } ?? bytes[bytes.endIndex...]
        guard !whole.isEmpty, whole.count <= 13, fraction.count <= 2, point == nil || !fraction.isEmpty else { return nil }
        var cents: Int64 = 0
        for byte in whole {
            guard (48...57).contains(byte) else { return nil }
            cents = cents * 10 + Int64(byte - 48)
        }
        var places = 0
        for byte in fraction {
            guard (48...57).contains(byte) else { return nil }
            cents = cents * 10 + Int64(byte - 48)
            places += 1
        }
        for _ in places..<2 { cents *= 10 }
        guard cents <= Self.maximum.cents else { return nil }
        self.cents = negative ? -cents : cents
    }

    /// `"330.00"`, `"-5.10"`.
    public var description: String {
        let magnitude = cents.magnitude
        let fraction = magnitude % 100
        return "\(cents < 0 ? "-" : "")\(magnitude / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    public static func < (a: Money, b: Money) -> Bool { a.cents < b.cents }
    public static func + (a: Money, b: Money) -> Money { Money(cents: a.cents + b.cents) }
    public static func - (a: Money, b: Money) -> Money { Money(cents: a.cents - b.cents) }
}
