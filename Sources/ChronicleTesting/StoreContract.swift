import Chronicle
import Foundation
import Testing

/// One named rule of the store contract, run against a fresh, empty store.
public struct StoreContractCheck: Sendable, CustomTestStringConvertible {
    /// What the rule says.
    public let name: String
    /// Checks the rule against an empty store.
    public let run: @Sendable (any EventStore) async throws -> Void
    public var testDescription: String { name }
}

/// The contract every ``EventStore`` backend passes: run each check against a fresh store of the backend,
/// `@Test(arguments: StoreContract.checks)`.
public enum StoreContract {
    /// Every check.
    public static let checks: [StoreContractCheck] = [
        check("appends to a new stream with versions and positions from 1", appendsToNewStream),
        check("checks each kind of expected version and names stream, expected and actual", checksExpectedVersion),
        check("writes a batch whole or not at all", batchIsAtomic),
        check("answers a re-sent batch with the original result and writes nothing", resendIsIdempotent),
        check("refuses an event id reused for a different event", refusesReusedIds),
        check("treats a re-send with other metadata or another schema version as a different event", resendMustMatchWhole),
        check("answers simultaneous re-sends of one batch alike, writing it once", concurrentResendsWriteOnce),
        check("reads a stream forwards and backwards from a version with a limit", readsStreams),
        check("reads the global log and a category after a position with a limit", readsLogAndCategory),
        check("lists streams with their versions, page by page", listsStreams),
        check("keeps causation and correlation ids", keepsMetadata),
        check("finds an event by id and the events of one conversation", findsByIdAndCorrelation),
        check("lets exactly one of many concurrent appenders with the same expected version win", oneConcurrentWinner),
        check("answers each of many concurrent appenders with mixed expected versions on its own", mixedConcurrentAppends),
        check("shows a tailing reader every position once, in order, while writers run", readerSeesNoGap),
        check("subscription catches up then goes live without gap or duplicate", subscriptionHandsOver),
        check("stores any protocol stream name exactly and lists it", keepsProtocolNames),
        check("keeps bytes, their content type and custom metadata byte for byte", keepsBytes),
        check("refuses every append after a tombstone, a re-sent tombstone excepted", refusesAfterTombstone),
        check("reads the global log backwards below a position", readsLogBackwards),
    ]

    private static func check(_ name: String, _ run: @escaping @Sendable (any EventStore) async throws -> Void)
        -> StoreContractCheck
    {
        StoreContractCheck(name: name, run: run)
    }

    /// A new event of `type` with a small JSON body.
    public static func event(_ type: String = "Happened", _ n: Int = 0, id: UUID = UUID(), metadata: Metadata = Metadata())
        -> NewEvent
    {
        NewEvent(id: id, type: type, data: Data("{\"n\":\(n)}".utf8), metadata: metadata)
    }

    static func stream(_ id: String, _ category: String = "thing") throws -> StreamName {
        try StreamName(category: category, id: id)
    }

    static func expectError(
        _ expected: EventStoreError, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () async throws -> some Any
    ) async {
        do {
            let value = try await body()
            Issue.record("expected \(expected), got \(value)", sourceLocation: sourceLocation)
        } catch let error as EventStoreError {
            #expect(error == expected, sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected \(expected), got \(error)", sourceLocation: sourceLocation)
        }
    }

    static func appendsToNewStream(_ store: any EventStore) async throws {
        let s = try stream("1")
        #expect(try await store.version(of: s) == 0)
        #expect(try await store.headPosition() == .start)
        let batch = (1...3).map { event("Happened", $0) }
        let result = try await store.append(batch, to: s, expecting: .noStream)
        #expect(result == AppendResult(streamVersion: 3, firstPosition: 1, lastPosition: 3, wasAlreadyStored: false))
        let read = try await store.read(s, from: 1, direction: .forwards, limit: 10)
        #expect(read.map(\.id) == batch.map(\.id))
        #expect(read.map(\.version) == [1, 2, 3])
        #expect(read.map(\.position) == [1, 2, 3])
        #expect(read.map(\.data) == batch.map(\.data))
        #expect(read.allSatisfy { $0.stream == s && $0.type == "Happened" && $0.schemaVersion == 1 })
        #expect(try await store.version(of: s) == 3)
        #expect(try await store.headPosition() == 3)
        let second = try await store.append([event()], to: try stream("2"), expecting: .any)
        #expect(second.firstPosition == 4 && second.streamVersion == 1)
    }

