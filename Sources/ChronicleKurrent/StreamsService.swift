import Chronicle
import ChronicleKurrentProtocol
import Foundation
import GRPCCore
import Logging
import SwiftProtobuf

/// KurrentDB's `event_store.client.streams.Streams` on Chronicle's store.
struct StreamsService: EventStore_Client_Streams_Streams.SimpleServiceProtocol {
    let store: any EventStore
    /// The log as live subscriptions read it: reads after the same position at about the same time are
    /// one read of the store.
    let tail: SharedLogReads
    let policy: KurrentPolicy
    let subscriptions: SubscriptionGate
    let closing: ClosingSignal
    let logger: Logger

    typealias ReadReq = EventStore_Client_Streams_ReadReq
    typealias ReadResp = EventStore_Client_Streams_ReadResp

    // MARK: Append

    func append(
        request: RPCAsyncSequence<EventStore_Client_Streams_AppendReq, any Error>, context: ServerContext
    ) async throws -> EventStore_Client_Streams_AppendResp {
        var options: EventStore_Client_Streams_AppendReq.Options?
        var events: [NewEvent] = []
        var size = 0
        for try await message in request {
            switch message.content {
            case .options(let given):
                guard options == nil else { throw RPCError(code: .invalidArgument, message: "an append gives its options twice") }
                options = given
            case .proposedMessage(let proposed):
                guard options != nil else { throw RPCError(code: .invalidArgument, message: "an append gives an event before its options") }
                size += proposed.data.count + proposed.customMetadata.count
                try policy.checkAppendSize(size, events: events.count + 1)
                events.append(
                    try Wire.newEvent(
                        id: proposed.id, metadata: proposed.metadata, customMetadata: proposed.customMetadata, data: proposed.data))
            case nil:
                throw RPCError(code: .invalidArgument, message: "an append message holds neither options nor an event")
            }
        }
        guard let options else { throw RPCError(code: .invalidArgument, message: "an append gives no options") }
        let stream = try Wire.streamName(options.streamIdentifier)
        let expected: ExpectedVersion
        switch options.expectedStreamRevision {
        case .revision(let r): expected = try Wire.expected(revision: r)
        case .noStream: expected = .noStream
        case .streamExists: expected = .streamExists
        case .any, nil: expected = .any
        }
        var response = EventStore_Client_Streams_AppendResp()
        switch try await appendOutcome(events, to: stream, expecting: expected) {
        case .appended(let version, let position):
            var success = EventStore_Client_Streams_AppendResp.Success()
            if version > 0 { success.currentRevision = Wire.revision(version) } else { success.noStream = .init() }
            if let position {
                var wire = EventStore_Client_Streams_AppendResp.Position()
                (wire.commitPosition, wire.preparePosition) = (UInt64(position.rawValue), UInt64(position.rawValue))
                success.position = wire
            } else {
                success.noPosition = .init()
            }
            response.success = success
        case .conflict(let actual):
            var wrong = EventStore_Client_Streams_AppendResp.WrongExpectedVersion()
            if actual > 0 {
                wrong.currentRevision = Wire.revision(actual)
                wrong.currentRevision2060 = Wire.revision(actual)
            } else {
                wrong.currentNoStream = .init()
                wrong.noStream2060 = .init()
            }
            switch expected {
            case .any:
                wrong.expectedAny = .init()
                wrong.any2060 = .init()
            case .noStream: wrong.expectedNoStream = .init()
            case .streamExists:
                wrong.expectedStreamExists = .init()
                wrong.streamExists2060 = .init()
            case .exactly(let v):
                wrong.expectedRevision = Wire.revision(v)
                wrong.expectedRevision2060 = Wire.revision(v)
            }
            response.wrongExpectedVersion = wrong
        case .deleted:
            throw KurrentErrors.streamDeleted(stream)
        }
        return response
    }

    enum AppendOutcome {
        case appended(version: StreamVersion, position: GlobalPosition?)
        case conflict(actual: StreamVersion)
        case deleted
    }

