import Foundation
import Testing

@testable import FFCEngine

@Suite struct TrainingConfigTests {
    static let originalOptimConfig = """
        {
          "scheduler": ["str",   "multistep"],
          "epochs"   : ["int",   "19"],
          "warmup"   : ["int",   "0"],
          "patience" : ["int",  "4"],
          "milestones": ["int",  [8, 14, 17]],
          "gammas": ["float", [0.1, 0.1, 0.1]],
          "LR_min"  : ["float", "0.00001"],
          "optim"    : ["str",   "SGD"],
          "LR"       : ["float", "0.1"],
          "decay"    : ["float", "0.0001"],
          "momentum" : ["float", "0.9"],
          "nesterov" : ["bool",  "1"]
        }
        """

    @Test func originalOptimConfigFileParsesIntoTheSchedule() throws {
        var config = TrainingConfig()
        config.lr = 0.5
        config.epochs = 3
        config.nesterov = false
        try config.applyOptimConfig(json: Self.originalOptimConfig, path: "optim_config")
        #expect(config.lr == 0.1)
        #expect(config.epochs == 19)
        #expect(config.milestones == [8, 14, 17])
        #expect(config.gammas == [0.1, 0.1, 0.1])
        #expect(config.lrMin == 0.00001)
        #expect(config.weightDecay == 0.0001)
        #expect(config.nesterov)
        #expect(config.scheduler == .multistep)
        try config.validate()
    }

    @Test func unknownKeyIsAnErrorNamingFileAndKey() {
        var config = TrainingConfig()
        #expect(
            throws: TrainingConfigError.unknownKey(path: "f", key: "lr_decay", known: TrainingConfig.optimConfigKeys)
        ) {
            try config.applyOptimConfig(json: #"{"lr_decay": ["float", "0.1"]}"#, path: "f")
        }
    }

    @Test func malformedPairsAreErrorsNamingTheKey() {
        var config = TrainingConfig()
        for json in [
            #"{"LR": "0.1"}"#, #"{"LR": ["float", "fast"]}"#, #"{"LR": ["double", "0.1"]}"#,
            #"{"epochs": ["float", "3"]}"#, #"{"milestones": ["int", [1, "x"]]}"#, #"{"optim": ["str", "Adam"]}"#,
        ] {
            do {
                try config.applyOptimConfig(json: json, path: "f")
                Issue.record("accepted \(json)")
            } catch let error as TrainingConfigError {
                guard case .badEntry(let path, _, _) = error else {
                    Issue.record("wrong error \(error) for \(json)")
                    continue
                }
                #expect(path == "f")
            } catch { Issue.record("untyped error \(error)") }
        }
        #expect(throws: TrainingConfigError.self) { try config.applyOptimConfig(json: "{not json", path: "f") }
    }

    @Test func invalidValuesAreRefusedWithTheKey() {
        var config = TrainingConfig()
        config.queueSize = 0
        #expect(throws: TrainingConfigError.invalid(key: "queue_size", value: "0", reason: "must be > 0")) {
            try config.validate()
        }
        config = TrainingConfig()
        config.milestones = [5, 2]
        #expect(throws: TrainingConfigError.self) { try config.validate() }
    }

    @Test func poolResizeScheduleIsCheckedAndRoundTrips() throws {
        var config = TrainingConfig()
        config.queueSizeAt = [.init(step: 10, queueSize: 200), .init(step: 30, queueSize: 100)]
        try config.validate()
        #expect(try TrainingConfig.decode(json: config.encodedJSON()) == config)
        #expect(config.encodedJSON().contains("\"queue_size_at\""))
        let refused: [([TrainingConfig.QueueResize], TrainingConfig.HeadKind, String)] = [
            ([.init(step: 30, queueSize: 1), .init(step: 10, queueSize: 2)], .ffc, "steps must be increasing"),
            ([.init(step: 10, queueSize: 1), .init(step: 10, queueSize: 2)], .ffc, "steps must be increasing"),
            ([.init(step: 0, queueSize: 5)], .ffc, "steps and sizes must be ≥ 1"),
            ([.init(step: 5, queueSize: 0)], .ffc, "steps and sizes must be ≥ 1"),
            ([.init(step: 5, queueSize: 9)], .fc, "resizes the class pool: needs head ffc"),
        ]
        for (schedule, head, reason) in refused {
            var c = TrainingConfig()
            c.queueSizeAt = schedule
            c.head = head
            let text = schedule.map { "\($0.step):\($0.queueSize)" }.joined(separator: ",")
            #expect(throws: TrainingConfigError.invalid(key: "queue_size_at", value: text, reason: reason)) {
                try c.validate()
            }
        }
    }

    @Test func configJSONRoundTripsWithTheOriginalsKeyNames() throws {
        var config = TrainingConfig()
        config.queueSize = 123
        config.lossType = .arc
        config.databases = ["a.lmdb", "b.lmdb"]
        let json = config.encodedJSON()
        #expect(json.contains("\"queue_size\" : 123"))
        #expect(json.contains("\"loss_type\" : \"Arc\""))
        #expect(try TrainingConfig.decode(json: json) == config)
        let partial = try TrainingConfig.decode(json: #"{"batch_size": 8}"#)
        #expect(partial.batchSize == 8 && partial.queueSize == TrainingConfig().queueSize)
    }

    @Test func summaryStatesTheSplitAndImagesPerStep() {
        var config = TrainingConfig()
        config.batchSize = 64
        let text = config.summaryLines(identities: 1000, images: 64000).joined(separator: "\n")
        #expect(config.probeImagesPerPass == 96)
        #expect(config.probeImagesPerStep == 192)
        #expect(text.contains("x = 64 pair firsts + 32 instances"))
        #expect(text.contains("1000 steps/epoch"))
    }
}
