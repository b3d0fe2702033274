import Foundation
import Synchronization

/// Decodes each recorded event once for every consumer that shares it: several read models of one
/// module, fed the same events at about the same time, each ask for the same domain event, and all but
/// the first get the one already decoded (JSON decoding is most of a simple read model's work).
///
/// Recorded events never change, so a decoded event is kept by its event id; the most recent
/// ``capacity`` are kept. A failed decoding is not kept: whoever asks again decodes again (and fails
/// again, for a poison event).
public final class SharedDecoding<Codec: EventCodec>: Sendable where Codec.Event: Sendable {
    /// The codec that decodes.
    public let codec: Codec
    /// How many decoded events are kept.
    public let capacity: Int
    private let recent: Mutex<Recent>

    private struct Recent {
        var events: [UUID: Codec.Event] = [:]
        /// The keys, oldest first from `next`, once full.
        var ring: [UUID] = []
        var next = 0
    }

    /// Shares `codec`'s decodings, keeping the last `capacity` (default 4,096: several batches).
    public init(_ codec: Codec, capacity: Int = 4096) {
        self.codec = codec
        self.capacity = max(1, capacity)
        self.recent = Mutex(Recent())
    }

    /// The domain event of `recorded`, decoded once.
    public func decode(_ recorded: RecordedEvent) throws -> Codec.Event {
        if let known = recent.withLock({ $0.events[recorded.id] }) { return known }
        let event = try codec.decode(recorded)
        recent.withLock { recent in
            guard recent.events.updateValue(event, forKey: recorded.id) == nil else { return }
            if recent.ring.count < capacity {
                recent.ring.append(recorded.id)
            } else {
                recent.events[recent.ring[recent.next]] = nil
                recent.ring[recent.next] = recorded.id
                recent.next = (recent.next + 1) % capacity
            }
        }
        return event
    }
}
