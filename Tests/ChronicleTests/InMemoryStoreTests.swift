import Chronicle
import ChronicleTesting
import Testing

@Suite struct InMemoryStoreTests {
    @Test(arguments: StoreContract.checks)
    func keepsTheStoreContract(_ check: StoreContractCheck) async throws {
        try await check.run(InMemoryEventStore())
    }

    @Test func checkpointStoreKeepsTheContract() async throws {
        try await CheckpointStoreContract.run(InMemoryCheckpointStore())
    }
}
