import TestSupport
import Testing

@Test func seededGeneratorIsReproducible() {
    var a = SplitMix64(seed: 42)
    var b = SplitMix64(seed: 42)
    #expect(a.next() == b.next())
}
