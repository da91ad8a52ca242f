import Foundation
import SkeinCore

/// The benchmark's records: 8 fields, about 400 bytes of JSON each, deterministic.
enum BenchRecords {
    static let words = ["amber", "birch", "cedar", "delta", "ember", "fjord", "grove", "harbor", "iris", "juniper", "kestrel", "linden"]

    static func record(_ id: Int) -> JSON {
        let w = { (i: Int) in words[(id &* 7 &+ i) % words.count] }
        let description = (0..<40).map { w($0) }.joined(separator: " ")
        return [
            "id": JSON(id),
            "name": .string("\(w(1).capitalized) \(w(2).capitalized)"),
            "email": .string("\(w(3)).\(id)@example.com"),
            "city": .string(w(4).capitalized + " City"),
            "description": .string(String(description.prefix(300))),
            "age": JSON(18 + id % 60),
            "score": .number(Double(id % 1000) / 7.0),
            "active": .bool(id % 2 == 0),
        ]
    }

    /// A batch of `count` records with ids starting at `first`.
    static func batch(first: Int, count: Int) -> [JSON] {
        (first..<(first + count)).map(record)
    }
}
