// Control: the control socket's protocol. Each side sends one JSON object per line.
// Client → server: `{"id": n, "request": …}`; server → client: snapshot deltas (pushed at the
// subscribed rate, or once on request) and `{"reply": {"id": n, …}}` answers.
import Foundation

public enum ControlRequest: Sendable, Equatable, Codable {
    case command(TrainerCommand)
    case inspect(sort: PoolSortKey, offset: Int, limit: Int)
    case lookup(identity: Int)
    case sampleImage(identity: Int)
    /// One delta now, then `.accepted`.
    case snapshot
    /// Deltas pushed `hz` times a second from now on (0 stops them).
    case subscribe(hz: Double)
}

public struct ClientMessage: Sendable, Equatable, Codable {
    public var id: Int
    public var request: ControlRequest
    public init(id: Int, request: ControlRequest) {
        self.id = id
        self.request = request
    }
}

public enum ControlReply: Sendable, Equatable, Codable {
    case accepted
    case slots([PoolSlotInfo])
    case slot(PoolSlotInfo?)
    case image(SampleImage?)
    case error(String)
}

public enum ServerMessage: Sendable, Equatable, Codable {
    case delta(SnapshotDelta)
    case reply(id: Int, ControlReply)
}

/// The line coding both ends use; public so the fuzz harness decodes exactly what the server does.
public enum ControlCoding {
    static func encodeLine<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var bytes = [UInt8]((try? encoder.encode(value)) ?? Data())
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    public static func decode<T: Decodable>(_ type: T.Type, line: [UInt8]) throws -> T {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(type, from: Data(line))
    }
}
