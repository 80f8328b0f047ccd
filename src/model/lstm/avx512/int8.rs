//! int8 products with AVX512-VNNI: `vpdpbusd` multiplies four unsigned 8-bit activations by
//! four signed 8-bit weights and adds the four products to an int32 lane, four times the
//! work of a float32 FMA per instruction.
//!
//! Activations x in (-1, 1) become `round(127·x) + 128`, an unsigned byte. The offset of 128
//! adds `128 · Σ_k w_k` to each sum, which is subtracted before the sum is scaled back to a
//! float by the weight row's scale over 127.

use std::arch::x86_64::*;

use super::{dispatch_rows, dispatch_tiles, finish_step, lane_mask, store_projection, Sums, MAX_ROWS};
use crate::model::lstm::pack::{Int8Matrix, PackedMatrix, ACTIVATION_LEVELS, ACTIVATION_OFFSET, BLOCK_COLUMNS};
use crate::model::lstm::{row_groups, ProjectRows, StepRows};

type IntegerSums<const R: usize, const NB: usize> = [[[__m512i; 2]; NB]; R];

/// Sums `rows[r][k] · W[column][k]` over the depth, four values per word, for the columns of
/// NB blocks from `block`.
#[target_feature(enable = "avx512f,avx512vnni")]
#[inline]
unsafe fn multiply<const R: usize, const NB: usize>(
    rows: &[*const u32; R],
    weights: &PackedMatrix,
    block: usize,
) -> IntegerSums<R, NB> {
    let panel_words = weights.panel_words();
    let panel = weights.words.as_ptr().add(block * panel_words);
    let mut sums = [[[_mm512_setzero_si512(); 2]; NB]; R];
    for k in 0..weights.depth_words {
        let mut w = [[_mm512_setzero_si512(); 2]; NB];
        for (b, pair) in w.iter_mut().enumerate() {
            let row = panel.add(b * panel_words + k * BLOCK_COLUMNS);
            *pair = [_mm512_load_si512(row.cast()), _mm512_load_si512(row.add(16).cast())];
        }
        for r in 0..R {
            let x = _mm512_set1_epi32(*rows[r].add(k) as i32);
            for b in 0..NB {
                sums[r][b][0] = _mm512_dpbusd_epi32(sums[r][b][0], x, w[b][0]);
                sums[r][b][1] = _mm512_dpbusd_epi32(sums[r][b][1], x, w[b][1]);
            }
        }
    }
    sums
}

/// Turns integer sums back into float32: `(sum − offset) · scale` per column.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn dequantize<const R: usize, const NB: usize>(
    sums: &IntegerSums<R, NB>,
    weights: &Int8Matrix,
    block: usize,
) -> Sums<R, NB> {
    let mut values = [[[_mm512_setzero_ps(); 2]; NB]; R];
    for b in 0..NB {
        for half in 0..2 {
            let column = (block + b) * BLOCK_COLUMNS + 16 * half;
            let offset = _mm512_loadu_si512(weights.offset[column..column + 16].as_ptr().cast());
            let scale = _mm512_loadu_ps(weights.dequantize[column..column + 16].as_ptr());
            for r in 0..R {
                let integer = _mm512_sub_epi32(sums[r][b][half], offset);
                values[r][b][half] = _mm512_mul_ps(_mm512_cvtepi32_ps(integer), scale);
            }
        }
    }
    values
}

/// Quantises `count` floats in (-1, 1) at `source` to offset bytes, four per word at
/// `target`. A tail short of four is padded with the byte for zero.
#[target_feature(enable = "avx512f,avx512vl")]
unsafe fn quantize_row(source: *const f32, count: usize, target: *mut u32) {
    let levels = _mm512_set1_ps(ACTIVATION_LEVELS);
    let (min, max) = (_mm512_set1_epi32(-127), _mm512_set1_epi32(127));
    let offset = _mm512_set1_epi32(ACTIVATION_OFFSET);
    let mut done = 0;
    while done < count {
        let left = count - done;
        // Masked-off lanes are not read, so addresses past the row are never accessed.
        let x = _mm512_maskz_loadu_ps(lane_mask(left), source.wrapping_add(done));
        let level = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(x, levels)), min), max);
        let bytes = _mm512_cvtepi32_epi8(_mm512_add_epi32(level, offset));
        let words = left.min(16).div_ceil(4);
        _mm_mask_storeu_epi32(target.add(done / 4).cast(), lane_mask(words) as __mmask8, bytes);
        done += 16;
    }
}

