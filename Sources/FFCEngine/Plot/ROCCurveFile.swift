// Plot: ROC CSV files read back for plotting — any header naming `fpr` and `tpr` columns, as
// `ROCCurve.csv` (`fpr,tpr,threshold`) and `ffc eval verify --roc` (`threshold,fpr,tpr`) write.
import Foundation

public enum ROCCurveFileError: Error, CustomStringConvertible, Equatable {
    case cannotRead(path: String)
    case badLine(path: String, line: Int, reason: String)
    public var description: String {
        switch self {
        case .cannotRead(let path): return "\(path): cannot read"
        case .badLine(let path, let line, let reason): return "\(path):\(line): \(reason)"
        }
    }
}

public enum ROCCurveFile {
    public static func read(path: String) throws -> (fpr: [Double], tpr: [Double]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ROCCurveFileError.cannotRead(path: path)
        }
        var fprColumn = -1
        var tprColumn = -1
        var fpr: [Double] = []
        var tpr: [Double] = []
        for (i, raw) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let fields = String(decoding: raw, as: UTF8.self).split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            if fields.allSatisfy(\.isEmpty) { continue }
            if fprColumn < 0 {
                guard let f = fields.firstIndex(of: "fpr"), let t = fields.firstIndex(of: "tpr") else {
                    throw ROCCurveFileError.badLine(
                        path: path, line: i + 1, reason: "expected a header naming the fpr and tpr columns")
                }
                (fprColumn, tprColumn) = (f, t)
                continue
            }
            guard fields.count > max(fprColumn, tprColumn), let f = Double(fields[fprColumn]),
                let t = Double(fields[tprColumn]), (0...1).contains(f), (0...1).contains(t)
            else {
                throw ROCCurveFileError.badLine(
                    path: path, line: i + 1,
                    reason: "expected fpr and tpr in 0…1 in columns \(fprColumn + 1), \(tprColumn + 1)")
            }
            fpr.append(f)
            tpr.append(t)
        }
        guard !fpr.isEmpty else {
            throw ROCCurveFileError.badLine(path: path, line: 1, reason: "no ROC points")
        }
        return (fpr, tpr)
    }
}
