import Foundation

/// The one JSON encoding of what Chronicle stores: event bodies, process states, outbox commands,
/// snapshots, command fingerprints. Keys sorted and no whitespace, so the same value is always the same
/// bytes (a fingerprint or a re-encoded body compares equal).
public enum StoredJSON {
    /// How `/` is written in strings. Chronicle writes it as it is; bodies some applications stored
    /// before there was one encoder escape it (`\/`), and re-encoding them must give the same bytes.
    public enum Slashes: Sendable {
        /// `/` (the canonical form).
        case unescaped
        /// `\/` (Foundation's default, kept for the bodies stored that way).
        case escaped
    }

    /// The encoder for stored bodies (one, shared: encoding is safe from any thread).
    public static func encoder(slashes: Slashes = .unescaped) -> JSONEncoder {
        slashes == .unescaped ? canonical : escaping
    }

    private static let canonical = make([.sortedKeys, .withoutEscapingSlashes])
    private static let escaping = make([.sortedKeys])

    private static func make(_ formatting: JSONEncoder.OutputFormatting) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = formatting
        return encoder
    }

    /// `value` as stored.
    public static func encode(_ value: some Encodable, slashes: Slashes = .unescaped) throws -> Data {
        try encoder(slashes: slashes).encode(value)
    }
}