    static func checksExpectedVersion(_ store: any EventStore) async throws {
        let s = try stream("ev")
        await expectError(.wrongExpectedVersion(stream: s, expected: .streamExists, actual: 0)) {
            try await store.append([event()], to: s, expecting: .streamExists)
        }
        await expectError(.wrongExpectedVersion(stream: s, expected: .exactly(1), actual: 0)) {
            try await store.append([event()], to: s, expecting: .exactly(1))
        }
        _ = try await store.append([event()], to: s, expecting: .exactly(0))
        await expectError(.wrongExpectedVersion(stream: s, expected: .noStream, actual: 1)) {
            try await store.append([event()], to: s, expecting: .noStream)
        }
        await expectError(.wrongExpectedVersion(stream: s, expected: .exactly(0), actual: 1)) {
            try await store.append([event()], to: s, expecting: .exactly(0))
        }
        _ = try await store.append([event()], to: s, expecting: .streamExists)
        _ = try await store.append([event()], to: s, expecting: .exactly(2))
        _ = try await store.append([event()], to: s, expecting: .any)
        #expect(try await store.version(of: s) == 4)
        #expect(try await store.headPosition() == 4)
    }

    static func batchIsAtomic(_ store: any EventStore) async throws {
        let a = try stream("a")
        let b = try stream("b")
        let taken = event()
        _ = try await store.append([taken], to: a, expecting: .noStream)
        // A batch whose last event reuses an id of another stream: none of it may land.
        await expectError(.eventIdReused(id: taken.id, stream: b)) {
            try await store.append([event(), event(), taken], to: b, expecting: .noStream)
        }
        // A batch with the same id twice.
        let twice = event()
        await expectError(.duplicateIdInBatch(id: twice.id)) {
            try await store.append([twice, twice], to: b, expecting: .any)
        }
        await expectError(.emptyBatch(stream: b)) { try await store.append([], to: b, expecting: .any) }
        // A batch against a wrong version.
        await expectError(.wrongExpectedVersion(stream: a, expected: .exactly(5), actual: 1)) {
            try await store.append([event(), event()], to: a, expecting: .exactly(5))
        }
        #expect(try await store.version(of: b) == 0)
        #expect(try await store.version(of: a) == 1)
        #expect(try await store.headPosition() == 1)
        #expect(try await store.readAll(after: .start, limit: 100).count == 1)
        // The log stays gap-free after refused appends.
        let next = try await store.append([event(), event()], to: b, expecting: .noStream)
        #expect(next.firstPosition == 2 && next.lastPosition == 3)
    }

    static func resendIsIdempotent(_ store: any EventStore) async throws {
        let s = try stream("idem")
        _ = try await store.append([event()], to: try stream("other"), expecting: .any)
        let batch = [event("A", 1), event("B", 2)]
        let first = try await store.append(batch, to: s, expecting: .noStream)
        _ = try await store.append([event()], to: s, expecting: .exactly(2))
        // The retry arrives after more was written: same expected version, same ids.
        let again = try await store.append(batch, to: s, expecting: .noStream)
        #expect(again.wasAlreadyStored)
        #expect(again.firstPosition == first.firstPosition && again.lastPosition == first.lastPosition)
        #expect(again.streamVersion == first.streamVersion)
        #expect(try await store.version(of: s) == 3)
        #expect(try await store.headPosition() == 4)
        let all = try await store.readAll(after: .start, limit: 100)
        #expect(Set(all.map(\.id)).count == all.count)
    }