    /// Appends as KurrentDB answers: an empty append only checks the expected revision; a conflict, an id
    /// stored at another place or a partial re-send are a wrong expected version with the current one; a
    /// tombstoned stream (or its metadata stream) is deleted. An append to a soft-deleted stream revives
    /// it: its numbering continues, `no_stream` is what the client may expect, and the older events stay
    /// hidden (`$tb` moves to the first new revision).
    func appendOutcome(_ events: [NewEvent], to stream: StreamName, expecting expected: ExpectedVersion) async throws
        -> AppendOutcome
    {
        let owner = StreamRules.owner(of: stream)
        try policy.checkWritable(owner)
        if owner != stream, try await StreamRules.isTombstoned(owner, in: store) { return .deleted }
        let metadata = stream.isSystem ? StreamMetadata() : try await StreamMetadata.of(stream, in: store)
        var expected = expected
        if metadata.isSoftDeleted, expected == .noStream { expected = .exactly(try await store.version(of: stream)) }
        if events.isEmpty {
            let actual = try await store.version(of: stream)
            if try await StreamRules.isTombstoned(stream, in: store) { return .deleted }
            return expected.isSatisfied(by: actual) ? .appended(version: actual, position: nil) : .conflict(actual: actual)
        }
        do {
            let result = try await store.append(events, to: stream, expecting: expected)
            if metadata.isSoftDeleted, !result.wasAlreadyStored {
                let firstRevision = result.streamVersion - Int64(events.count)
                let revive = StreamRules.metadataEvent(metadata, truncateBefore: firstRevision)
                let metaStream = try StreamName(protocolName: "$$\(stream)")
                _ = try await store.append([revive], to: metaStream, expecting: .exactly(metadata.version))
            }
            return .appended(version: result.streamVersion, position: result.lastPosition)
        } catch let error as EventStoreError {
            switch error {
            case .streamDeleted: return .deleted
            case .wrongExpectedVersion(_, _, let actual): return .conflict(actual: actual)
            case .eventIdReused, .partiallyStoredBatch: return .conflict(actual: try await store.version(of: stream))
            case .duplicateIdInBatch(let id):
                throw RPCError(code: .invalidArgument, message: "the event id \(id.lowercasedString) appears twice in the append")
            case .unavailable(let why): throw RPCError(code: .unavailable, message: why)
            default: throw RPCError(code: .internalError, message: error.description)
            }
        }
    }

    // MARK: Batch append

    func batchAppend(
        request: RPCAsyncSequence<EventStore_Client_Streams_BatchAppendReq, any Error>,
        response: RPCWriter<EventStore_Client_Streams_BatchAppendResp>, context: ServerContext
    ) async throws {
        // Chunks of one append share a correlation id; the last is final. An append past the size limit
        // keeps no events and is answered, when final, with KurrentDB's MaximumAppendSizeExceeded.
        var pending: [UUID: (options: EventStore_Client_Streams_BatchAppendReq.Options, events: [NewEvent], size: Int, tooLarge: Bool)] = [:]
        var held = 0
        for try await chunk in request {
            guard let correlation = Wire.uuid(chunk.correlationID) else {
                throw RPCError(code: .invalidArgument, message: "a batch append chunk has no correlation id")
            }
            var entry = pending[correlation] ?? (chunk.options, [], 0, false)
            if pending[correlation] == nil, !chunk.hasOptions {
                throw RPCError(code: .invalidArgument, message: "a batch append's first chunk gives no options")
            }
            guard pending.count <= policy.maxPendingBatches else {
                throw RPCError(code: .resourceExhausted, message: "more than \(policy.maxPendingBatches) batch appends are open")
            }
            for proposed in chunk.proposedMessages where !entry.tooLarge {
                let bytes = proposed.data.count + proposed.customMetadata.count
                // What one call holds unanswered, all its open appends together, is bounded too.
                held += bytes
                guard held <= policy.maxAppendSize * 2 else {
                    throw RPCError(
                        code: .resourceExhausted,
                        message: "a batch append call holds more than \(policy.maxAppendSize * 2) bytes in appends not yet final")
                }
                entry.size += bytes
                do { try policy.checkAppendSize(entry.size, events: entry.events.count + 1) } catch {
                    // Its events are dropped, and no longer held.
                    held -= entry.size
                    (entry.tooLarge, entry.events) = (true, [])
                    break
                }
                entry.events.append(
                    try Wire.newEvent(
                        id: proposed.id, metadata: proposed.metadata, customMetadata: proposed.customMetadata, data: proposed.data))
            }
            guard chunk.isFinal else {
                pending[correlation] = entry
                continue
            }
            pending[correlation] = nil
            held -= entry.tooLarge ? 0 : entry.size
            if entry.tooLarge {
                var answer = EventStore_Client_Streams_BatchAppendResp()
                answer.correlationID = chunk.correlationID
                answer.streamIdentifier = entry.options.streamIdentifier
                var details = EventStore_Client_MaximumAppendSizeExceeded()
                details.maxAppendSize = UInt32(clamping: policy.maxAppendSize)
                var status = KurrentRPC_Status()
                status.code = KurrentRPC_Code.invalidArgument
                status.message = KurrentErrors.maximumAppendSizeExceeded(policy.maxAppendSize).message
                status.details = try Google_Protobuf_Any(message: details)
                answer.error = status
                try await response.write(answer)
            } else {
                try await response.write(try await batchResult(correlation: chunk.correlationID, entry.options, entry.events))
            }
        }
    }

