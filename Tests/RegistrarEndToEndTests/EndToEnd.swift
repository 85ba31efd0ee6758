import Testing

/// Every end-to-end test, one at a time: they start real servers, measure timings and drive load,
/// and would disturb each other on a two-core machine.
@Suite("End to end", .serialized)
struct EndToEnd {}