    static func refusesReusedIds(_ store: any EventStore) async throws {
        let s = try stream("reuse")
        let original = event("A", 1)
        _ = try await store.append([original, event("B", 2)], to: s, expecting: .noStream)
        var changed = original
        changed.data = Data("{\"n\":99}".utf8)
        await expectError(.eventIdReused(id: original.id, stream: s)) {
            try await store.append([changed], to: s, expecting: .any)
        }
        var retyped = original
        retyped.type = "Other"
        await expectError(.eventIdReused(id: original.id, stream: s)) {
            try await store.append([retyped], to: s, expecting: .any)
        }
        // Half of a stored batch plus a new event is not a retry.
        await expectError(.partiallyStoredBatch(stream: s)) {
            try await store.append([original, event("C", 3)], to: s, expecting: .any)
        }
        #expect(try await store.version(of: s) == 2)
        #expect(try await store.headPosition() == 2)
        let stored = try await store.read(s, from: 1, direction: .forwards, limit: 1)
        #expect(stored.first?.data == original.data)
    }

    /// "The same event" is the whole event: id, type, schema version, data and metadata. A re-send that
    /// differs in metadata (another causation, another conversation) or schema version is another event
    /// under a reused id, and is refused rather than silently answered with what was stored.
    static func resendMustMatchWhole(_ store: any EventStore) async throws {
        let s = try stream("whole")
        let original = event("A", 1, metadata: Metadata(causationId: UUID(), correlationId: UUID()))
        _ = try await store.append([original], to: s, expecting: .noStream)
        var otherMetadata = original
        otherMetadata.metadata = Metadata(causationId: UUID(), correlationId: original.metadata.correlationId)
        await expectError(.eventIdReused(id: original.id, stream: s)) {
            try await store.append([otherMetadata], to: s, expecting: .noStream)
        }
        var otherSchema = original
        otherSchema.schemaVersion = 2
        await expectError(.eventIdReused(id: original.id, stream: s)) {
            try await store.append([otherSchema], to: s, expecting: .noStream)
        }
        // The exact event again is still a retry.
        #expect(try await store.append([original], to: s, expecting: .noStream).wasAlreadyStored)
        #expect(try await store.headPosition() == 1)
    }

