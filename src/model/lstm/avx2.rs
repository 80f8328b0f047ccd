//! float32 kernels for CPUs with AVX2 and FMA but no AVX-512: the layout and the order of
//! operations of the AVX-512 kernels, in 8-lane registers. A block's four gates take four
//! registers, so a tile of two rows fills 8 of the 16 registers with sums and leaves room for
//! the four weight registers and a broadcast (three rows spill sums to the stack).

use std::arch::x86_64::*;

use super::math::{sigmoid_256_n, tanh_256_n};
use super::pack::{PackedMatrix, BLOCK_COLUMNS, BLOCK_UNITS};
use super::{row_groups, ProjectRows, StepRows};

const MAX_ROWS: usize = 2;

/// Sums of a tile: `[row][gate]`, each register the gate of the block's 8 units.
type Sums<const R: usize> = [[__m256; 4]; R];

#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn multiply<const R: usize>(rows: &[*const f32; R], weights: &PackedMatrix, block: usize) -> Sums<R> {
    let panel = weights.words.as_ptr().cast::<f32>().add(block * weights.panel_words());
    let mut sums = [[_mm256_setzero_ps(); 4]; R];
    for k in 0..weights.depth {
        let row = panel.add(k * BLOCK_COLUMNS);
        let w = [0, 8, 16, 24].map(|lane| _mm256_load_ps(row.add(lane)));
        for r in 0..R {
            let x = _mm256_set1_ps(*rows[r].add(k));
            for gate in 0..4 {
                sums[r][gate] = _mm256_fmadd_ps(x, w[gate], sums[r][gate]);
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
                _ => project_tile::<2>(weights, bias, block, inputs, gates),
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
    let sums = multiply::<R>(inputs.try_into().expect("a group of R rows"), weights, block);
    let column = block * BLOCK_COLUMNS;
    for (r, row_sums) in sums.iter().enumerate() {
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
/// # Safety
/// AVX2 and FMA must be available, and the pointers of `rows` valid as [`StepRows`] describes.
pub unsafe fn step(weights: &PackedMatrix, rows: &StepRows<'_>) {
    for group in row_groups(rows.len(), MAX_ROWS) {
        let rows = rows.select(group.clone());
        match group.len() {
            1 => step_group::<1>(weights, &rows),
            _ => step_group::<2>(weights, &rows),
        }
    }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn step_group<const R: usize>(weights: &PackedMatrix, rows: &StepRows<'_>) {
    for block in 0..weights.blocks() {
        let sums = match rows.hidden_in {
            Some(hidden_in) => multiply::<R>(hidden_in.try_into().expect("a group of R rows"), weights, block),
            None => [[_mm256_setzero_ps(); 4]; R],
        };
        let (column, unit) = (block * BLOCK_COLUMNS, block * BLOCK_UNITS);
        for (r, row_sums) in sums.iter().enumerate() {
            let projected = rows.gates[r].add(column);
            let [input, forget, candidate, output] = [0, 1, 2, 3]
                .map(|gate| _mm256_add_ps(row_sums[gate], _mm256_loadu_ps(projected.add(gate * BLOCK_UNITS))));

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
