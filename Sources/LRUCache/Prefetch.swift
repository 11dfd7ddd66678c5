// Prefetch: asking the CPU to start loading a cache line the next operation will need.
//
// At capacity 100k nearly every `get` misses and touches two table groups at random places:
// the new key's and the evicted key's. The slot records are reused in ascending runs, which
// the hardware prefetcher follows. The next victim is known one operation early, so its
// group is requested while the caller is still busy with this one; a batch knows its next
// keys (LRUCache+Batch). With those lines near, an operation costs its ~200 instructions
// (counted with callgrind), so the rest of the work went into having fewer of them.

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