    /// Clients that time out re-send; several re-sends may arrive at once. Each must get the batch's one
    /// outcome, never a version conflict with its own twin.
    static func concurrentResendsWriteOnce(_ store: any EventStore) async throws {
        let s = try stream("twins")
        _ = try await store.append([event()], to: try stream("before"), expecting: .noStream)
        let batch = [event("A", 1), event("B", 2), event("C", 3)]
        let senders = 8
        let outcomes = await withTaskGroup(of: Result<AppendResult, any Error>.self) { group in
            for _ in 0..<senders {
                group.addTask {
                    do { return .success(try await store.append(batch, to: s, expecting: .noStream)) } catch { return .failure(error) }
                }
            }
            var all: [Result<AppendResult, any Error>] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        for case .failure(let error) in outcomes { Issue.record("a re-send failed: \(error)") }
        let results = outcomes.compactMap { try? $0.get() }
        #expect(results.count == senders)
        #expect(results.filter { !$0.wasAlreadyStored }.count == 1)
        #expect(Set(results.map { [$0.firstPosition.rawValue, $0.lastPosition.rawValue, $0.streamVersion] }) == [[2, 4, 3]])
        #expect(try await store.headPosition() == 4)
        #expect(try await store.read(s, from: 1, direction: .forwards, limit: 10).map(\.id) == batch.map(\.id))
    }

    static func readsStreams(_ store: any EventStore) async throws {
        let s = try stream("read")
        for n in 1...10 {
            _ = try await store.append([event("E", n)], to: s, expecting: .exactly(Int64(n - 1)))
            _ = try await store.append([event("Noise", n)], to: try stream("noise"), expecting: .any)
        }
        let forwards = try await store.read(s, from: 4, direction: .forwards, limit: 3)
        #expect(forwards.map(\.version) == [4, 5, 6])
        let backwards = try await store.read(s, from: 4, direction: .backwards, limit: 3)
        #expect(backwards.map(\.version) == [4, 3, 2])
        let newest = try await store.read(s, from: .max, direction: .backwards, limit: 2)
        #expect(newest.map(\.version) == [10, 9])
        let tail = try await store.read(s, from: 9, direction: .forwards, limit: 100)
        #expect(tail.map(\.version) == [9, 10])
        #expect(try await store.read(s, from: 11, direction: .forwards, limit: 5).isEmpty)
        #expect(try await store.read(try stream("missing"), from: 1, direction: .forwards, limit: 5).isEmpty)
        #expect(forwards.map(\.position) == [7, 9, 11])
        await expectError(.invalidRead("limit must be at least 1, was 0")) {
            try await store.read(s, from: 1, direction: .forwards, limit: 0)
        }
    }

    static func readsLogAndCategory(_ store: any EventStore) async throws {
        for n in 1...6 {
            _ = try await store.append([event("E", n)], to: try stream("\(n % 2)", n % 3 == 0 ? "gamma" : "alpha"), expecting: .any)
        }
        let all = try await store.readAll(after: 2, limit: 3)
        #expect(all.map(\.position) == [3, 4, 5])
        #expect(try await store.readAll(after: 6, limit: 10).isEmpty)
        let gamma = try await store.readCategory("gamma", after: .start, limit: 10)
        #expect(gamma.map(\.position) == [3, 6])
        let alpha = try await store.readCategory("alpha", after: 2, limit: 2)
        #expect(alpha.map(\.position) == [4, 5])
        #expect(try await store.readCategory("alp", after: .start, limit: 10).isEmpty)
    }

    static func listsStreams(_ store: any EventStore) async throws {
        for name in ["c", "a", "b", "a", "a"] {
            _ = try await store.append([event()], to: try stream(name), expecting: .any)
        }
        let first = try await store.streams(after: nil, limit: 2)
        #expect(first.map(\.name.description) == ["thing-a", "thing-b"])
        #expect(first.map(\.version) == [3, 1])
        #expect(first.first?.lastPosition == 5)
        let rest = try await store.streams(after: first.last?.name, limit: 10)
        #expect(rest.map(\.name.description) == ["thing-c"])
    }

    static func keepsProtocolNames(_ store: any EventStore) async throws {
        let names = ["1f0c5e2a-6bd3-4c39-9a43-3fd1c6b0e7a1", "snapshot-$order-7", "$$order-7", "no dash at all", "a-", "-a", "ünïcode-名前"]
        for name in names {
            let stream = try StreamName(protocolName: name)
            #expect(stream.description == name)
            _ = try await store.append([event()], to: stream, expecting: .noStream)
            let read = try await store.read(stream, from: 1, direction: .forwards, limit: 10)
            #expect(read.map(\.stream.description) == [name])
            #expect(try await store.version(of: stream) == 1)
        }
        let listed = try await store.streams(after: nil, limit: 100).map(\.name.description)
        #expect(Set(listed) == Set(names))
        #expect(try await store.readAll(after: .start, limit: 100).map(\.stream.description) == names)
        #expect((try? StreamName(protocolName: "")) == nil)
        #expect((try? StreamName(protocolName: "a\u{0}b")) == nil)
        #expect((try? StreamName(protocolName: String(repeating: "x", count: StreamName.maxProtocolNameLength + 1))) == nil)
    }

    static func keepsBytes(_ store: any EventStore) async throws {
        let binary = NewEvent(
            id: UUID(), type: "Blob", data: Data([0, 255, 0xC3, 0x28, 10, 0]), contentType: .octetStream,
            customMetadata: Data([1, 0, 2]))
        let unparsed = NewEvent(id: UUID(), type: "NotJSON", data: Data("{not json".utf8), contentType: .unparsedJSON)
        let empty = NewEvent(id: UUID(), type: "Empty", data: Data(), contentType: .unparsedJSON)
        let json = NewEvent(id: UUID(), type: "Json", data: Data("{\"a\":1}".utf8), customMetadata: Data("{\"m\":2}".utf8))
        let s = try stream("bytes")
        _ = try await store.append([binary, unparsed, empty, json], to: s, expecting: .noStream)
        let read = try await store.read(s, from: 1, direction: .forwards, limit: 10)
        #expect(read.map(\.data) == [binary.data, unparsed.data, empty.data, json.data])
        #expect(read.map(\.contentType) == [.octetStream, .unparsedJSON, .unparsedJSON, .json])
        #expect(read.map(\.customMetadata) == [binary.customMetadata, Data(), Data(), json.customMetadata])
        #expect(read.map(\.contentType.mediaType) == ["application/octet-stream", "application/json", "application/json", "application/json"])
        // The same batch re-sent is the same append; other bytes under the same id are refused.
        #expect(try await store.append([binary, unparsed, empty, json], to: s, expecting: .noStream).wasAlreadyStored)
        var changed = binary
        changed.customMetadata = Data([9])
        await expectError(.eventIdReused(id: binary.id, stream: s)) {
            try await store.append([changed, unparsed, empty, json], to: s, expecting: .noStream)
        }
    }

    static func refusesAfterTombstone(_ store: any EventStore) async throws {
        let s = try stream("doomed")
        _ = try await store.append([event(), event()], to: s, expecting: .noStream)
        let tombstone = NewEvent(id: UUID(), type: NewEvent.tombstoneType, data: Data("{}".utf8))
        let ended = try await store.append([tombstone], to: s, expecting: .exactly(2))
        #expect(ended.streamVersion == 3)
        await expectError(.streamDeleted(stream: s)) { try await store.append([event()], to: s, expecting: .any) }
        await expectError(.streamDeleted(stream: s)) { try await store.append([event()], to: s, expecting: .exactly(3)) }
        // A re-send of the tombstone is the same append, not a new one.
        #expect(
            try await store.append([tombstone], to: s, expecting: .exactly(2))
                == AppendResult(
                    streamVersion: 3, firstPosition: ended.firstPosition, lastPosition: ended.lastPosition, wasAlreadyStored: true))
        // Other streams are untouched.
        _ = try await store.append([event()], to: try stream("alive"), expecting: .noStream)
        #expect(try await store.version(of: s) == 3)
    }

