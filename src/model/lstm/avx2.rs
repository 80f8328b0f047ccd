//! float32 kernels for CPUs with AVX2 and FMA but no AVX-512: the layout and the order of
//! operations of the AVX-512 kernels, in 8-lane registers.
//!
//! A tile is up to three rows of one block. Its 12 sums (3 rows × 4 gates) and the 3 broadcast
//! inputs fill 15 of the 16 registers, so each weight register is loaded, used for the three
//! rows and dropped. Twelve independent sums cover the two FMA pipes of a core such as Zen 2,
//! whose FMA latency is 5 cycles. A lone row has only four sums, so it takes two blocks at
//! once. Every sum still runs over the depth in order, so a row's result does not depend on
//! the rows it is grouped with.

use std::arch::x86_64::*;

use super::math::{sigmoid_256_n, tanh_256_n};
use super::pack::{PackedMatrix, BLOCK_COLUMNS, BLOCK_UNITS};
use super::{row_groups, ProjectRows, StepRows};

const MAX_ROWS: usize = 3;

/// Sums of a tile: `[row][block][gate]`, each register one gate of a block's 8 units.
type Sums<const R: usize, const NB: usize> = [[[__m256; 4]; NB]; R];

/// Sums `rows[r][k] · W[column][k]` over the depth for the columns of NB blocks from `block`.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn multiply<const R: usize, const NB: usize>(
    rows: &[*const f32; R],
    weights: &PackedMatrix,
    block: usize,
) -> Sums<R, NB> {
    let panel_words = weights.panel_words();
    let first_panel = weights.words.as_ptr().cast::<f32>().add(block * panel_words);
    let mut sums = [[[_mm256_setzero_ps(); 4]; NB]; R];
    for k in 0..weights.depth {
        for b in 0..NB {
            let row = first_panel.add(b * panel_words + k * BLOCK_COLUMNS);
            let x: [__m256; R] = std::array::from_fn(|r| _mm256_set1_ps(*rows[r].add(k)));
            for gate in 0..4 {
                let w = _mm256_load_ps(row.add(gate * BLOCK_UNITS));
                for r in 0..R {
                    sums[r][b][gate] = _mm256_fmadd_ps(x[r], w, sums[r][b][gate]);
                }
            }
        }
    }
    sums
}

/// Computes `inputs · Wᵀ + bias` for every row, in packed column order.
///
/// # Safety
/// AVX2 and FMA must be available, and the pointers of `rows` valid as [`ProjectRows`]
/// describes for `weights`.
pub unsafe fn project(weights: &PackedMatrix, bias: &[f32], rows: &ProjectRows<'_>) {
    for block in 0..weights.blocks() {
        for group in row_groups(rows.len(), MAX_ROWS) {
            let (inputs, gates) = (&rows.inputs[group.clone()], &rows.gates[group.clone()]);
            match group.len() {
                1 => project_tile::<1>(weights, bias, block, inputs, gates),
                2 => project_tile::<2>(weights, bias, block, inputs, gates),
                _ => project_tile::<3>(weights, bias, block, inputs, gates),
            }
        }
    }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn project_tile<const R: usize>(
    weights: &PackedMatrix,
    bias: &[f32],
    block: usize,
    inputs: &[*const f32],
    gates: &[*mut f32],
) {
    let sums = multiply::<R, 1>(inputs.try_into().expect("a group of R rows"), weights, block);
    let column = block * BLOCK_COLUMNS;
    for (r, [row_sums]) in sums.iter().enumerate() {
        for (gate, sum) in row_sums.iter().enumerate() {
            let offset = column + gate * BLOCK_UNITS;
            let value = _mm256_add_ps(*sum, _mm256_loadu_ps(bias[offset..offset + BLOCK_UNITS].as_ptr()));
            _mm256_storeu_ps(gates[r].add(offset), value);
        }
    }
}

/// Runs one time step for every row: gates from the projected input and `h_{t-1} · W_hhᵀ`,
/// then the cell update.
///
/// Blocks are the outer loop, so a block's weight panel (32 KiB) serves every row group while
/// it is in cache. With the rows outside, the whole recurrent matrix (1 MiB) was read once
/// per group, from L3 on cores with 512 KiB of L2.
///
/// # Safety
/// AVX2 and FMA must be available, and the pointers of `rows` valid as [`StepRows`] describes.
pub unsafe fn step(weights: &PackedMatrix, rows: &StepRows<'_>) {
    let blocks = weights.blocks();
    let mut block = 0;
    while block < blocks {
        let span = if block + 2 <= blocks { 2 } else { 1 };
        for group in row_groups(rows.len(), MAX_ROWS) {
            let rows = rows.select(group.clone());
            match group.len() {
                1 if span == 2 => step_tile::<1, 2>(weights, &rows, block),
                1 => step_tile::<1, 1>(weights, &rows, block),
                2 => (block..block + span).for_each(|b| step_tile::<2, 1>(weights, &rows, b)),
                _ => (block..block + span).for_each(|b| step_tile::<3, 1>(weights, &rows, b)),
            }
        }
        block += span;
    }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn step_tile<const R: usize, const NB: usize>(weights: &PackedMatrix, rows: &StepRows<'_>, block: usize) {
    let sums = match rows.hidden_in {
        Some(hidden_in) => multiply::<R, NB>(hidden_in.try_into().expect("a group of R rows"), weights, block),
        None => [[[_mm256_setzero_ps(); 4]; NB]; R],
    };
    for (r, row_sums) in sums.iter().enumerate() {
        for (b, block_sums) in row_sums.iter().enumerate() {
            let (column, unit) = ((block + b) * BLOCK_COLUMNS, (block + b) * BLOCK_UNITS);
            let projected = rows.gates[r].add(column);
            let [input, forget, candidate, output] = [0, 1, 2, 3]
                .map(|gate| _mm256_add_ps(block_sums[gate], _mm256_loadu_ps(projected.add(gate * BLOCK_UNITS))));

            let [input, forget, output] = sigmoid_256_n([input, forget, output]);
            let [candidate] = tanh_256_n([candidate]);

            let (cell, hidden) = (rows.cell[r].add(unit), rows.hidden_out[r].add(unit));
            let cell_state = _mm256_fmadd_ps(forget, _mm256_loadu_ps(cell), _mm256_mul_ps(input, candidate));
            _mm256_storeu_ps(cell, cell_state);
            let [squashed] = tanh_256_n([cell_state]);
            _mm256_storeu_ps(hidden, _mm256_mul_ps(output, squashed));
        }
    }
}