unsafe fn quantize_rows(sources: &[*const f32], count: usize, target: &mut [u32], words: usize) {
    assert!(target.len() >= sources.len() * words, "scratch too small for the quantised rows");
    for (row, &source) in sources.iter().enumerate() {
        quantize_row(source, count, target[row * words..].as_mut_ptr());
    }
}

/// Computes `inputs · Wᵀ + bias` for every row, in packed column order. The inputs must lie
/// in [-1, 1] (the hidden states of the layer below); larger values saturate.
///
/// # Safety
/// AVX512-VNNI, BW and VL must be available, and the pointers of `rows` valid as
/// [`ProjectRows`] describes for `weights`.
pub unsafe fn project(weights: &Int8Matrix, bias: &[f32], rows: &ProjectRows<'_>, scratch: &mut [u32]) {
    let words = weights.matrix.depth_words;
    quantize_rows(rows.inputs, weights.matrix.depth, scratch, words);

    let quantized = scratch.as_ptr();
    for block in 0..weights.matrix.blocks() {
        for group in row_groups(rows.len(), MAX_ROWS) {
            let gates = &rows.gates[group.clone()];
            dispatch_rows!(group.len(), project_tile(weights, bias, block, quantized.add(group.start * words), gates));
        }
    }
}

#[target_feature(enable = "avx512f,avx512vnni")]
unsafe fn project_tile<const R: usize>(
    weights: &Int8Matrix,
    bias: &[f32],
    block: usize,
    quantized: *const u32,
    gates: &[*mut f32],
) {
    let inputs: [*const u32; R] = std::array::from_fn(|r| quantized.add(r * weights.matrix.depth_words));
    let sums = dequantize(&multiply::<R, 1>(&inputs, &weights.matrix, block), weights, block);
    store_projection(&sums, bias, gates, block);
}

/// Runs one time step for every row, as the float32 kernel does, with h_{t-1} quantised to
/// 8 bits for the recurrent product.
///
/// # Safety
/// AVX512-VNNI, BW and VL must be available, and the pointers of `rows` valid as
/// [`StepRows`] describes.
pub unsafe fn step(weights: &Int8Matrix, rows: &StepRows<'_>, scratch: &mut [u32]) {
    let words = weights.matrix.depth_words;
    if let Some(hidden_in) = rows.hidden_in {
        quantize_rows(hidden_in, weights.matrix.depth, scratch, words);
    }

    let quantized = scratch.as_ptr();
    for group in row_groups(rows.len(), MAX_ROWS) {
        let first = quantized.add(group.start * words);
        let rows = rows.select(group.clone());
        dispatch_tiles!(group.len(), step_group(weights, &rows, first));
    }
}

#[target_feature(enable = "avx512f,avx512vnni")]
unsafe fn step_group<const R: usize, const NB: usize>(
    weights: &Int8Matrix,
    rows: &StepRows<'_>,
    quantized: *const u32,
) {
    let inputs: [*const u32; R] = std::array::from_fn(|r| quantized.add(r * weights.matrix.depth_words));
    let blocks = weights.matrix.blocks();
    let mut block = 0;
    while block + NB <= blocks {
        step_tile::<R, NB>(weights, rows, &inputs, block);
        block += NB;
    }
    while block < blocks {
        step_tile::<R, 1>(weights, rows, &inputs, block);
        block += 1;
    }
}

#[target_feature(enable = "avx512f,avx512vnni")]
#[inline]
unsafe fn step_tile<const R: usize, const NB: usize>(
    weights: &Int8Matrix,
    rows: &StepRows<'_>,
    inputs: &[*const u32; R],
    block: usize,
) {
    let sums = match rows.hidden_in {
        Some(_) => dequantize(&multiply::<R, NB>(inputs, &weights.matrix, block), weights, block),
        None => [[[_mm512_setzero_ps(); 2]; NB]; R],
    };
    finish_step(&sums, rows, block);
}
