/// A regular expression matched in time linear in the text (a Thompson automaton simulated breadth
/// first), for the filters clients send: no pattern can make a match cost more than
/// `text length × program size`, whatever a backtracking engine would do with it.
///
/// The dialect is the part of .NET's that filters use: literals, `.`, `^`, `$`, classes (`[a-z]`,
/// `[^…]`), `\d \D \w \W \s \S`, escaped punctuation and `\t \n \r`, groups `( )` and `(?: )`,
/// alternation, `* + ?` and `{n}`, `{n,}`, `{n,m}` (a trailing `?`, lazy, changes nothing for a match),
/// and lookahead `(?= )`, `(?! )` — the clients' default filter is `^(?!(\$.+$|…))`. Back-references,
/// lookbehind, named groups and inline options are refused. A match is a search, as .NET's `IsMatch`.
struct LinearRegex: Sendable {
    /// Why a pattern is refused.
    struct SyntaxError: Error, CustomStringConvertible {
        let description: String
    }

    /// The most instructions a pattern may compile to.
    static let maxProgram = 4_096
    /// The most lookaheads in one pattern.
    static let maxLookaheads = 8

    private let main: Program
    private let lookaheads: [Program]

    init(_ pattern: String) throws(SyntaxError) {
        var parser = Parser(Array(pattern.unicodeScalars))
        let node = try parser.parseAll()
        var compiler = Compiler()
        main = try compiler.program(node)
        lookaheads = compiler.lookaheads
    }

    /// Whether the pattern matches anywhere in `text`.
    func matches(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        var memo: [Int: Bool] = [:]
        return run(main, on: scalars, from: 0, searching: true, memo: &memo)
    }

    // MARK: Matching

    /// Whether `program` matches `text` starting at `start` (anywhere from it, when searching).
    private func run(_ program: Program, on text: [Unicode.Scalar], from start: Int, searching: Bool, memo: inout [Int: Bool]) -> Bool {
        var current = ThreadSet(size: program.instructions.count)
        var next = ThreadSet(size: program.instructions.count)
        var position = start
        if add(0, program, &current, at: position, text, &memo) { return true }
        while position < text.count {
            let scalar = text[position]
            next.clear()
            for pc in current.list {
                if case .scalar(let set) = program.instructions[pc], set.contains(scalar) {
                    if add(pc + 1, program, &next, at: position + 1, text, &memo) { return true }
                }
            }
            position += 1
            if searching, add(0, program, &next, at: position, text, &memo) { return true }
            swap(&current, &next)
            if current.list.isEmpty, !searching { return false }
        }
        return false
    }

    /// Adds the thread at `pc` and every thread it reaches without reading; true when one matches.
    private func add(_ pc: Int, _ program: Program, _ set: inout ThreadSet, at position: Int, _ text: [Unicode.Scalar], _ memo: inout [Int: Bool])
        -> Bool
    {
        var stack = [pc]
        while let pc = stack.popLast() {
            guard set.insert(pc) else { continue }
            switch program.instructions[pc] {
            case .match: return true
            case .scalar: break
            case .jump(let target): stack.append(target)
            case .split(let a, let b): stack.append(contentsOf: [b, a])
            case .start: if position == 0 { stack.append(pc + 1) }
            case .end: if position == text.count { stack.append(pc + 1) }
            case .look(let index, let negative):
                // Each lookahead at each position is run once (memo), anchored there.
                let key = index &* 1_000_003 &+ position
                let found: Bool
                if let known = memo[key] {
                    found = known
                } else {
                    found = run(lookaheads[index], on: text, from: position, searching: false, memo: &memo)
                    memo[key] = found
                }
                if found != negative { stack.append(pc + 1) }
            }
        }
        return false
    }

    private struct ThreadSet {
        var list: [Int] = []
        var seen: [Bool]
        init(size: Int) { seen = [Bool](repeating: false, count: size) }
        mutating func insert(_ pc: Int) -> Bool {
            if seen[pc] { return false }
            seen[pc] = true
            list.append(pc)
            return true
        }
        mutating func clear() {
            for pc in list { seen[pc] = false }
            list.removeAll(keepingCapacity: true)
        }
    }

    // MARK: Programs

    fileprivate enum Instruction: Sendable {
        case scalar(ScalarSet)
        case split(Int, Int)
        case jump(Int)
        case start
        case end
        case look(Int, negative: Bool)
        case match
    }

    fileprivate struct Program: Sendable {
        var instructions: [Instruction]
    }

    fileprivate struct ScalarSet: Sendable {
        enum Item: Sendable {
            case range(UInt32, UInt32)
            case digit, word, space
            case notDigit, notWord, notSpace
        }
        var items: [Item]
        var negated = false

        func contains(_ scalar: Unicode.Scalar) -> Bool {
            let found = items.contains { item in
                switch item {
                case .range(let low, let high): low <= scalar.value && scalar.value <= high
                case .digit: Self.isDigit(scalar)
                case .word: Self.isWord(scalar)
                case .space: Self.isSpace(scalar)
                case .notDigit: !Self.isDigit(scalar)
                case .notWord: !Self.isWord(scalar)
                case .notSpace: !Self.isSpace(scalar)
                }
            }
            return found != negated
        }

        static func isDigit(_ s: Unicode.Scalar) -> Bool { s.properties.numericType == .decimal }
        static func isWord(_ s: Unicode.Scalar) -> Bool { s == "_" || s.properties.isAlphabetic || isDigit(s) }
        static func isSpace(_ s: Unicode.Scalar) -> Bool { s.properties.isWhitespace }
        static let any = ScalarSet(items: [.range(10, 10)], negated: true)
    }

