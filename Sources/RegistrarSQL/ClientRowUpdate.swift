public import SQLKit

/// An update of one client's row at the version it was read at: the columns to write and their
/// values. ``SQLClientStore`` builds it once; a provider may run it as it likes (SQLite's group
/// commit puts the updates of a batch in one statement), or ``statement`` runs it on its own.
public struct ClientRowUpdate: Sendable {
    /// A column's new value.
    public enum Value: Sendable, Equatable {
        case text(String?)
        case integer(Int64?)
    }

    /// The client whose row this updates.
    public let clientID: String
    /// The version the row must still have; if it has another, nothing is written.
    public let expectedVersion: Int64
    /// The `SET` list: column names (the schema's own, never input) and their values, in order.
    public let assignments: [(column: String, value: Value)]

    public init(clientID: String, expectedVersion: Int64, assignments: [(column: String, value: Value)]) {
        self.clientID = clientID
        self.expectedVersion = expectedVersion
        self.assignments = assignments
    }

    /// The assignments' columns, in order.
    public var columns: [String] { assignments.map(\.column) }

    /// Whether `other` writes the same columns in the same order (then the two can share a
    /// statement); compared without building either list.
    public func hasSameColumns(as other: ClientRowUpdate) -> Bool {
        assignments.elementsEqual(other.assignments) { $0.column == $1.column }
    }

    /// The update as one statement: `UPDATE clients SET ... WHERE client_id = ? AND version = ?
    /// RETURNING client_id` (a row back if it matched).
    public var statement: SQLQueryString {
        """
        UPDATE clients SET \(Self.setList(assignments))
        WHERE client_id = \(bind: clientID) AND version = \(bind: expectedVersion)
        RETURNING client_id
        """
    }

    /// `column = ?, ...` for `assignments`, each value bound.
    static func setList(_ assignments: [(column: String, value: Value)]) -> SQLQueryString {
        var set: [SQLQueryString] = []
        set.reserveCapacity(assignments.count)
        for (column, value) in assignments {
            switch value {
            case .text(let text): set.append("\(ident: column) = \(bind: text)")
            case .integer(let integer): set.append("\(ident: column) = \(bind: integer)")
            }
        }
        return set.joined(separator: ", ")
    }
}
