//! float32 kernels in plain Rust, for CPUs without AVX2 and FMA and for other architectures.
//! They use the packed layout of the vector kernels and leave vectorisation to the compiler.

use super::pack::{PackedMatrix, BLOCK_COLUMNS, BLOCK_UNITS};
use super::{row_groups, ProjectRows, StepRows};

const MAX_ROWS: usize = 4;

type BlockSums = [f32; BLOCK_COLUMNS];

/// Sums `rows[r][k] · W[column][k]` over the depth for one block, into `sums[r]`. Each row
/// sums into a local array, which the compiler keeps in vector registers.
///
/// # Safety
/// Each row pointer must be valid for reading `weights.depth` floats.
unsafe fn multiply(rows: &[*const f32], weights: &PackedMatrix, block: usize, sums: &mut [BlockSums]) {
    let panel = &weights.words.as_slice()[block * weights.panel_words()..(block + 1) * weights.panel_words()];
    for (row, row_sums) in rows.iter().zip(sums.iter_mut()) {
        let mut accumulators = [0f32; BLOCK_COLUMNS];
        for (k, panel_row) in panel.chunks_exact(BLOCK_COLUMNS).enumerate() {
            let x = *row.add(k);
            for (sum, &weight) in accumulators.iter_mut().zip(panel_row) {
                *sum += x * f32::from_bits(weight);
            }
        }
        *row_sums = accumulators;
    }
}

/// Computes `inputs · Wᵀ + bias` for every row, in packed column order.
///
/// # Safety
/// The pointers of `rows` must be valid as [`ProjectRows`] describes for `weights`.
pub unsafe fn project(weights: &PackedMatrix, bias: &[f32], rows: &ProjectRows<'_>) {
    let mut sums = [[0f32; BLOCK_COLUMNS]; MAX_ROWS];
    for block in 0..weights.blocks() {
        let column = block * BLOCK_COLUMNS;
        for group in row_groups(rows.len(), MAX_ROWS) {
            let sums = &mut sums[..group.len()];
            multiply(&rows.inputs[group.clone()], weights, block, sums);
            for (row_sums, &gates) in sums.iter().zip(&rows.gates[group]) {
                for (lane, sum) in row_sums.iter().enumerate() {
                    *gates.add(column + lane) = sum + bias[column + lane];
                }
            }
        }
    }
}

/// Runs one time step for every row: gates from the projected input and `h_{t-1} · W_hhᵀ`,
/// then the cell update.
///
/// # Safety
/// The pointers of `rows` must be valid as [`StepRows`] describes.
pub unsafe fn step(weights: &PackedMatrix, rows: &StepRows<'_>) {
    let mut sums = [[0f32; BLOCK_COLUMNS]; MAX_ROWS];
    for group in row_groups(rows.len(), MAX_ROWS) {
        let rows = rows.select(group.clone());
        let sums = &mut sums[..group.len()];
        for block in 0..weights.blocks() {
            match rows.hidden_in {
                Some(hidden_in) => multiply(hidden_in, weights, block, sums),
                None => sums.iter_mut().for_each(|row_sums| *row_sums = [0.0; BLOCK_COLUMNS]),
            }
            for (r, row_sums) in sums.iter().enumerate() {
                update_cells(
                    row_sums,
                    rows.gates[r].add(block * BLOCK_COLUMNS),
                    rows.cell[r],
                    rows.hidden_out[r],
                    block,
                );
            }
        }
    }
}

/// Applies the nonlinearities to one block's gates and updates the state of its 8 units.
unsafe fn update_cells(sums: &BlockSums, projected: *const f32, cell: *mut f32, hidden: *mut f32, block: usize) {
    for lane in 0..BLOCK_UNITS {
        let gate = |index: usize| sums[index * BLOCK_UNITS + lane] + *projected.add(index * BLOCK_UNITS + lane);
        let (input, forget, candidate, output) = (sigmoid(gate(0)), sigmoid(gate(1)), gate(2).tanh(), sigmoid(gate(3)));

        let unit = block * BLOCK_UNITS + lane;
        let cell_state = forget * *cell.add(unit) + input * candidate;
        *cell.add(unit) = cell_state;
        *hidden.add(unit) = output * cell_state.tanh();
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}