    fileprivate indirect enum Node {
        case empty
        case scalar(ScalarSet)
        case sequence([Node])
        case alternation([Node])
        case repeated(Node, min: Int, max: Int?)
        case start, end
        case look(Node, negative: Bool)
    }

    // MARK: Parsing

    fileprivate struct Parser {
        let pattern: [Unicode.Scalar]
        var index = 0
        var lookaheads = 0

        init(_ pattern: [Unicode.Scalar]) { self.pattern = pattern }

        mutating func parseAll() throws(SyntaxError) -> Node {
            let node = try parseAlternation()
            guard index == pattern.count else { throw SyntaxError(description: "an unmatched ')'") }
            return node
        }

        private var peek: Unicode.Scalar? { index < pattern.count ? pattern[index] : nil }

        private mutating func parseAlternation() throws(SyntaxError) -> Node {
            var branches = [try parseSequence()]
            while peek == "|" {
                index += 1
                branches.append(try parseSequence())
            }
            return branches.count == 1 ? branches[0] : .alternation(branches)
        }

        private mutating func parseSequence() throws(SyntaxError) -> Node {
            var items: [Node] = []
            while let c = peek, c != "|", c != ")" {
                var atom = try parseAtom()
                while let q = peek, let (min, max) = try parseQuantifier(q) {
                    if case .start = atom { throw SyntaxError(description: "a quantifier after an anchor") }
                    if case .end = atom { throw SyntaxError(description: "a quantifier after an anchor") }
                    atom = .repeated(atom, min: min, max: max)
                    if peek == "?" { index += 1 }  // lazy: the same set of matches
                    if peek == "+" { throw SyntaxError(description: "possessive quantifiers are not supported") }
                }
                items.append(atom)
            }
            return items.count == 1 ? items[0] : .sequence(items)
        }

        /// A quantifier at the index (consumed), or nil when the text there is not one.
        private mutating func parseQuantifier(_ q: Unicode.Scalar) throws(SyntaxError) -> (Int, Int?)? {
            switch q {
            case "*":
                index += 1
                return (0, nil)
            case "+":
                index += 1
                return (1, nil)
            case "?":
                index += 1
                return (0, 1)
            case "{":
                // {n}, {n,}, {n,m}; anything else is a literal brace, as in .NET.
                var i = index + 1
                func number(_ i: inout Int) -> Int? {
                    var value = 0
                    var digits = 0
                    while i < pattern.count, let d = Int(String(pattern[i])), pattern[i].isASCII {
                        value = value * 10 + d
                        digits += 1
                        i += 1
                        if value > 1_000 { return 1_001 }
                    }
                    return digits > 0 ? value : nil
                }
                guard let low = number(&i) else { return nil }
                var high: Int? = low
                if i < pattern.count, pattern[i] == "," {
                    i += 1
                    high = number(&i)
                }
                guard i < pattern.count, pattern[i] == "}" else { return nil }
                guard low <= 100, (high ?? 0) <= 100 else { throw SyntaxError(description: "a repetition count above 100") }
                if let high, high < low { throw SyntaxError(description: "a repetition {n,m} with m below n") }
                index = i + 1
                return (low, high)
            default:
                return nil
            }
        }

        private mutating func parseAtom() throws(SyntaxError) -> Node {
            guard let c = peek else { throw SyntaxError(description: "the pattern ends early") }
            index += 1
            switch c {
            case "(":
                var look: Bool?
                if peek == "?" {
                    let kind = index + 1 < pattern.count ? pattern[index + 1] : " "
                    switch kind {
                    case ":": index += 2
                    case "=": (look, index) = (false, index + 2)
                    case "!": (look, index) = (true, index + 2)
                    default: throw SyntaxError(description: "only (?: ), (?= ) and (?! ) groups are supported")
                    }
                }
                if look != nil {
                    lookaheads += 1
                    guard lookaheads <= LinearRegex.maxLookaheads else {
                        throw SyntaxError(description: "more than \(LinearRegex.maxLookaheads) lookaheads")
                    }
                }
                let inner = try parseAlternation()
                guard peek == ")" else { throw SyntaxError(description: "an unclosed '('") }
                index += 1
                if let negative = look { return .look(inner, negative: negative) }
                return inner
            case "[": return .scalar(try parseClass())
            case ".": return .scalar(.any)
            case "^": return .start
            case "$": return .end
            case "\\": return .scalar(try parseEscape(inClass: false))
            case "*", "+", "?": throw SyntaxError(description: "a quantifier with nothing to repeat")
            default: return .scalar(ScalarSet(items: [.range(c.value, c.value)]))
            }
        }

        private mutating func parseEscape(inClass: Bool) throws(SyntaxError) -> ScalarSet {
            guard let c = peek else { throw SyntaxError(description: "a pattern ending in '\\'") }
            index += 1
            switch c {
            case "d": return ScalarSet(items: [.digit])
            case "D": return ScalarSet(items: [.notDigit])
            case "w": return ScalarSet(items: [.word])
            case "W": return ScalarSet(items: [.notWord])
            case "s": return ScalarSet(items: [.space])
            case "S": return ScalarSet(items: [.notSpace])
            case "t": return ScalarSet(items: [.range(9, 9)])
            case "n": return ScalarSet(items: [.range(10, 10)])
            case "r": return ScalarSet(items: [.range(13, 13)])
            default:
                // Escaped punctuation stands for itself; letters and digits would be classes,
                // back-references or options this dialect does not have.
                guard c.isASCII, !c.properties.isAlphabetic, !(("0"..."9").contains(c)) else {
                    throw SyntaxError(description: "the escape \\\(c) is not supported")
                }
                return ScalarSet(items: [.range(c.value, c.value)])
            }
        }

        private mutating func parseClass() throws(SyntaxError) -> ScalarSet {
            var set = ScalarSet(items: [])
            if peek == "^" {
                set.negated = true
                index += 1
            }
            var first = true
            while true {
                guard let c = peek else { throw SyntaxError(description: "an unclosed '['") }
                if c == "]", !first {
                    index += 1
                    return set
                }
                first = false
                index += 1
                var low: UInt32
                if c == "\\" {
                    let escaped = try parseEscape(inClass: true)
                    guard escaped.items.count == 1, case .range(let l, let h) = escaped.items[0], l == h else {
                        set.items.append(contentsOf: escaped.items)
                        continue
                    }
                    low = l
                } else {
                    low = c.value
                }
                if peek == "-", index + 1 < pattern.count, pattern[index + 1] != "]" {
                    index += 1
                    guard var high = peek?.value else { throw SyntaxError(description: "an unclosed '['") }
                    index += 1
                    if high == UInt32(UInt8(ascii: "\\")) {
                        let escaped = try parseEscape(inClass: true)
                        guard escaped.items.count == 1, case .range(let l, _) = escaped.items[0] else {
                            throw SyntaxError(description: "a class range ending in a class")
                        }
                        high = l
                    }
                    guard low <= high else { throw SyntaxError(description: "a class range out of order") }
                    set.items.append(.range(low, high))
                } else {
                    set.items.append(.range(low, low))
                }
            }
        }
    }

