// The per-score work of identification after each sgemm tile: every score of a distractor row
// goes into the impostor histogram and the row's best score is kept. C, so the bin arithmetic
// runs in SIMD registers (Swift's SIMD min/max lower lane by lane).
#ifndef FFCSCAN_H
#define FFCSCAN_H

#include <stdint.h>

/// Adds each of the `n` scores in `row` to `hist` at bin ⌊(s + 1) · half_bins⌋ clamped to
/// [0, last_bin] (the float32 arithmetic of the numpy reference: s + 1 rounded, then scaled).
/// When the row's highest score beats `*best`, stores it in `*best` and returns its first
/// column; otherwise returns -1. O(n); about 1.5 cycles per score, the histogram increments.
long ffc_scan_impostor_row(
    const float *row, long n, uint32_t *hist, float half_bins, int32_t last_bin, float *best);

#endif
