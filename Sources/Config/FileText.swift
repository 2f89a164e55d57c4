import Foundation

/// Whole-file reads for configuration files (the one place outside the YAML loader that touches files).
public enum FileText {
    public static func read(_ path: String) -> String? {
        try? String(contentsOfFile: path, encoding: .utf8)
    }
}
