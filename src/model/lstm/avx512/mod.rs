//! AVX-512 kernels for the three precisions.
//!
//! A micro-kernel tile multiplies R rows of activations (R ≤ [`MAX_ROWS`]) by NB packed
//! blocks of weights: R·NB·2 accumulator registers, each 16 lanes, fed per depth step by 2·NB
//! aligned weight loads and R broadcasts. Small groups take several blocks at once, to keep
//! at least 8 independent sums in flight.

pub mod bf16;
pub mod fp32;
pub mod int8;

use std::arch::x86_64::*;

use super::math::{sigmoid_n, tanh_256_n};
use super::pack::{BLOCK_COLUMNS, BLOCK_UNITS};
use super::StepRows;

/// Rows per tile. 12 rows would still fit their accumulators in the 32 vector registers, but
/// their row pointers then no longer fit in the general registers and reload from the stack
/// in the inner loop: on Zen 4, batches of 12 and 24 ran 7% slower than with 8.
pub const MAX_ROWS: usize = 8;

/// Lanes 0 to 7 of a 16-lane register: the first gate of each pair.
const LOW_HALF: __mmask16 = 0x00ff;

/// Calls `$function::<R>` for a group of 1 to [`MAX_ROWS`] rows.
macro_rules! dispatch_rows {
    ($rows:expr, $function:ident($($argument:expr),* $(,)?)) => {
        match $rows {
            1 => $function::<1>($($argument),*),
            2 => $function::<2>($($argument),*),
            3 => $function::<3>($($argument),*),
            4 => $function::<4>($($argument),*),
            5 => $function::<5>($($argument),*),
            6 => $function::<6>($($argument),*),
            7 => $function::<7>($($argument),*),
            8 => $function::<8>($($argument),*),
            rows => unreachable!("row groups hold 1 to 8 rows, not {rows}"),
        }
    };
}

/// Calls `$function::<R, NB>` for a group of 1 to [`MAX_ROWS`] rows, with NB blocks per tile
/// so that R·NB·2 ≤ 24 accumulators fit beside the weight registers.
macro_rules! dispatch_tiles {
    ($rows:expr, $function:ident($($argument:expr),* $(,)?)) => {
        match $rows {
            1 => $function::<1, 4>($($argument),*),
            2 => $function::<2, 4>($($argument),*),
            3 => $function::<3, 2>($($argument),*),
            4 => $function::<4, 2>($($argument),*),
            5 => $function::<5, 2>($($argument),*),
            6 => $function::<6, 2>($($argument),*),
            7 => $function::<7, 1>($($argument),*),
            8 => $function::<8, 1>($($argument),*),
            rows => unreachable!("row groups hold 1 to 8 rows, not {rows}"),
        }
    };
}

pub(crate) use {dispatch_rows, dispatch_tiles};

/// Applies the gate nonlinearities to the pre-activations of K tiles of 8 units and updates
/// their state: `c = f·c + i·g`, `h = o·tanh(c)`. `input_forget[k]` contains i in lanes 0-7
/// and f in lanes 8-15, `cell_output[k]` contains g and o. Working on K tiles at once lets their
/// long dependency chains (exp, reciprocal, then tanh of the new cell) overlap.
///
/// # Safety
/// Each `cell[k]` and `hidden[k]` must be valid for reading and writing 8 floats.
#[target_feature(enable = "avx512f")]
#[inline]
pub unsafe fn update_cells<const K: usize>(
    input_forget: [__m512; K],
    cell_output: [__m512; K],
    cell: [*mut f32; K],
    hidden: [*mut f32; K],
) {
    let (one, two) = (_mm512_set1_ps(1.0), _mm512_set1_ps(2.0));
    let input_forget = sigmoid_n(input_forget);
    // tanh(g) = 2·σ(2g) − 1, so g and o share one sigmoid.
    let doubled = cell_output.map(|x| _mm512_mask_mul_ps(x, LOW_HALF, x, two));
    let cell_output = sigmoid_n(doubled).map(|s| _mm512_mask_fmsub_ps(s, LOW_HALF, two, one));

    let mut cell_state = [_mm256_setzero_ps(); K];
    for k in 0..K {
        let input = _mm512_castps512_ps256(input_forget[k]);
        let candidate = _mm512_castps512_ps256(cell_output[k]);
        let forget = upper_half(input_forget[k]);
        cell_state[k] = _mm256_fmadd_ps(forget, _mm256_loadu_ps(cell[k]), _mm256_mul_ps(input, candidate));
        _mm256_storeu_ps(cell[k], cell_state[k]);
    }

    let squashed = tanh_256_n(cell_state);
    for k in 0..K {
        _mm256_storeu_ps(hidden[k], _mm256_mul_ps(upper_half(cell_output[k]), squashed[k]));
    }
}

