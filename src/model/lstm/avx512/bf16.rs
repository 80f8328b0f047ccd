//! bfloat16 products with AVX512-BF16: `vdpbf16ps` multiplies two pairs of bfloat16 values
//! and adds both products to a float32 lane, twice the work of a float32 FMA per instruction.
//! Activations are rounded to bfloat16 (to nearest, ties to even) before each product.

use std::arch::x86_64::*;
use std::mem::transmute;

use super::{dispatch_rows, dispatch_tiles, finish_step, lane_mask, store_projection, Sums, MAX_ROWS};
use crate::model::lstm::pack::{PackedMatrix, BLOCK_COLUMNS};
use crate::model::lstm::{row_groups, ProjectRows, StepRows};

/// Sums `rows[r][k] · W[column][k]` over the depth, a pair of values per word, for the
/// columns of NB blocks from `block`.
#[target_feature(enable = "avx512f,avx512bf16")]
#[inline]
unsafe fn multiply<const R: usize, const NB: usize>(
    rows: &[*const u32; R],
    weights: &PackedMatrix,
    block: usize,
) -> Sums<R, NB> {
    let panel_words = weights.panel_words();
    let panel = weights.words.as_ptr().add(block * panel_words);
    let mut sums = [[[_mm512_setzero_ps(); 2]; NB]; R];
    for k in 0..weights.depth_words {
        let mut w: [[__m512bh; 2]; NB] = [[transmute(_mm512_setzero_si512()); 2]; NB];
        for (b, pair) in w.iter_mut().enumerate() {
            let row = panel.add(b * panel_words + k * BLOCK_COLUMNS);
            *pair = [transmute(_mm512_load_si512(row.cast())), transmute(_mm512_load_si512(row.add(16).cast()))];
        }
        for r in 0..R {
            let x: __m512bh = transmute(_mm512_set1_epi32(*rows[r].add(k) as i32));
            for b in 0..NB {
                sums[r][b][0] = _mm512_dpbf16_ps(sums[r][b][0], x, w[b][0]);
                sums[r][b][1] = _mm512_dpbf16_ps(sums[r][b][1], x, w[b][1]);
            }
        }
    }
    sums
}

/// Rounds `count` floats at `source` to bfloat16 and stores them at `target` as
/// `count.div_ceil(2)` pair words, an odd tail padded with zero.
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn convert_row(source: *const f32, count: usize, target: *mut u32) {
    let mut done = 0;
    while done < count {
        let left = count - done;
        // Masked-off lanes are not read, so the addresses past the row are never accessed.
        let low = _mm512_maskz_loadu_ps(lane_mask(left), source.wrapping_add(done));
        let high = _mm512_maskz_loadu_ps(lane_mask(left.saturating_sub(16)), source.wrapping_add(done + 16));
        let pairs: __m512i = transmute(_mm512_cvtne2ps_pbh(high, low));
        _mm512_mask_storeu_epi32(target.add(done / 2).cast(), lane_mask(left.min(32).div_ceil(2)), pairs);
        done += 32;
    }
}

/// Rounds each row of `sources` to bfloat16 pairs, row `i` at `target[i · words ..]`.
unsafe fn convert_rows(sources: &[*const f32], count: usize, target: &mut [u32], words: usize) {
    assert!(target.len() >= sources.len() * words, "scratch too small for the converted rows");
    for (row, &source) in sources.iter().enumerate() {
        convert_row(source, count, target[row * words..].as_mut_ptr());
    }
}

/// Computes `inputs · Wᵀ + bias` for every row, in packed column order.
///
/// # Safety
/// AVX512-BF16 must be available, and the pointers of `rows` valid as [`ProjectRows`]
/// describes for `weights`.
pub unsafe fn project(weights: &PackedMatrix, bias: &[f32], rows: &ProjectRows<'_>, scratch: &mut [u32]) {
    let words = weights.depth_words;
    convert_rows(rows.inputs, weights.depth, scratch, words);

    let converted = scratch.as_ptr();
    for block in 0..weights.blocks() {
        for group in row_groups(rows.len(), MAX_ROWS) {
            let gates = &rows.gates[group.clone()];
            dispatch_rows!(group.len(), project_tile(weights, bias, block, converted.add(group.start * words), gates));
        }
    }
}

#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn project_tile<const R: usize>(
    weights: &PackedMatrix,
    bias: &[f32],
    block: usize,
    converted: *const u32,
    gates: &[*mut f32],
) {
    let inputs: [*const u32; R] = std::array::from_fn(|r| converted.add(r * weights.depth_words));
    let sums = multiply::<R, 1>(&inputs, weights, block);
    store_projection(&sums, bias, gates, block);
}

/// Runs one time step for every row, as the float32 kernel does, with h_{t-1} rounded to
/// bfloat16 for the recurrent product.
///
/// # Safety
/// AVX512-BF16 must be available, and the pointers of `rows` valid as [`StepRows`] describes.
pub unsafe fn step(weights: &PackedMatrix, rows: &StepRows<'_>, scratch: &mut [u32]) {
    let words = weights.depth_words;
    if let Some(hidden_in) = rows.hidden_in {
        convert_rows(hidden_in, weights.depth, scratch, words);
    }

    let converted = scratch.as_ptr();
    for group in row_groups(rows.len(), MAX_ROWS) {
        let first = converted.add(group.start * words);
        let rows = rows.select(group.clone());
        dispatch_tiles!(group.len(), step_group(weights, &rows, first));
    }
}

#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn step_group<const R: usize, const NB: usize>(
    weights: &PackedMatrix,
    rows: &StepRows<'_>,
    converted: *const u32,
) {
    let inputs: [*const u32; R] = std::array::from_fn(|r| converted.add(r * weights.depth_words));
    let blocks = weights.blocks();
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

#[target_feature(enable = "avx512f,avx512bf16")]
#[inline]
unsafe fn step_tile<const R: usize, const NB: usize>(
    weights: &PackedMatrix,
    rows: &StepRows<'_>,
    inputs: &[*const u32; R],
    block: usize,
) {
    let sums = match rows.hidden_in {
        Some(_) => multiply::<R, NB>(inputs, weights, block),
        None => [[[_mm512_setzero_ps(); 2]; NB]; R],
    };
    finish_step(&sums, rows, block);
}
