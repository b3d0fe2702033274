import Foundation
import Testing

@testable import ChronicleKurrent

/// The filter dialect: what it matches (a search, as .NET's IsMatch), what it refuses, and that no
/// pattern costs more than linear time.
struct LinearRegexTests {
    static let cases: [(pattern: String, text: String, matches: Bool)] = [
        ("abc", "xxabcxx", true),
        ("^abc", "xxabc", false),
        ("abc$", "xxabc", true),
        ("^a.c$", "abc", true),
        ("^a.c$", "a\nc", false),
        ("^(order|invoice)-", "invoice-7", true),
        ("^(order|invoice)-", "shipment-7", false),
        ("^a|b$", "xb", true),
        ("colou?r", "color", true),
        ("^\\d{3}-\\d{2,}$", "123-45", true),
        ("^\\d{3}-\\d{2,}$", "123-4", false),
        ("^[a-c]+[^a-c]$", "abcx", true),
        ("^[a-c]+[^a-c]$", "abcc", false),
        ("^\\w+\\s\\S$", "word x", true),
        ("\\$", "$metadata", true),
        ("^\\$.+", "$metadata", true),
        ("[\\-.]", "a-b", true),
        ("a{2}", "a", false),
        ("(ab)*c", "ababc", true),
        ("x*", "", true),
        // The clients' default filter: event types that are not system types, PersistentConfig or Result.
        ("^(?!(\\$.+$|PersistentConfig\\d+$|Result$))", "OrderPlaced", true),
        ("^(?!(\\$.+$|PersistentConfig\\d+$|Result$))", "$metadata", false),
        ("^(?!(\\$.+$|PersistentConfig\\d+$|Result$))", "PersistentConfig12", false),
        ("^(?!(\\$.+$|PersistentConfig\\d+$|Result$))", "Results", true),
        ("^(?!(\\$.+$|PersistentConfig\\d+$|Result$))", "Result", false),
        ("^(?=order)", "order-1", true),
        ("^(?=order)", "orders", true),
        ("^(?=order)", "invoice", false),
        ("ü", "grün", true),
    ]

    @Test(arguments: cases.indices)
    func matchesAsDotNetDoes(_ index: Int) throws {
        let (pattern, text, expected) = Self.cases[index]
        #expect(try LinearRegex(pattern).matches(text) == expected, "\(pattern) on \(text)")
    }

    @Test(arguments: [
        "(a)\\1", "(?<x>a)\\k<x>", "(?P<x>a)(?P=x)", "(a)\\g1", "(?x)a b", "(?i)a", "(?<=a)b", "(?<!a)b", "a++",
        "(", ")", "[a", "*a", "a{3,1}", "a{101}", "\\q", "(?=(?=a))",
    ])
    func refuses(_ pattern: String) {
        #expect(throws: LinearRegex.SyntaxError.self) { try LinearRegex(pattern) }
    }

    @Test func refusesProgramsTooLargeOnceSpelledOut() {
        #expect(throws: LinearRegex.SyntaxError.self) { try LinearRegex("((a{100}){100}){100}") }
    }

    /// Patterns a backtracking engine takes exponential or high polynomial time on: here each is
    /// answered over a long failing text in a fraction of a second.
    @Test(arguments: ["(a+)+$", "(a|aa)*b$", "(a*)*b", ".*.*.*.*.*.*.*b", "^(\\w+\\s?)*$"])
    func costsLinearTime(_ pattern: String) throws {
        let regex = try LinearRegex(pattern)
        let text = String(repeating: "a", count: 1_000) + "!"
        let clock = ContinuousClock()
        let elapsed = clock.measure { #expect(!regex.matches(text)) }
        #expect(elapsed < .seconds(2), "\(pattern) took \(elapsed)")
    }
}
