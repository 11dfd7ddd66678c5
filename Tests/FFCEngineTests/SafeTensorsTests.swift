import Foundation
import Testing

@testable import FFCEngine

@Suite struct SafeTensorsTests {
    @Test func roundTripKeepsEveryTensorAndMetadata() throws {
        var file = SafeTensorsFile()
        file["w"] = NamedTensor(floats: [1, -2.5, 3, 4, 5, 6], shape: [2, 3])
        file["step"] = NamedTensor(ints: [42], shape: [1])
        file.metadata["net"] = "tiny"
        let path = NSTemporaryDirectory() + "st-\(UUID().uuidString).safetensors"
        defer { unlink(path) }
        try file.write(path: path)
        let back = try SafeTensorsFile.read(path: path)
        #expect(back["w"]?.floats == [1, -2.5, 3, 4, 5, 6])
        #expect(back["w"]?.shape == [2, 3])
        #expect(back["step"]?.ints == [42])
        #expect(back.metadata["net"] == "tiny")
    }

    @Test func truncatedFileIsRefusedWithItsPath() throws {
        var file = SafeTensorsFile()
        file["w"] = NamedTensor(floats: [1, 2, 3], shape: [3])
        let bytes = file.encode()
        #expect(throws: SafeTensorsError.truncated(path: "x")) {
            _ = try SafeTensorsFile.decode(Array(bytes.prefix(bytes.count - 4)), path: "x")
        }
    }
}