    // MARK: Compiling

    fileprivate struct Compiler {
        var lookaheads: [Program] = []

        mutating func program(_ node: Node) throws(SyntaxError) -> Program {
            var code: [Instruction] = []
            try emit(node, into: &code)
            code.append(.match)
            return Program(instructions: code)
        }

        private mutating func emit(_ node: Node, into code: inout [Instruction]) throws(SyntaxError) {
            guard code.count <= LinearRegex.maxProgram else {
                throw SyntaxError(description: "the pattern is too large once its repetitions are spelled out")
            }
            switch node {
            case .empty: break
            case .scalar(let set): code.append(.scalar(set))
            case .start: code.append(.start)
            case .end: code.append(.end)
            case .sequence(let items): for item in items { try emit(item, into: &code) }
            case .alternation(let branches):
                // split L1, next; L1: branch; jump end; …
                var jumps: [Int] = []
                for (i, branch) in branches.enumerated() {
                    if i < branches.count - 1 {
                        let split = code.count
                        code.append(.split(0, 0))
                        try emit(branch, into: &code)
                        jumps.append(code.count)
                        code.append(.jump(0))
                        code[split] = .split(split + 1, code.count)
                    } else {
                        try emit(branch, into: &code)
                    }
                }
                for jump in jumps { code[jump] = .jump(code.count) }
            case .repeated(let inner, let min, let max):
                for _ in 0..<min { try emit(inner, into: &code) }
                if let max {
                    // Each optional copy: split into it or past the rest.
                    var splits: [Int] = []
                    for _ in min..<max {
                        splits.append(code.count)
                        code.append(.split(0, 0))
                        try emit(inner, into: &code)
                    }
                    for split in splits { code[split] = .split(split + 1, code.count) }
                } else {
                    let loop = code.count
                    code.append(.split(0, 0))
                    try emit(inner, into: &code)
                    code.append(.jump(loop))
                    code[loop] = .split(loop + 1, code.count)
                }
            case .look(let inner, let negative):
                var sub = Compiler()
                let program = try sub.program(inner)
                guard sub.lookaheads.isEmpty else { throw SyntaxError(description: "a lookahead inside a lookahead") }
                lookaheads.append(program)
                code.append(.look(lookaheads.count - 1, negative: negative))
            }
            guard code.count <= LinearRegex.maxProgram else {
                throw SyntaxError(description: "the pattern is too large once its repetitions are spelled out")
            }
        }
    }
}
