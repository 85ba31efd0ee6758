import NIOCore
import PostgresNIO
import RegistrarCore
import RegistrarSQL

/// A batch of registrations as one prepared statement: each column of the clients' rows (their
/// search terms included, which the schema's trigger indexes) is one array parameter, unnested by
/// the server. The statement's text is the same for any batch, so each pooled connection parses
/// and plans it once. Built through SQLKit, a batch of 30 was a new statement of about 1,900 bound
/// parameters, each encoded through `Codable`, that PostgreSQL parsed and planned again every time.
///
/// All or none: a duplicate client ID fails the whole statement (the batcher then
/// retries each client alone).
struct InsertClients: PostgresPreparedStatement {
    static let name = "registrar_insert_clients"
    static let sql = """
        INSERT INTO clients (\(SQLClientStore.insertColumns(.json)))
        SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::text[], $6::text[], $7::int8[],
                             $8::text[], $9::int4[], $10::int8[], $11::int8[], $12::text[])
        """
    typealias Row = ()

    let rows: [ClientRow]

    func makeBindings() throws -> PostgresBindings {
        let clients = rows.map(\.client)
        var bindings = PostgresBindings(capacity: 12)
        bindings.append(clients.map(\.clientID))
        bindings.append(rows.map(\.document))
        bindings.append(clients.map(\.createdAt.milliseconds))
        bindings.append(clients.map(\.updatedAt.milliseconds))
        try bindings.append(NullableArray(clients.map(\.secretDigest)))
        try bindings.append(NullableArray(clients.map(\.registrationTokenDigest)))
        bindings.append(clients.map(\.version))
        bindings.append(clients.map(\.policy))
        bindings.append(clients.map { Int32($0.dynamicallyRegistered ? 1 : 0) })
        try bindings.append(NullableArray(clients.map { $0.expiresAt?.milliseconds }))
        try bindings.append(NullableArray(clients.map { $0.lastUsedAt?.milliseconds }))
        bindings.append(rows.map(\.searchTerms))
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws {}
}

/// A new client with the values of its row that take work to write (its JSON document, its search
/// terms as JSON) and its weight in a batch, made by the registering request itself: the batch's
/// statement, which runs for every client of the batch at once, then only copies them.
struct ClientRow: Sendable {
    let client: RegisteredClient
    let document: String
    let searchTerms: String
    /// ``SQLClientStore/parameterCount(terms:)``, from the same list of terms.
    let parameters: Int

    init(_ client: RegisteredClient) {
        let terms = ClientSearchKind.allTerms(of: client)
        self.client = client
        self.document = client.document
        self.searchTerms = SQLClientStore.searchTermsJSON(terms)
        self.parameters = SQLClientStore.parameterCount(terms: terms.count)
    }
}

/// A one-dimensional PostgreSQL array whose elements may be `NULL` (PostgresNIO encodes arrays of
/// non-optional elements only), in the binary array format: dimensions, a has-nulls flag, the
/// element type, each dimension's length and lower bound, then each element as a length (-1 for
/// `NULL`) and its bytes.
struct NullableArray<Element: PostgresArrayEncodable>: PostgresEncodable {
    let elements: [Element?]

    init(_ elements: [Element?]) { self.elements = elements }

    static var psqlType: PostgresDataType { Element.psqlArrayType }
    static var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) throws {
        buffer.writeInteger(elements.isEmpty ? 0 : 1, as: Int32.self)
        buffer.writeInteger(elements.contains { $0 == nil } ? 1 : 0, as: Int32.self)
        buffer.writeInteger(Element.psqlType.rawValue)
        guard !elements.isEmpty else { return }
        buffer.writeInteger(Int32(elements.count))
        buffer.writeInteger(1, as: Int32.self)
        for element in elements {
            guard let element else {
                buffer.writeInteger(-1, as: Int32.self)
                continue
            }
            let lengthIndex = buffer.writerIndex
            buffer.writeInteger(0, as: Int32.self)
            let start = buffer.writerIndex
            try element.encode(into: &buffer, context: context)
            buffer.setInteger(Int32(buffer.writerIndex - start), at: lengthIndex)
        }
    }
}
