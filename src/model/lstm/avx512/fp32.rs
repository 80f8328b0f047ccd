//! float32 products with AVX-512F fused multiply-adds.

use std::arch::x86_64::*;

use super::{dispatch_rows, dispatch_tiles, finish_step, store_projection, Sums, MAX_ROWS};
use crate::model::lstm::pack::{PackedMatrix, BLOCK_COLUMNS};
use crate::model::lstm::{row_groups, ProjectRows, StepRows};

/// Sums `rows[r][k] · W[column][k]` over the depth for the columns of NB blocks from `block`.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn multiply<const R: usize, const NB: usize>(
    rows: &[*const f32; R],
    weights: &PackedMatrix,
    block: usize,
) -> Sums<R, NB> {
    let panel_words = weights.panel_words();
    let panel = weights.words.as_ptr().cast::<f32>().add(block * panel_words);
    let mut sums = [[[_mm512_setzero_ps(); 2]; NB]; R];
    for k in 0..weights.depth {
        let mut w = [[_mm512_setzero_ps(); 2]; NB];
        for (b, pair) in w.iter_mut().enumerate() {
            let row = panel.add(b * panel_words + k * BLOCK_COLUMNS);
            *pair = [_mm512_load_ps(row), _mm512_load_ps(row.add(16))];
        }
        for r in 0..R {
            let x = _mm512_set1_ps(*rows[r].add(k));
            for b in 0..NB {
                sums[r][b][0] = _mm512_fmadd_ps(x, w[b][0], sums[r][b][0]);
                sums[r][b][1] = _mm512_fmadd_ps(x, w[b][1], sums[r][b][1]);
            }
        }
    }
    sums
}

/// Computes `inputs · Wᵀ + bias` for every row, in packed column order.
///
/// # Safety
/// AVX-512F must be available, and the pointers of `rows` valid as [`ProjectRows`] describes
/// for `weights`.
pub unsafe fn project(weights: &PackedMatrix, bias: &[f32], rows: &ProjectRows<'_>) {
    // Block by block, so that one 32-column panel serves every row group from L1.
    for block in 0..weights.blocks() {
        for group in row_groups(rows.len(), MAX_ROWS) {
            let (inputs, gates) = (&rows.inputs[group.clone()], &rows.gates[group.clone()]);
            dispatch_rows!(group.len(), project_tile(weights, bias, block, inputs, gates));
        }
    }
}

#[target_feature(enable = "avx512f")]
unsafe fn project_tile<const R: usize>(
    weights: &PackedMatrix,
    bias: &[f32],
    block: usize,
    inputs: &[*const f32],
    gates: &[*mut f32],
) {
    let inputs: &[*const f32; R] = inputs.try_into().expect("a group of R rows");
    let sums = multiply::<R, 1>(inputs, weights, block);
    store_projection(&sums, bias, gates, block);
}

/// Runs one time step for every row: gates from the projected input and `h_{t-1} · W_hhᵀ`,
/// then the cell update.
///
/// # Safety
/// AVX-512F must be available, and the pointers of `rows` valid as [`StepRows`] describes.
pub unsafe fn step(weights: &PackedMatrix, rows: &StepRows<'_>) {
    for group in row_groups(rows.len(), MAX_ROWS) {
        let rows = rows.select(group.clone());
        dispatch_tiles!(group.len(), step_group(weights, &rows));
    }
}

#[target_feature(enable = "avx512f")]
unsafe fn step_group<const R: usize, const NB: usize>(weights: &PackedMatrix, rows: &StepRows<'_>) {
    let blocks = weights.blocks();
    let mut block = 0;
    while block + NB <= blocks {
        step_tile::<R, NB>(weights, rows, block);
        block += NB;
    }
    while block < blocks {
        step_tile::<R, 1>(weights, rows, block);
        block += 1;
    }
}

#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn step_tile<const R: usize, const NB: usize>(weights: &PackedMatrix, rows: &StepRows<'_>, block: usize) {
    let sums = match rows.hidden_in {
        Some(hidden_in) => multiply::<R, NB>(hidden_in.try_into().expect("a group of R rows"), weights, block),
        None => [[[_mm512_setzero_ps(); 2]; NB]; R],
    };
    finish_step(&sums, rows, block);
}