    private func batchResult(
        correlation: EventStore_Client_UUID, _ options: EventStore_Client_Streams_BatchAppendReq.Options, _ events: [NewEvent]
    ) async throws -> EventStore_Client_Streams_BatchAppendResp {
        var answer = EventStore_Client_Streams_BatchAppendResp()
        answer.correlationID = correlation
        answer.streamIdentifier = options.streamIdentifier
        let expected: ExpectedVersion
        switch options.expectedStreamPosition {
        case .streamPosition(let r):
            expected = try Wire.expected(revision: r)
            answer.streamPosition = r
        case .noStream:
            expected = .noStream
            answer.noStream = .init()
        case .streamExists:
            expected = .streamExists
            answer.streamExists = .init()
        case .any, nil:
            expected = .any
            answer.any = .init()
        }
        do {
            let stream = try Wire.streamName(options.streamIdentifier)
            switch try await appendOutcome(events, to: stream, expecting: expected) {
            case .appended(let version, let position):
                var success = EventStore_Client_Streams_BatchAppendResp.Success()
                if version > 0 { success.currentRevision = Wire.revision(version) } else { success.noStream = .init() }
                if let position {
                    var wire = EventStore_Client_AllStreamPosition()
                    (wire.commitPosition, wire.preparePosition) = (UInt64(position.rawValue), UInt64(position.rawValue))
                    success.position = wire
                } else {
                    success.noPosition = .init()
                }
                answer.success = success
            case .conflict(let actual):
                var details = EventStore_Client_WrongExpectedVersion()
                if actual > 0 { details.currentStreamRevision = Wire.revision(actual) } else { details.currentNoStream = .init() }
                switch expected {
                case .any: details.expectedAny = .init()
                case .noStream: details.expectedNoStream = .init()
                case .streamExists: details.expectedStreamExists = .init()
                case .exactly(let v): details.expectedStreamPosition = Wire.revision(v)
                }
                var status = KurrentRPC_Status()
                status.code = KurrentRPC_Code.failedPrecondition
                status.message = KurrentErrors.wrongExpectedVersion(stream, expected: expected, actual: actual).message
                status.details = try Google_Protobuf_Any(message: details)
                answer.error = status
            case .deleted:
                var details = EventStore_Client_StreamDeleted()
                details.streamIdentifier = options.streamIdentifier
                var status = KurrentRPC_Status()
                status.code = KurrentRPC_Code.failedPrecondition
                status.message = KurrentErrors.streamDeleted(stream).message
                status.details = try Google_Protobuf_Any(message: details)
                answer.error = status
            }
        } catch let error as RPCError {
            var status = KurrentRPC_Status()
            status.code = KurrentRPC_Code(rawValue: Int(error.code.rawValue)) ?? .unknown
            status.message = error.message
            if error.code == .permissionDenied { status.details = try Google_Protobuf_Any(message: EventStore_Client_AccessDenied()) }
            answer.error = status
        }
        return answer
    }

