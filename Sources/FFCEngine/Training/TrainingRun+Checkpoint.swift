// Training: what a checkpoint holds and how a trainer is restored from one. Tensors:
// `probe.*` and, for FFC, `gallery.*` (weights and batch-norm statistics), `optim.*` (momentum),
// `head.pool.*` (FFC: banks, positions, LRU order, pool RNG) or `head.fc.*` (fc/pfc: weights,
// momentum, sampler RNG). Metadata: step, config, LR factor, and both
// loaders' cursors and seeds as JSON (and ReduceLROnPlateau's epoch means) — so a resumed run
// draws the same batches at the same rates.
import Foundation

extension TrainingRun {
    static let learningRateFactorKey = "lr_factor", identityLoaderKey = "identity_loader",
        instanceLoaderKey = "instance_loader", plateauKey = "plateau", ranksKey = "ranks",
        globalBatchKey = "global_batch"

    /// ReduceLROnPlateau's state as bit patterns, so a resumed run's rates are exact.
    struct PlateauState: Codable {
        var history: [UInt32]
        var epochLossSum: UInt64
        var epochLossCount: Int
    }

    static func checkpoint(of trainer: Trainer) -> SafeTensorsFile {
        var file = SafeTensorsFile()
        for (name, t) in trainer.probe.stateDict() { file["probe." + name] = t }
        for (name, t) in trainer.gallery?.net.stateDict() ?? [:] { file["gallery." + name] = t }
        for (name, t) in trainer.optimizer.stateDict() { file["optim." + name] = t }
        for (name, t) in trainer.head.exportState() { file["head." + name] = t }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        file.metadata[learningRateFactorKey] = String(trainer.learningRate.factor.bitPattern)
        // The loader cursors count global batches, so any number of ranks resumes them whose
        // ranks × batch_size is this.
        file.metadata[ranksKey] = String(trainer.ranks)
        file.metadata[globalBatchKey] = String(trainer.ranks * trainer.config.batchSize)
        file.metadata[identityLoaderKey] = String(
            decoding: (try? encoder.encode(trainer.identityLoader.state)) ?? Data(), as: UTF8.self)
        file.metadata[instanceLoaderKey] = String(
            decoding: (try? encoder.encode(trainer.instanceLoader.state)) ?? Data(), as: UTF8.self)
        if let plateau = trainer.learningRate.plateau {
            let state = PlateauState(
                history: plateau.history.map(\.bitPattern), epochLossSum: plateau.epochLossSum.bitPattern,
                epochLossCount: plateau.epochLossCount)
            file.metadata[plateauKey] = String(decoding: (try? encoder.encode(state)) ?? Data(), as: UTF8.self)
        }
        return file
    }

    static func restore(_ trainer: Trainer, from checkpoint: CheckpointStore.Loaded) throws {
        let (file, step, saved, path) = (checkpoint.file, checkpoint.step, checkpoint.config, checkpoint.file.path)
        guard saved.netType == trainer.config.netType, saved.featDim == trainer.config.featDim,
            saved.head == trainer.config.head
        else {
            throw TrainerError.checkpointMismatch(
                path: path,
                reason:
                    "checkpoint is \(saved.netType)-\(saved.featDim) with head \(saved.head.rawValue), the run is \(trainer.config.netType)-\(trainer.config.featDim) with head \(trainer.config.head.rawValue)"
            )
        }
        let globalBatch = trainer.ranks * trainer.config.batchSize
        if let text = file.metadata[globalBatchKey], let saved = Int(text), saved != globalBatch {
            let savedRanks = file.metadata[ranksKey] ?? "?"
            throw TrainerError.checkpointMismatch(
                path: path,
                reason:
                    "saved with \(savedRanks) rank(s) and a global batch of \(saved) pairs; this run has \(trainer.ranks) × \(trainer.config.batchSize) = \(globalBatch): pass --batch-size \(saved / trainer.ranks) (the global batch must divide by the ranks)"
            )
        }
        func section(_ prefix: String) -> [String: NamedTensor] {
            Dictionary(
                uniqueKeysWithValues: file.tensors.filter { $0.key.hasPrefix(prefix) }.map {
                    (String($0.key.dropFirst(prefix.count)), $0.value)
                })
        }
        try trainer.probe.load(section("probe."))
        try trainer.gallery?.net.load(section("gallery."))
        trainer.optimizer.load(section("optim."))
        var head = SafeTensorsFile()
        head.path = path
        for (name, t) in section("head.") { head[name] = t }
        try trainer.head.restoreState(from: head)
        let decoder = JSONDecoder()
        guard let factorText = file.metadata[learningRateFactorKey], let factorBits = UInt32(factorText),
            let identityText = file.metadata[identityLoaderKey], let instanceText = file.metadata[instanceLoaderKey],
            let identity = try? decoder.decode(LoaderState.self, from: Data(identityText.utf8)),
            let instance = try? decoder.decode(LoaderState.self, from: Data(instanceText.utf8))
        else { throw CheckpointError.incompatible(path: path, reason: "loader or LR state missing from metadata") }
        trainer.learningRate.factor = Float(bitPattern: factorBits)
        if trainer.learningRate.plateau != nil {
            guard let text = file.metadata[plateauKey],
                let state = try? decoder.decode(PlateauState.self, from: Data(text.utf8))
            else {
                throw CheckpointError.incompatible(path: path, reason: "ReduceLROnPlateau state missing from metadata")
            }
            trainer.learningRate.restorePlateau(
                history: state.history.map(Float.init(bitPattern:)),
                epochLossSum: Double(bitPattern: state.epochLossSum),
                epochLossCount: state.epochLossCount)
        }
        trainer.step = step
        try trainer.restoreLoaders(identity: identity, instance: instance)
    }
}
