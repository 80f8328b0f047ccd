//! Weight layouts that the micro-kernels stream: done once, when the model is loaded.
//!
//! PyTorch stores an LSTM weight as a (4·hidden × depth) matrix whose rows are the input,
//! forget, cell and output gates of every hidden unit in turn. The kernels need the four gates
//! of a unit side by side, so that one register tile contains everything the cell update of eight
//! units needs. The packed order therefore groups the outputs in blocks of 32 columns:
//!
//! ```text
//! block b: i[8b..8b+8] f[8b..8b+8] g[8b..8b+8] o[8b..8b+8]
//! ```
//!
//! and stores each block as a panel of `depth` rows of 32 words, so the inner loop of a
//! product reads one panel front to back. A word is one float32, two bfloat16 values (an even
//! and an odd depth index, the even one in the low half) or four int8 values (in depth order,
//! from the low byte up), matching the operand layout of `vdpbf16ps` and `vpdpbusd`.

use half::bf16;

/// Hidden units per block.
pub const BLOCK_UNITS: usize = 8;
/// Output columns per block: the four gates of [`BLOCK_UNITS`] units.
pub const BLOCK_COLUMNS: usize = 4 * BLOCK_UNITS;
/// int8 activations are `round(x · ACTIVATION_LEVELS)`: LSTM outputs lie in (-1, 1), so one
/// fixed scale covers them without a per-step search for the maximum.
pub const ACTIVATION_LEVELS: f32 = 127.0;
/// Added to int8 activations to make them the unsigned operand of `vpdpbusd`.
pub const ACTIVATION_OFFSET: i32 = 128;

const WORDS_PER_LINE: usize = 16;

#[derive(Clone, Copy, Default)]
#[repr(C, align(64))]
struct CacheLine([u32; WORDS_PER_LINE]);

/// 32-bit words that start on a 64-byte boundary, so that each 32-word panel row is two
/// whole cache lines and aligned vector loads are valid.
pub struct AlignedWords {
    lines: Vec<CacheLine>,
    len: usize,
}

impl AlignedWords {
    pub fn zeroed(len: usize) -> Self {
        AlignedWords { lines: vec![CacheLine::default(); len.div_ceil(WORDS_PER_LINE)], len }
    }

    pub fn as_slice(&self) -> &[u32] {
        // SAFETY: `CacheLine` is a `repr(C)` array of u32, so the lines are `len` or more
        // contiguous, initialised u32 values.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast(), self.len) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u32] {
        // SAFETY: as in `as_slice`, and `&mut self` makes the borrow unique.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast(), self.len) }
    }

    pub fn as_ptr(&self) -> *const u32 {
        self.lines.as_ptr().cast()
    }
}

/// One weight matrix in the packed order, with `words_per_row` words per panel row.
pub struct PackedMatrix {
    pub words: AlignedWords,
    /// Hidden units of the layer; the matrix has `4 · hidden` outputs.
    pub hidden: usize,
    /// Input values per output (the matrix's column count in PyTorch's layout).
    pub depth: usize,
    /// Panel rows: `depth` divided by the values per word, rounded up (the tail is zero).
    pub depth_words: usize,
}

impl PackedMatrix {
    pub fn blocks(&self) -> usize {
        self.hidden / BLOCK_UNITS
    }

    /// Words from the start of one block's panel to the next.
    pub fn panel_words(&self) -> usize {
        self.depth_words * BLOCK_COLUMNS
    }

    /// Packs `weights` (4·hidden rows of `depth` values, PyTorch's layout), converting each
    /// run of `values_per_word` values of a row into one word with `encode`.
    fn pack(
        weights: &[f32],
        hidden: usize,
        depth: usize,
        values_per_word: usize,
        mut encode: impl FnMut(usize, &[f32]) -> u32,
    ) -> Self {
        debug_assert_eq!(weights.len(), 4 * hidden * depth);
        debug_assert_eq!(hidden % BLOCK_UNITS, 0);

        let depth_words = depth.div_ceil(values_per_word);
        let mut words = AlignedWords::zeroed(4 * hidden * depth_words);
        let packed = words.as_mut_slice();
        for column in 0..4 * hidden {
            let source = source_row(column, hidden);
            let row = &weights[source * depth..(source + 1) * depth];
            let (block, lane) = (column / BLOCK_COLUMNS, column % BLOCK_COLUMNS);
            for (word, values) in row.chunks(values_per_word).enumerate() {
                packed[(block * depth_words + word) * BLOCK_COLUMNS + lane] = encode(source, values);
            }
        }
        PackedMatrix { words, hidden, depth, depth_words }
    }

    pub fn f32(weights: &[f32], hidden: usize, depth: usize) -> Self {
        Self::pack(weights, hidden, depth, 1, |_, values| values[0].to_bits())
    }

    /// Rounds each weight to the nearest bfloat16 (ties to even).
    pub fn bf16(weights: &[f32], hidden: usize, depth: usize) -> Self {
        Self::pack(weights, hidden, depth, 2, |_, values| {
            let low = bf16::from_f32(values[0]).to_bits();
            let high = values.get(1).map_or(0, |&value| bf16::from_f32(value).to_bits());
            u32::from(low) | (u32::from(high) << 16)
        })
    }
}