    // MARK: Delete and tombstone

    func delete(request: EventStore_Client_Streams_DeleteReq, context: ServerContext) async throws
        -> EventStore_Client_Streams_DeleteResp
    {
        let stream = try Wire.streamName(request.options.streamIdentifier)
        let expected = try Self.expected(request.options.expectedStreamRevision)
        try policy.checkWritable(StreamRules.owner(of: stream))
        try await StreamRules.checkNotTombstoned(stream, in: store)
        // A soft delete: `$tb` past every revision in the metadata stream, the other keys kept. The
        // stream's events stay in the log (and in $all); reads of the stream answer not found.
        let actual = try await store.version(of: stream)
        guard actual > 0, expected.isSatisfied(by: actual) else {
            throw KurrentErrors.wrongExpectedVersion(stream, expected: expected, actual: actual)
        }
        let metadata = try await StreamMetadata.of(stream, in: store)
        let metaStream = try Wire.streamName(Self.identifier("$$\(stream)"))
        let result: AppendResult
        do {
            result = try await store.append(
                [StreamRules.metadataEvent(metadata, truncateBefore: Int64.max)], to: metaStream, expecting: .exactly(metadata.version))
        } catch EventStoreError.wrongExpectedVersion {
            // The metadata moved meanwhile: the client may retry.
            throw RPCError(code: .aborted, message: "the metadata of \(stream) changed during the delete; retry")
        }
        var answer = EventStore_Client_Streams_DeleteResp()
        var position = EventStore_Client_Streams_DeleteResp.Position()
        (position.commitPosition, position.preparePosition) = (UInt64(result.lastPosition.rawValue), UInt64(result.lastPosition.rawValue))
        answer.position = position
        return answer
    }

    func tombstone(request: EventStore_Client_Streams_TombstoneReq, context: ServerContext) async throws
        -> EventStore_Client_Streams_TombstoneResp
    {
        let stream = try Wire.streamName(request.options.streamIdentifier)
        let expected = try Self.expected(request.options.expectedStreamRevision)
        try policy.checkWritable(StreamRules.owner(of: stream))
        try await StreamRules.checkNotTombstoned(stream, in: store)
        // A hard delete: the tombstone event ends the stream; the store refuses anything after it.
        let tombstone = NewEvent(id: UUID(), type: NewEvent.tombstoneType, data: Data("{}".utf8))
        let result: AppendResult
        do {
            result = try await store.append([tombstone], to: stream, expecting: expected)
        } catch EventStoreError.streamDeleted {
            throw KurrentErrors.streamDeleted(stream)
        } catch EventStoreError.wrongExpectedVersion(_, _, let actual) {
            throw KurrentErrors.wrongExpectedVersion(stream, expected: expected, actual: actual)
        }
        var answer = EventStore_Client_Streams_TombstoneResp()
        var position = EventStore_Client_Streams_TombstoneResp.Position()
        (position.commitPosition, position.preparePosition) = (UInt64(result.lastPosition.rawValue), UInt64(result.lastPosition.rawValue))
        answer.position = position
        return answer
    }

    static func expected(_ option: EventStore_Client_Streams_DeleteReq.Options.OneOf_ExpectedStreamRevision?) throws(RPCError)
        -> ExpectedVersion
    {
        switch option {
        case .revision(let r): try Wire.expected(revision: r)
        case .noStream: .noStream
        case .streamExists: .streamExists
        case .any, nil: .any
        }
    }

    static func expected(_ option: EventStore_Client_Streams_TombstoneReq.Options.OneOf_ExpectedStreamRevision?) throws(RPCError)
        -> ExpectedVersion
    {
        switch option {
        case .revision(let r): try Wire.expected(revision: r)
        case .noStream: .noStream
        case .streamExists: .streamExists
        case .any, nil: .any
        }
    }

