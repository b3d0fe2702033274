import Chronicle
import Foundation
import Logging
import Synchronization

/// A mail the application sends.
public struct Mail: Codable, Hashable, Sendable {
    /// A stable id: the same mail sent again carries the same id, so a receiver can drop the repeat.
    public var id: UUID
    /// The recipient's address.
    public var to: String
    /// The subject line.
    public var subject: String
    /// The text.
    public var body: String

    /// Makes a mail.
    public init(id: UUID, to: String, subject: String, body: String) {
        self.id = id
        self.to = to
        self.subject = subject
        self.body = body
    }
}

/// Where mail goes. Implementations deliver a mail id at most once: delivering an id again delivers
/// nothing and answers the first delivery's date (SMTP receivers do the same with Message-ID).
public protocol MailSink: Sendable {
    /// Delivers `mail` (once) and answers the calendar date `YYYY-MM-DD` it was delivered on.
    func deliver(_ mail: Mail) async throws -> String
}

/// A ``MailSink`` for a process that runs no reactor (`chronicle send`, `streams`, `projections`): its
/// modules need an outlet to be made, and nothing is ever delivered through it.
public struct DiscardingMailSink: MailSink {
    /// The sink.
    public init() {}
    public func deliver(_ mail: Mail) async throws -> String { "" }
}

/// The default ``MailSink`` (the Todo notifier's mail, the pizza courier's messages): appends each mail as a JSON line to a file,
/// and logs it. Several processes may share the file: a delivery takes an exclusive `flock` on it and
/// reads what others wrote before deciding whether the mail is new.
public final class FileMailbox: MailSink {
    /// One delivered mail as the file holds it.
    public struct Delivered: Codable, Hashable, Sendable {
        /// The mail.
        public var mail: Mail
        /// The date it was delivered on, `YYYY-MM-DD`.
        public var deliveredOn: String

        enum CodingKeys: String, CodingKey {
            case mail, deliveredOn = "delivered_on"
        }
    }

    /// Today's date in UTC, `YYYY-MM-DD`.
    @Sendable public static func utcToday() -> String {
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC") ?? .current, from: Date())
        return String(format: "%04d-%02d-%02d", c.year ?? 1970, c.month ?? 1, c.day ?? 1)
    }

    /// The mailbox file.
    public let path: String
    private let today: @Sendable () -> String
    private let logger: Logger
    /// What this process knows the file holds, and how far it has read it.
    private let known = Mutex<(delivered: [UUID: String], offset: UInt64)>(([:], 0))

    /// Opens (or creates) the mailbox at `path`; `today` gives the delivery date (by default today's date
    /// in UTC, `YYYY-MM-DD`).
    public init(
        path: String, today: @escaping @Sendable () -> String = FileMailbox.utcToday, logger: Logger = Logger(label: "chronicle.mail")
    ) throws {
        self.path = path
        self.today = today
        self.logger = logger
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
        }
    }

    /// Every mail in the mailbox file, oldest first. A torn last line (a writer that died or ran out of
    /// disk mid-line) is not a mail and is left out.
    public static func read(path: String) throws -> [Delivered] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        guard let lastNewline = data.lastIndex(of: UInt8(ascii: "\n")) else { return [] }
        return try parse(data[data.startIndex...lastNewline])
    }

    private static func parse(_ data: Data) throws -> [Delivered] {
        try data.split(separator: UInt8(ascii: "\n")).map { try JSONDecoder().decode(Delivered.self, from: Data($0)) }
    }

    public func deliver(_ mail: Mail) async throws -> String {
        let (deliveredOn, isNew) = try known.withLock { known in
            let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            guard flock(handle.fileDescriptor, LOCK_EX) == 0 else { throw CocoaError(.fileLocking) }
            defer { flock(handle.fileDescriptor, LOCK_UN) }
            // What other processes appended since this one last looked.
            try handle.seek(toOffset: known.offset)
            let fresh = try handle.readToEnd() ?? Data()
            let complete = fresh.lastIndex(of: UInt8(ascii: "\n")).map { fresh[fresh.startIndex...$0] } ?? Data()
            for entry in try Self.parse(Data(complete)) { known.delivered[entry.mail.id] = entry.deliveredOn }
            known.offset += UInt64(complete.count)
            if complete.count < fresh.count {
                // Every writer holds the lock for a whole line, so a partial line here is a torn write
                // (a crash, a full disk): it delivered nothing. Cut it, or the next line would join it.
                logger.warning("mailbox had a torn last line; removing it", metadata: ["bytes": "\(fresh.count - complete.count)"])
                try handle.truncate(atOffset: known.offset)
            }
            if let first = known.delivered[mail.id] { return (first, false) }
            let entry = Delivered(mail: mail, deliveredOn: today())
            var line = try StoredJSON.encode(entry, slashes: .escaped)  // NOTE: stored format: `/` escaped
            line.append(UInt8(ascii: "\n"))
            let end = try handle.seekToEnd()
            do {
                try handle.write(contentsOf: line)
                try handle.synchronize()
            } catch {
                // A whole line or nothing: a failed write (ENOSPC) must not leave part of one behind.
                try? handle.truncate(atOffset: end)
                throw error
            }
            known.delivered[mail.id] = entry.deliveredOn
            known.offset = end + UInt64(line.count)
            return (entry.deliveredOn, true)
        }
        if isNew {
            logger.info("mail sent", metadata: ["to": "\(mail.to)", "subject": "\(mail.subject)", "mail_id": "\(mail.id)"])
        }
        return deliveredOn
    }
}