/// An int8 matrix with what it takes to turn its int32 sums back into gate values.
pub struct Int8Matrix {
    pub matrix: PackedMatrix,
    /// Per packed column: the row's weight scale divided by [`ACTIVATION_LEVELS`].
    pub dequantize: Vec<f32>,
    /// Per packed column: `ACTIVATION_OFFSET` times the sum of the row's int8 weights, which
    /// the unsigned activations add to every sum.
    pub offset: Vec<i32>,
}

impl Int8Matrix {
    /// Quantises each output row symmetrically to [-127, 127] with its own scale
    /// (max |w| / 127).
    pub fn quantize(weights: &[f32], hidden: usize, depth: usize) -> Self {
        let scales: Vec<f32> = weights.chunks(depth).map(|row| row_scale(row)).collect();
        let quantize = |source: usize, value: f32| -> i8 {
            let scale = scales[source];
            if scale == 0.0 {
                return 0;
            }
            (value / scale).round_ties_even().clamp(-127.0, 127.0) as i8
        };

        let matrix = PackedMatrix::pack(weights, hidden, depth, 4, |source, values| {
            let mut bytes = [0u8; 4];
            for (byte, &value) in bytes.iter_mut().zip(values) {
                *byte = quantize(source, value) as u8;
            }
            u32::from_le_bytes(bytes)
        });

        let (dequantize, offset) = (0..4 * hidden)
            .map(|column| {
                let source = source_row(column, hidden);
                let row = &weights[source * depth..(source + 1) * depth];
                let sum: i32 = row.iter().map(|&value| i32::from(quantize(source, value))).sum();
                (scales[source] / ACTIVATION_LEVELS, ACTIVATION_OFFSET * sum)
            })
            .unzip();
        Int8Matrix { matrix, dequantize, offset }
    }
}

fn row_scale(row: &[f32]) -> f32 {
    row.iter().fold(0f32, |max, value| max.max(value.abs())) / 127.0
}

/// Returns the row of PyTorch's (4·hidden × depth) matrix whose output lands at packed
/// `column`.
pub fn source_row(column: usize, hidden: usize) -> usize {
    let block = column / BLOCK_COLUMNS;
    let gate = (column % BLOCK_COLUMNS) / BLOCK_UNITS;
    let unit = block * BLOCK_UNITS + column % BLOCK_UNITS;
    gate * hidden + unit
}

/// Reorders a vector of 4·hidden gate values (a bias) into the packed column order.
pub fn pack_vector(values: &[f32], hidden: usize) -> Vec<f32> {
    (0..4 * hidden).map(|column| values[source_row(column, hidden)]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_columns_cover_every_row_once() {
        let hidden = 16;
        let mut rows: Vec<usize> = (0..4 * hidden).map(|column| source_row(column, hidden)).collect();
        rows.sort_unstable();
        assert_eq!(rows, (0..4 * hidden).collect::<Vec<_>>());
    }

    #[test]
    fn block_holds_four_gates_of_eight_units() {
        let hidden = 16;
        // Block 1, lane 8 + 3: the forget gate (gate 1) of unit 8 + 3.
        assert_eq!(source_row(BLOCK_COLUMNS + BLOCK_UNITS + 3, hidden), hidden + 11);
        // Block 0, lane 24: the output gate (gate 3) of unit 0.
        assert_eq!(source_row(24, hidden), 3 * hidden);
    }

    #[test]
    fn f32_panel_rows_follow_depth() {
        let (hidden, depth) = (8, 3);
        let weights: Vec<f32> = (0..4 * hidden * depth).map(|i| i as f32).collect();
        let packed = PackedMatrix::f32(&weights, hidden, depth);
        let words = packed.words.as_slice();

        // Panel row 2, lane 9: weight (row 9, column 2) of PyTorch's matrix.
        assert_eq!(f32::from_bits(words[2 * BLOCK_COLUMNS + 9]), weights[9 * depth + 2]);
        assert_eq!(packed.words.as_ptr() as usize % 64, 0);
    }

    #[test]
    fn bf16_pairs_pad_odd_depth_with_zero() {
        let (hidden, depth) = (8, 3);
        let weights = vec![1.5f32; 4 * hidden * depth];
        let packed = PackedMatrix::bf16(&weights, hidden, depth);
        let words = packed.words.as_slice();

        assert_eq!(packed.depth_words, 2);
        let one_and_half = u32::from(bf16::from_f32(1.5).to_bits());
        assert_eq!(words[0], one_and_half | (one_and_half << 16));
        assert_eq!(words[BLOCK_COLUMNS], one_and_half);
    }

    #[test]
    fn int8_rows_use_full_range() {
        let (hidden, depth) = (8, 4);
        let mut weights = vec![0f32; 4 * hidden * depth];
        weights[..4].copy_from_slice(&[0.5, -0.25, 0.125, 0.0]);
        let quantized = Int8Matrix::quantize(&weights, hidden, depth);
        let bytes = quantized.matrix.words.as_slice()[0].to_le_bytes();

        assert_eq!(bytes.map(|b| b as i8), [127, -64, 32, 0]);
        assert_eq!(quantized.dequantize[0], 0.5 / 127.0 / ACTIVATION_LEVELS);
        assert_eq!(quantized.offset[0], ACTIVATION_OFFSET * (127 - 64 + 32));
        // An all-zero row quantises to zero instead of dividing by a zero scale.
        assert_eq!(quantized.matrix.words.as_slice()[1], 0);
    }
}