#[target_feature(enable = "avx512f")]
#[inline]
fn upper_half(x: __m512) -> __m256 {
    _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(x)))
}

/// Returns a mask of the lowest `count` of 16 lanes.
pub fn lane_mask(count: usize) -> __mmask16 {
    if count >= 16 {
        0xffff
    } else {
        (1u16 << count) - 1
    }
}

/// float32 sums of a tile: `[row][block][register]`. Register 0 of a block contains its input
/// and forget gates, register 1 its cell and output gates.
pub type Sums<const R: usize, const NB: usize> = [[[__m512; 2]; NB]; R];

/// Tiles whose state updates run together; 4 keeps their 8 pre-activation registers and the
/// temporaries of the nonlinearities within the register file.
const TILES_AT_ONCE: usize = 4;

/// Adds each row's projected input to the recurrent sums of a tile that starts at `block`,
/// and updates the cell and hidden state of the tile's units.
///
/// # Safety
/// The pointers of `rows` must be valid as [`StepRows`] describes, for at least R rows.
#[target_feature(enable = "avx512f")]
#[inline]
pub unsafe fn finish_step<const R: usize, const NB: usize>(sums: &Sums<R, NB>, rows: &StepRows<'_>, block: usize) {
    let tiles = R * NB;
    let mut first = 0;
    while first + TILES_AT_ONCE <= tiles {
        finish_tiles::<R, NB, TILES_AT_ONCE>(sums, rows, block, first);
        first += TILES_AT_ONCE;
    }
    while first < tiles {
        finish_tiles::<R, NB, 1>(sums, rows, block, first);
        first += 1;
    }
}

/// Updates K of the tiles (numbered row by row from `first`) of [`finish_step`].
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn finish_tiles<const R: usize, const NB: usize, const K: usize>(
    sums: &Sums<R, NB>,
    rows: &StepRows<'_>,
    block: usize,
    first: usize,
) {
    let mut input_forget = [_mm512_setzero_ps(); K];
    let mut cell_output = [_mm512_setzero_ps(); K];
    let mut cell = [std::ptr::null_mut(); K];
    let mut hidden = [std::ptr::null_mut(); K];
    for k in 0..K {
        let (r, b) = ((first + k) / NB, (first + k) % NB);
        let projected = rows.gates[r].add((block + b) * BLOCK_COLUMNS);
        input_forget[k] = _mm512_add_ps(sums[r][b][0], _mm512_loadu_ps(projected));
        cell_output[k] = _mm512_add_ps(sums[r][b][1], _mm512_loadu_ps(projected.add(16)));
        cell[k] = rows.cell[r].add((block + b) * BLOCK_UNITS);
        hidden[k] = rows.hidden_out[r].add((block + b) * BLOCK_UNITS);
    }
    update_cells(input_forget, cell_output, cell, hidden);
}

/// Adds the bias to the sums of a one-block tile and stores them as projected inputs.
///
/// # Safety
/// `gates[r]` must be valid for writing 4·hidden floats for each of the R rows.
#[target_feature(enable = "avx512f")]
#[inline]
pub unsafe fn store_projection<const R: usize>(sums: &Sums<R, 1>, bias: &[f32], gates: &[*mut f32], block: usize) {
    let column = block * BLOCK_COLUMNS;
    let bias = &bias[column..column + BLOCK_COLUMNS];
    let bias = [_mm512_loadu_ps(bias.as_ptr()), _mm512_loadu_ps(bias[16..].as_ptr())];
    for (r, [[low, high]]) in sums.iter().enumerate() {
        let out = gates[r].add(column);
        _mm512_storeu_ps(out, _mm512_add_ps(*low, bias[0]));
        _mm512_storeu_ps(out.add(16), _mm512_add_ps(*high, bias[1]));
    }
}