    static func readsLogBackwards(_ store: any EventStore) async throws {
        for n in 0..<5 { _ = try await store.append([event("E", n)], to: try stream("\(n % 2)"), expecting: .any) }
        #expect(try await store.readAll(before: GlobalPosition(rawValue: 6), limit: 10).map(\.position.rawValue) == [5, 4, 3, 2, 1])
        #expect(try await store.readAll(before: GlobalPosition(rawValue: 4), limit: 2).map(\.position.rawValue) == [3, 2])
        #expect(try await store.readAll(before: GlobalPosition(rawValue: 1), limit: 2).isEmpty)
        #expect(try await store.readAll(before: GlobalPosition(rawValue: 100), limit: 2).map(\.position.rawValue) == [5, 4])
    }

    static func keepsMetadata(_ store: any EventStore) async throws {
        let cause = UUID()
        let correlation = UUID()
        let metadata = Metadata(causationId: cause, correlationId: correlation, extra: ["user": "ada"])
        let sent = event(metadata: metadata)
        _ = try await store.append([sent], to: try stream("meta"), expecting: .any)
        let read = try #require(try await store.readAll(after: .start, limit: 1).first)
        #expect(read.metadata == metadata)
        #expect(read.id == sent.id)
    }

    static func findsByIdAndCorrelation(_ store: any EventStore) async throws {
        let conversation = UUID()
        let first = event(metadata: Metadata(causationId: conversation, correlationId: conversation))
        _ = try await store.append([first], to: try stream("a"), expecting: .any)
        _ = try await store.append([event(), event()], to: try stream("b"), expecting: .any)
        let reply = event(metadata: Metadata(causationId: first.id, correlationId: conversation))
        _ = try await store.append([reply], to: try stream("c"), expecting: .any)
        #expect(try await store.event(id: reply.id)?.position == 4)
        #expect(try await store.event(id: reply.id)?.stream == (try stream("c")))
        #expect(try await store.event(id: UUID()) == nil)
        #expect(try await store.events(correlatedWith: conversation, limit: 10).map(\.id) == [first.id, reply.id])
        #expect(try await store.events(correlatedWith: conversation, limit: 1).map(\.id) == [first.id])
        #expect(try await store.events(correlatedWith: UUID(), limit: 10).isEmpty)
    }

