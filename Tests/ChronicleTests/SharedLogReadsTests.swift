import Chronicle
import ChronicleTesting
import Foundation
import Testing

@Suite struct SharedLogReadsTests {
    @Test(arguments: StoreContract.checks)
    func keepsTheStoreContract(_ check: StoreContractCheck) async throws {
        try await check.run(SharedLogReads(InMemoryEventStore()))
    }

    private func appended(_ count: Int, to store: some EventStore) async throws {
        for n in 0..<count {
            _ = try await store.append([StoreContract.event("E", n)], to: StreamName("thing-\(n)"), expecting: .noStream)
        }
    }

    /// Read models woken by one append ask for the same events: the store reads them once.
    @Test func readsOfTheSameEventsAreSharedWhileNothingIsAppended() async throws {
        let base = InMemoryEventStore()
        try await appended(3, to: base)
        let reads = SharedLogReads(base, maxAge: .seconds(60))
        let first = try await reads.readAll(after: .start, limit: 10)
        let second = try await reads.readAll(after: .start, limit: 10)
        let fewer = try await reads.readAll(after: .start, limit: 2)
        #expect(first.map(\.position) == [1, 2, 3])
        #expect(second.map(\.id) == first.map(\.id))
        #expect(fewer.map(\.position) == [1, 2])
        #expect(reads.readsFromStore == 1)
        _ = try await reads.readAll(after: GlobalPosition(rawValue: 1), limit: 10)
        #expect(reads.readsFromStore == 2)
    }

    /// An append made since a read began retires it: a reader never misses an event committed before
    /// it asked.
    @Test func anAppendRetiresASharedRead() async throws {
        let base = InMemoryEventStore()
        try await appended(3, to: base)
        let reads = SharedLogReads(base, maxAge: .seconds(60))
        #expect(try await reads.readAll(after: .start, limit: 10).count == 3)
        _ = try await base.append([StoreContract.event()], to: StreamName("other-1"), expecting: .noStream)
        #expect(try await reads.readAll(after: .start, limit: 10).count == 4)
        #expect(reads.readsFromStore == 2)
    }

    /// A read older than `maxAge` is not shared: another process's append (which no signal announces
    /// here) is seen within that time.
    @Test func anOldReadIsNotShared() async throws {
        let base = InMemoryEventStore()
        try await appended(2, to: base)
        let reads = SharedLogReads(base, maxAge: .zero)
        _ = try await reads.readAll(after: .start, limit: 10)
        _ = try await reads.readAll(after: .start, limit: 10)
        #expect(reads.readsFromStore == 2)
    }
}
