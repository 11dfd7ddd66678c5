// Prefetch: asking the CPU to start loading a cache line the next operation will need.
//
// The LRU's operations are bound by cache misses, not instructions: at capacity 100k nearly
// every `get` misses and touches the new key's table group, the least recent slot's record
// and that key's group. The next operation's victim is known one operation early, so its lines
// can be requested while the caller is still busy with this one; a batch knows its next keys
// (LRUCache+Batch), and a rollback the journal entries it undoes next (LRUCache+Journal).

/// LLVM's prefetch intrinsic (`prefetcht0` on x86), reached by symbol name because the Swift
/// standard library exposes no prefetch. Arguments: address, 0 = read / 1 = write,
/// locality 0...3 (3 = keep in all cache levels), 1 = data cache.
@_silgen_name("llvm.prefetch.p0")
private func llvmPrefetch(_ address: UnsafeRawPointer, _ write: Int32, _ locality: Int32, _ cache: Int32)

/// Starts loading the cache line of `address` for writing; no effect on program state.
@inline(__always)
func prefetchForWriting(_ address: UnsafeRawPointer) {
    llvmPrefetch(address, 1, 3, 1)
}