    static func oneConcurrentWinner(_ store: any EventStore) async throws {
        let s = try stream("race")
        _ = try await store.append([event()], to: s, expecting: .noStream)
        let writers = 12
        let outcomes = await withTaskGroup(of: Result<AppendResult, any Error>.self) { group in
            for n in 0..<writers {
                group.addTask {
                    do { return .success(try await store.append([event("W", n), event("W", n)], to: s, expecting: .exactly(1))) } catch { return .failure(error) }
                }
            }
            var all: [Result<AppendResult, any Error>] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        let winners = outcomes.compactMap { try? $0.get() }
        #expect(winners.count == 1)
        #expect(winners.first?.streamVersion == 3)
        for case .failure(let error) in outcomes {
            #expect(error as? EventStoreError == .wrongExpectedVersion(stream: s, expected: .exactly(1), actual: 3))
        }
        let events = try await store.read(s, from: 1, direction: .forwards, limit: 100)
        #expect(events.map(\.version) == [1, 2, 3])
        #expect(try await store.headPosition() == 3)
    }

    /// Four pairs of streams, and at once: on the first of each pair four appenders expecting a new stream
    /// (one wins); on the second four appenders expecting any version (all win), one re-sending a batch
    /// another appender sends (one write, the same answer twice) and one with an event id already used
    /// elsewhere (refused). However the store groups them, each is answered for itself and the log ends
    /// gap-free.
    public static func mixedConcurrentAppends(_ store: any EventStore) async throws {
        enum Kind: Sendable { case new, any, resend, reused }
        let taken = event("Taken")
        _ = try await store.append([taken], to: try stream("elsewhere"), expecting: .noStream)
        let fresh = try (0..<4).map { try stream("fresh\($0)") }
        let shared = try (0..<4).map { try stream("shared\($0)") }
        let resent = shared.map { _ in event("Resent") }
        let outcomes = await withTaskGroup(of: (Int, Kind, Result<AppendResult, any Error>).self) { group in
            for index in 0..<4 {
                let jobs: [(Kind, StreamName, [NewEvent], ExpectedVersion)] =
                    (0..<4).map { _ in (Kind.new, fresh[index], [event("New")], ExpectedVersion.noStream) }
                    + (0..<4).map { _ in (Kind.any, shared[index], [event("Any"), event("Any")], ExpectedVersion.any) }
                    + [
                        (.resend, shared[index], [resent[index]], .any), (.resend, shared[index], [resent[index]], .any),
                        (.reused, shared[index], [taken], .any),
                    ]
                for (kind, s, events, expected) in jobs {
                    group.addTask {
                        do { return (index, kind, .success(try await store.append(events, to: s, expecting: expected))) } catch { return (index, kind, .failure(error)) }
                    }
                }
            }
            var all: [(Int, Kind, Result<AppendResult, any Error>)] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        for index in 0..<4 {
            let mine = outcomes.filter { $0.0 == index }
            let news = mine.filter { $0.1 == .new }.map(\.2)
            #expect(news.count { (try? $0.get()) != nil } == 1, "\(fresh[index]): one new-stream appender wins")
            for case .failure(let error) in news {
                guard case .wrongExpectedVersion(let name, .noStream, 1)? = error as? EventStoreError, name == fresh[index] else {
                    Issue.record("\(fresh[index]): \(error)")
                    continue
                }
            }
            #expect(mine.filter { $0.1 == .any }.allSatisfy { (try? $0.2.get()) != nil }, "\(shared[index]): every any-version appender wins")
            let resends = mine.filter { $0.1 == .resend }.compactMap { try? $0.2.get() }
            #expect(resends.count == 2 && resends.first?.lastPosition == resends.last?.lastPosition, "\(shared[index]): \(resends)")
            #expect(
                mine.filter { $0.1 == .reused }.allSatisfy {
                    if case .failure(let error) = $0.2, case .eventIdReused? = error as? EventStoreError { true } else { false }
                })
            #expect(try await store.version(of: fresh[index]) == 1)
            // 4 × 2 any + 1 resent.
            #expect(try await store.version(of: shared[index]) == 9, "\(shared[index])")
        }
        let log = try await store.readAll(after: .start, limit: 1_000)
        #expect(log.map(\.position.rawValue) == Array(1...Int64(1 + 4 * 10)))
        #expect(Set(log.map(\.id)).count == log.count)
    }

    static func readerSeesNoGap(_ store: any EventStore) async throws {
        let writers = 4
        let appendsPerWriter = 40
        let total = writers * appendsPerWriter * 2
        let shared = try stream("shared")
        let seen = try await tailLog(of: store, expecting: total, batchSize: 7) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for w in 0..<writers {
                    group.addTask {
                        let own = try stream("w\(w)")
                        for n in 0..<appendsPerWriter {
                            _ = try await store.append([event("Own", n)], to: own, expecting: .exactly(Int64(n)))
                            _ = try await store.append([event("Shared", n)], to: shared, expecting: .any)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }.map(\.position)
        #expect(seen == (1...Int64(total)).map { GlobalPosition(rawValue: $0) })
        #expect(try await store.version(of: shared) == Int64(writers * appendsPerWriter))
    }

    static func subscriptionHandsOver(_ store: any EventStore) async throws {
        let s = try stream("live")
        for n in 1...5 { _ = try await store.append([event("E", n)], to: s, expecting: .any) }
        var iterator = store.subscribe(after: 2, batchSize: 2, pollInterval: .milliseconds(50)).makeAsyncIterator()
        var positions: [GlobalPosition] = []
        for _ in 0..<3 { positions.append(try #require(try await iterator.next()).position) }
        #expect(positions == [3, 4, 5])
        // Live: written after the reader caught up.
        let writer = Task {
            for n in 6...9 { _ = try await store.append([event("E", n)], to: s, expecting: .any) }
        }
        for _ in 0..<4 { positions.append(try #require(try await iterator.next()).position) }
        try await writer.value
        #expect(positions == [3, 4, 5, 6, 7, 8, 9])
        // Filtered by category.
        _ = try await store.append([event()], to: try stream("x", "other"), expecting: .any)
        _ = try await store.append([event()], to: s, expecting: .any)
        var filtered = store.subscribe(after: 9, filter: .category("other"), pollInterval: .milliseconds(50)).makeAsyncIterator()
        #expect(try await filtered.next()?.position == 10)
    }
}

/// The contract every ``CheckpointStore`` passes.
public enum CheckpointStoreContract {
    /// Runs every rule against a fresh store.
    public static func run(_ store: any CheckpointStore) async throws {
        #expect(try await store.checkpoint(for: "p") == .start)
        try await store.store(5, for: "p")
        try await store.store(7, for: "q")
        #expect(try await store.checkpoint(for: "p") == 5)
        try await store.store(9, for: "p")
        #expect(try await store.checkpoint(for: "p") == 9)
        try await store.reset("p")
        #expect(try await store.checkpoint(for: "p") == .start)
        #expect(try await store.checkpoint(for: "q") == 7)
    }
}
