import Chronicle
import Foundation

/// A todo's id: a UUID, accepted in any letter case and always written in lowercase canonical form.
public struct TodoID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The UUID.
    public let uuid: UUID

    /// Parses a UUID in any letter case; nil when `string` is not one.
    public init?(_ string: String) {
        guard let uuid = UUID(uuidString: string) else { return nil }
        self.uuid = uuid
    }

    /// Wraps a UUID.
    public init(_ uuid: UUID) { self.uuid = uuid }

    /// The lowercase canonical form, e.g. `0b341422-c516-4ee4-8f3e-ef1992dfff32`.
    public var description: String { uuid.uuidString.lowercased() }

    public static func < (lhs: TodoID, rhs: TodoID) -> Bool { lhs.description < rhs.description }
}

extension TodoID: CodableAsText {}