    static func identifier(_ name: String) -> EventStore_Client_StreamIdentifier {
        var identifier = EventStore_Client_StreamIdentifier()
        identifier.streamName = Data(name.utf8)
        return identifier
    }

    // MARK: Read

    func read(request: ReadReq, response: RPCWriter<ReadResp>, context: ServerContext) async throws {
        let options = request.options
        let structured: Bool = if case .structured = options.uuidOption.content { true } else { false }
        let backwards = options.readDirection == .backwards
        var filter: EventFilter?
        if case .filter(let given) = options.filterOption { filter = try EventFilter(given) }
        switch (options.streamOption, options.countOption) {
        case (.stream(let streamOptions), .count(let count)):
            guard filter == nil else { throw RPCError(code: .invalidArgument, message: "a filter applies to $all only") }
            try await readStream(streamOptions, count: count, backwards: backwards, structured: structured, response)
        case (.all(let allOptions), .count(let count)):
            try await readAll(allOptions, count: count, backwards: backwards, filter: filter, structured: structured, response)
        case (.stream(let streamOptions), .subscription):
            guard filter == nil else { throw RPCError(code: .invalidArgument, message: "a filter applies to $all only") }
            guard !backwards else { throw RPCError(code: .invalidArgument, message: "a subscription reads forwards") }
            try await following { stop in
                try await subscribeStream(streamOptions, structured: structured, response, stop: stop)
            }
        case (.all(let allOptions), .subscription):
            guard !backwards else { throw RPCError(code: .invalidArgument, message: "a subscription reads forwards") }
            try await following { stop in
                try await subscribeAll(allOptions, filter: filter, structured: structured, response, stop: stop)
            }
        default:
            throw RPCError(code: .invalidArgument, message: "a read names a stream or $all, and a count or a subscription")
        }
    }

    private func readStream(
        _ options: ReadReq.Options.StreamOptions, count: UInt64, backwards: Bool, structured: Bool, _ response: RPCWriter<ReadResp>
    ) async throws {
        let stream = try Wire.streamName(options.streamIdentifier)
        try await StreamRules.checkNotTombstoned(stream, in: store)
        let current = try await store.version(of: stream)
        // Metadata applies to ordinary streams: `$tb`, `$maxCount`, `$maxAge`; a soft delete hides all.
        let metadata = stream.isSystem ? StreamMetadata() : try await StreamMetadata.of(stream, in: store)
        guard current > 0, !metadata.isSoftDeleted else {
            var notFound = ReadResp.StreamNotFound()
            notFound.streamIdentifier = options.streamIdentifier
            var message = ReadResp()
            message.streamNotFound = notFound
            try await response.write(message)
            return
        }
        let lowest = metadata.lowestReadable(current: current)
        let now = Date()
        var next: StreamVersion
        switch options.revisionOption {
        case .revision(let r): next = r >= UInt64(Int64.max) ? Int64.max : Int64(r) + 1
        case .end: next = backwards ? current : current + 1
        case .start, nil: next = backwards ? 0 : 1
        }
        if !backwards { next = max(next, lowest) }
        var remaining = count
        while remaining > 0, backwards ? next >= lowest : next <= current {
            let limit = Int(min(remaining, UInt64(Wire.page)))
            let page = try await store.read(stream, from: next, direction: backwards ? .backwards : .forwards, limit: limit)
            let readable = page.filter { $0.version >= lowest && metadata.isYoungEnough($0, now: now) }
            try await response.write(contentsOf: readable.map { Wire.readEvent($0, structuredIds: structured) })
            remaining -= UInt64(readable.count)
            guard page.count == limit, let last = page.last else { break }
            next = backwards ? last.version - 1 : last.version + 1
        }
    }

