// How `ffc train` combines its flags with the `--config` file, a resumed run's saved config
// and the defaults: flag over file over saved config over default, field by field.
import Foundation
import Testing

@testable import FFCEngine

@Suite struct TrainingFlagsTests {
    /// An optimiser config file setting LR, epochs, warm-up, milestones and the scheduler.
    static func configFile() throws -> String {
        let path = NSTemporaryDirectory() + "ffc-flags-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).json"
        try """
        {"LR": ["float", "0.05"], "epochs": ["int", "7"], "warmup": ["int", "2"],
         "milestones": ["int", [3, 5]], "gammas": ["float", [0.5, 0.5]], "scheduler": ["str", "cosine"]}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func defaultsWhenNothingIsGiven() throws {
        var flags = TrainingFlags()
        flags.databases = ["a.lmdb"]
        let c = try flags.resolve(base: TrainingConfig(), runDir: "runs/x")
        var expected = TrainingConfig()
        expected.databases = ["a.lmdb"]
        expected.runDir = "runs/x"
        #expect(c == expected)
    }

    @Test func configFileBeatsDefaults() throws {
        let path = try Self.configFile()
        defer { try? FileManager.default.removeItem(atPath: path) }
        var flags = TrainingFlags()
        flags.databases = ["a.lmdb"]
        flags.config = path
        let c = try flags.resolve(base: TrainingConfig(), runDir: "runs/x")
        #expect(c.lr == 0.05)
        #expect(c.epochs == 7)
        #expect(c.warmup == 2)
        #expect(c.milestones == [3, 5])
        #expect(c.scheduler == .cosine)
        #expect(c.batchSize == TrainingConfig().batchSize)  // not in the file: default
    }

    @Test func flagsBeatTheConfigFile() throws {
        let path = try Self.configFile()
        defer { try? FileManager.default.removeItem(atPath: path) }
        var flags = TrainingFlags()
        flags.databases = ["a.lmdb"]
        flags.config = path
        flags.lr = 0.2
        flags.epochs = 9
        flags.milestones = "4,6"
        flags.scheduler = "multistep"
        let c = try flags.resolve(base: TrainingConfig(), runDir: "runs/x")
        #expect(c.lr == 0.2)
        #expect(c.epochs == 9)
        #expect(c.milestones == [4, 6])
        #expect(c.gammas == [0.5])  // --milestones keeps the file's first gamma
        #expect(c.scheduler == .multistep)
        #expect(c.warmup == 2)  // no flag: the file's
    }

    @Test func savedConfigIsTheBaseWhenResuming() throws {
        let path = try Self.configFile()
        defer { try? FileManager.default.removeItem(atPath: path) }
        var saved = TrainingConfig()
        saved.databases = ["saved.lmdb"]
        saved.batchSize = 48
        saved.lr = 0.3
        saved.featDim = 256
        var flags = TrainingFlags()
        flags.config = path
        flags.featDim = 128
        let c = try flags.resolve(base: saved, runDir: "runs/resumed")
        #expect(c.databases == ["saved.lmdb"])  // no databases given: the saved ones
        #expect(c.batchSize == 48)  // saved over default
        #expect(c.lr == 0.05)  // file over saved
        #expect(c.featDim == 128)  // flag over saved
        #expect(c.runDir == "runs/resumed")
    }

    @Test func flagValuesAreCheckedAndNamed() throws {
        var flags = TrainingFlags()
        flags.databases = ["a.lmdb"]
        flags.head = "xyz"
        #expect(throws: TrainingFlagError("--head xyz: expected one of ffc, fc, pfc")) {
            try flags.resolve(base: TrainingConfig(), runDir: "runs/x")
        }
        flags.head = "pfc"
        flags.lossType = "Arc"
        let c = try flags.resolve(base: TrainingConfig(), runDir: "runs/x")
        #expect(c.head == .pfc)
        #expect(c.lossType == .arc)
        var resizes = TrainingFlags()
        resizes.queueSizeAt = "10:20, 30:40"
        var d = TrainingConfig()
        try resizes.apply(to: &d)
        #expect(d.queueSizeAt == [.init(step: 10, queueSize: 20), .init(step: 30, queueSize: 40)])
        flags.milestones = "8,x"
        #expect(throws: TrainingFlagError("--milestones 8,x: expected epochs like 8,14,17")) {
            try flags.resolve(base: TrainingConfig(), runDir: "runs/x")
        }
    }

    @Test func timestampNamesRunsInUTC() {
        #expect(TrainingFlags.timestamp(Date(timeIntervalSince1970: 0)) == "19700101-000000")
    }
}