    private func readAll(
        _ options: ReadReq.Options.AllOptions, count: UInt64, backwards: Bool, filter: EventFilter?, structured: Bool,
        _ response: RPCWriter<ReadResp>
    ) async throws {
        var remaining = count
        if backwards {
            // Events below `before`, newest first.
            var before: GlobalPosition
            switch options.allOption {
            case .position(let p): before = try await eventPosition(p)
            case .start: return
            case .end, nil: before = GlobalPosition(rawValue: try await store.headPosition().rawValue + 1)
            }
            while remaining > 0, before.rawValue > 1 {
                let page = try await store.readAll(before: before, limit: Wire.page)
                let matching = page.lazy.filter { filter?.matches($0) ?? true }.prefix(Int(min(remaining, UInt64(Wire.page))))
                try await response.write(contentsOf: matching.map { Wire.readEvent($0, structuredIds: structured) })
                remaining -= UInt64(matching.count)
                if remaining == 0 { return }
                guard page.count == Wire.page, let last = page.last else { return }
                before = last.position
            }
        } else {
            // Events from `position` on.
            var after: GlobalPosition
            switch options.allOption {
            case .position(let p): after = GlobalPosition(rawValue: max(try await eventPosition(p).rawValue - 1, 0))
            case .end: return
            case .start, nil: after = .start
            }
            while remaining > 0 {
                let page = try await store.readAll(after: after, limit: Wire.page)
                let matching = page.lazy.filter { filter?.matches($0) ?? true }.prefix(Int(min(remaining, UInt64(Wire.page))))
                try await response.write(contentsOf: matching.map { Wire.readEvent($0, structuredIds: structured) })
                remaining -= UInt64(matching.count)
                if remaining == 0 { return }
                guard page.count == Wire.page, let last = page.last else { return }
                after = last.position
            }
        }
    }

    /// A client's position, if it is an event's (or the start): positions are the log's, gap-free, so
    /// one is an event's when its commit and prepare parts agree and it is not beyond the head.
    func eventPosition(_ position: ReadReq.Options.Position) async throws -> GlobalPosition {
        guard let global = Wire.position(commit: position.commitPosition, prepare: position.preparePosition),
            global <= (try await store.headPosition())
        else { throw KurrentErrors.invalidPosition }
        return global
    }

    // MARK: Subscriptions

    private func confirm(_ response: RPCWriter<ReadResp>) async throws {
        var confirmation = ReadResp.SubscriptionConfirmation()
        confirmation.subscriptionID = UUID().lowercasedString
        var message = ReadResp()
        message.confirmation = confirmation
        try await response.write(message)
    }

    /// A stream subscription: the stream's events read by version until caught up, then live events
    /// from the shared tail of the log (one read per append however many subscriptions follow it). The
    /// head is read before each stream read, so every event of the stream at or below it is in that read
    /// (positions follow commit order), and every later one comes through the tail; versions already
    /// sent are skipped.
    private func subscribeStream(
        _ options: ReadReq.Options.StreamOptions, structured: Bool, _ response: RPCWriter<ReadResp>, stop: ClosingSignal
    ) async throws {
        let stream = try Wire.streamName(options.streamIdentifier)
        try await StreamRules.checkNotTombstoned(stream, in: store)
        var next: StreamVersion
        switch options.revisionOption {
        // From a revision: the events after it.
        case .revision(let r): next = r >= UInt64(Int64.max - 1) ? Int64.max : Int64(r) + 2
        case .end: next = try await store.version(of: stream) + 1
        case .start, nil: next = 1
        }
        try await confirm(response)
        var cursor: GlobalPosition
        while true {
            try check(stop)
            let head = try await store.headPosition()
            let page = try await store.read(stream, from: next, direction: .forwards, limit: Wire.page)
            try await response.write(contentsOf: page.map { Wire.readEvent($0, structuredIds: structured) })
            if let last = page.last { next = last.version + 1 }
            if page.count < Wire.page {
                cursor = head
                break
            }
        }
        var message = ReadResp()
        var marker = ReadResp.CaughtUp()
        marker.timestamp = Wire.timestamp(Date())
        if next > 1 { marker.streamRevision = Int64(Wire.revision(next - 1)) }
        message.caughtUp = marker
        try await response.write(message)
        while true {
            let seen = store.appendSignal.latest
            let page = try await tail.readAll(after: cursor, limit: Wire.page)
            for event in page {
                cursor = event.position
                guard event.stream == stream, event.version >= next else { continue }
                try await response.write(Wire.readEvent(event, structuredIds: structured))
                next = event.version + 1
            }
            if page.count < Wire.page { try await waitForAppends(after: seen, stop: stop) } else { try check(stop) }
        }
    }

    private func subscribeAll(
        _ options: ReadReq.Options.AllOptions, filter: EventFilter?, structured: Bool, _ response: RPCWriter<ReadResp>,
        stop: ClosingSignal
    ) async throws {
        var after: GlobalPosition
        switch options.allOption {
        // From a position: the events after it.
        case .position(let p): after = try await eventPosition(p)
        case .end: after = try await store.headPosition()
        case .start, nil: after = .start
        }
        try await confirm(response)
        var caughtUp = false
        var searched = 0
        while true {
            try check(stop)
            let seen = store.appendSignal.latest
            let page = try await tail.readAll(after: after, limit: Wire.page)
            for event in page {
                if filter?.matches(event) ?? true { try await response.write(Wire.readEvent(event, structuredIds: structured)) }
                after = event.position
                searched += 1
                if let filter, searched >= filter.checkpointInterval {
                    searched = 0
                    try await response.write(Self.checkpoint(after))
                }
            }
            guard page.count < Wire.page else { continue }
            if !caughtUp {
                caughtUp = true
                var message = ReadResp()
                var marker = ReadResp.CaughtUp()
                marker.timestamp = Wire.timestamp(Date())
                if after.rawValue > 0 {
                    var position = ReadResp.Position()
                    (position.commitPosition, position.preparePosition) = (UInt64(after.rawValue), UInt64(after.rawValue))
                    marker.position = position
                }
                message.caughtUp = marker
                try await response.write(message)
            }
            try await waitForAppends(after: seen, stop: stop)
        }
    }

    /// Runs a subscription as one of the open ones, until its call ends: `stop` is raised when the call
    /// is cancelled (its deadline, its client gone, the server stopping). Whatever failed once the call
    /// ended (a write to a closed stream) is answered as the end it was.
    private func following(_ body: (_ stop: ClosingSignal) async throws -> Void) async throws {
        let stop = ClosingSignal()
        do {
            try await withRPCCancellationHandler {
                try await subscriptions.hold { try await body(stop) }
            } onCancelRPC: {
                stop.close()
            }
        } catch {
            if stop.isClosed { try check(stop) }
            throw error
        }
    }

    /// Ends a subscription whose call was cancelled (the client went away, its deadline passed) or whose
    /// server is stopping.
    private func check(_ stop: ClosingSignal) throws(RPCError) {
        try closing.check()
        // Its deadline passed or its client went away: a client that is still listening (its own
        // deadline not yet fired) reads DEADLINE_EXCEEDED, never an UNKNOWN of a thrown cancellation.
        if stop.isClosed || Task.isCancelled {
            throw RPCError(code: .deadlineExceeded, message: "the call ended: its deadline passed or its client cancelled it")
        }
    }

    /// Waits for an append after `seen` (or the poll interval), the call's end or the server's.
    private func waitForAppends(after seen: GlobalPosition, stop: ClosingSignal) async throws {
        try check(stop)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await store.appendSignal.wait(after: seen, timeout: policy.livePollInterval) }
            group.addTask { await closing.signal.wait(after: .start, timeout: policy.livePollInterval) }
            group.addTask { await stop.signal.wait(after: .start, timeout: policy.livePollInterval) }
            await group.next()
            group.cancelAll()
        }
        try check(stop)
    }

    static func checkpoint(_ position: GlobalPosition) -> ReadResp {
        var checkpoint = ReadResp.Checkpoint()
        (checkpoint.commitPosition, checkpoint.preparePosition) = (UInt64(position.rawValue), UInt64(position.rawValue))
        checkpoint.timestamp = Wire.timestamp(Date())
        var message = ReadResp()
        message.checkpoint = checkpoint
        return message
    }
}
