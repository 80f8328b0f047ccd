//! A stacked LSTM on plain slices, as the GE2E encoder runs it: zero initial state, whole
//! sequences, only the final states kept.
//!
//! Each layer runs in two kinds of product. The input projection `x_t · W_ihᵀ + b_ih + b_hh`
//! of every sequence and every step of a time chunk is one large matrix product. After it,
//! each step needs only the recurrent product `h_{t-1} · W_hhᵀ` of the whole batch, which
//! the micro-kernels fuse with the gate nonlinearities and the cell update. Weights are packed
//! once, when the network is built (see `pack.rs`); scratch buffers are allocated once per
//! call, and nothing is allocated inside the time loop.
//!
//! Each row's arithmetic is the same whichever batch it runs in, so a sequence gets bit for
//! bit the same result alone or batched with others on the same kernels.

mod pack;
mod portable;
pub mod reference;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "x86_64")]
mod math;

use std::ops::Range;

use thiserror::Error;

use crate::model::precision::{check_isa, select_isa, CpuFeatures, Isa, Precision, PrecisionError};
use pack::{Int8Matrix, PackedMatrix, BLOCK_UNITS};

/// One layer's weights in PyTorch's `nn.LSTM` layout and gate order (input, forget, cell,
/// output).
#[derive(Debug, Clone, Copy)]
pub struct LayerWeights<'a> {
    /// `weight_ih`: 4·hidden rows of `input_size` values.
    pub w_ih: &'a [f32],
    /// `weight_hh`: 4·hidden rows of `hidden` values.
    pub w_hh: &'a [f32],
    pub b_ih: &'a [f32],
    pub b_hh: &'a [f32],
}

/// The final hidden and cell states of every layer, each stored `[layer][sequence][unit]`, as
/// PyTorch's `nn.LSTM` returns `(h_n, c_n)`.
#[derive(Debug, Clone, PartialEq)]
pub struct LstmStates {
    pub layers: usize,
    pub batch: usize,
    pub hidden: usize,
    pub h_n: Vec<f32>,
    pub c_n: Vec<f32>,
}

impl LstmStates {
    pub(crate) fn zeros(layers: usize, batch: usize, hidden: usize) -> Self {
        let len = layers * batch * hidden;
        LstmStates { layers, batch, hidden, h_n: vec![0.0; len], c_n: vec![0.0; len] }
    }

    /// Returns the final hidden state of the top layer: `[sequence][unit]`.
    pub fn top_hidden(&self) -> &[f32] {
        &self.h_n[(self.layers - 1) * self.batch * self.hidden..]
    }
}

#[derive(Debug, Error)]
pub enum LstmError {
    #[error("an LSTM needs at least one layer")]
    NoLayers,
    #[error("LSTM hidden size {hidden} is not a positive multiple of {BLOCK_UNITS}")]
    HiddenSize { hidden: usize },
    #[error("LSTM layer {layer}: {name} has {found} values, expected {expected}")]
    Shape { layer: usize, name: &'static str, expected: usize, found: usize },
    #[error(
        "LSTM input has {found} values, but {batch} sequences of {steps} steps of {input_size} values need {expected}"
    )]
    InputLength { batch: usize, steps: usize, input_size: usize, expected: usize, found: usize },
    #[error(transparent)]
    Precision(#[from] PrecisionError),
}

/// A weight matrix in the layout of the kernels that multiply by it.
enum Weights {
    F32(PackedMatrix),
    Bf16(PackedMatrix),
    Int8(Int8Matrix),
}

impl Weights {
    fn new(values: &[f32], hidden: usize, depth: usize, precision: Precision) -> Self {
        match precision {
            Precision::Fp32 => Weights::F32(PackedMatrix::f32(values, hidden, depth)),
            Precision::Bf16 => Weights::Bf16(PackedMatrix::bf16(values, hidden, depth)),
            Precision::Int8 => Weights::Int8(Int8Matrix::quantize(values, hidden, depth)),
        }
    }
}

struct PackedLayer {
    input_size: usize,
    /// b_ih + b_hh in packed column order.
    bias: Vec<f32>,
    input_weights: Weights,
    recurrent_weights: Weights,
}

/// A stacked LSTM, packed for one instruction set and precision.
pub struct Lstm {
    input_size: usize,
    hidden: usize,
    layers: Vec<PackedLayer>,
    precision: Precision,
    isa: Isa,
}

impl Lstm {
    /// Packs `layers` for the fastest kernels of `precision` that this CPU runs.
    pub fn new(layers: &[LayerWeights<'_>], precision: Precision) -> Result<Self, LstmError> {
        let features = CpuFeatures::detect();
        let isa = select_isa(precision, features)?;
        Self::build(layers, precision, isa, features)
    }

    /// Packs `layers` for the kernels of one instruction set, which this CPU must support:
    /// how tests and benchmarks run the fallbacks on CPUs that have faster kernels.
    pub fn with_isa(layers: &[LayerWeights<'_>], precision: Precision, isa: Isa) -> Result<Self, LstmError> {
        let features = CpuFeatures::detect();
        check_isa(precision, isa, features)?;
        Self::build(layers, precision, isa, features)
    }

    fn build(
        layers: &[LayerWeights<'_>],
        precision: Precision,
        isa: Isa,
        features: CpuFeatures,
    ) -> Result<Self, LstmError> {
        let (input_size, hidden) = check_shapes(layers)?;
        let layers = layers
            .iter()
            .enumerate()
            .map(|(index, layer)| {
                let layer_input = if index == 0 { input_size } else { hidden };
                let (input_precision, recurrent_precision) = layer_precisions(precision, index, features);
                let bias: Vec<f32> = layer.b_ih.iter().zip(layer.b_hh).map(|(a, b)| a + b).collect();
                PackedLayer {
                    input_size: layer_input,
                    bias: pack::pack_vector(&bias, hidden),
                    input_weights: Weights::new(layer.w_ih, hidden, layer_input, input_precision),
                    recurrent_weights: Weights::new(layer.w_hh, hidden, hidden, recurrent_precision),
                }
            })
            .collect();
        Ok(Lstm { input_size, hidden, layers, precision, isa })
    }

    pub fn precision(&self) -> Precision {
        self.precision
    }

    pub fn isa(&self) -> Isa {
        self.isa
    }

    pub fn input_size(&self) -> usize {
        self.input_size
    }

    pub fn hidden_size(&self) -> usize {
        self.hidden
    }

    /// Runs `batch` sequences of `steps` steps from a zero state. `inputs` contains them
    /// `[sequence][step][value]`, row-major.
    pub fn forward(&self, inputs: &[f32], batch: usize, steps: usize) -> Result<LstmStates, LstmError> {
        let expected = batch.checked_mul(steps).and_then(|n| n.checked_mul(self.input_size));
        if expected != Some(inputs.len()) {
            return Err(LstmError::InputLength {
                batch,
                steps,
                input_size: self.input_size,
                expected: expected.unwrap_or(usize::MAX),
                found: inputs.len(),
            });
        }

        let mut states = LstmStates::zeros(self.layers.len(), batch, self.hidden);
        if batch == 0 || steps == 0 {
            return Ok(states);
        }

        let mut scratch = Scratch::new(self, batch, steps);
        let mut layer_input = Vec::new();
        let mut layer_output = vec![0f32; batch * steps * self.hidden];
        for (index, layer) in self.layers.iter().enumerate() {
            let input = if index == 0 { inputs } else { &layer_input };
            self.run_layer(layer, input, &mut layer_output, &mut scratch);
            scratch.copy_final_state(&layer_output, index, &mut states);
            std::mem::swap(&mut layer_input, &mut layer_output);
            layer_output.resize(batch * steps * self.hidden, 0.0);
        }
        Ok(states)
    }

    fn run_layer(&self, layer: &PackedLayer, input: &[f32], output: &mut [f32], scratch: &mut Scratch) {
        scratch.cell.fill(0.0);
        for chunk_start in (0..scratch.steps).step_by(scratch.chunk_steps) {
            let chunk = chunk_start..(chunk_start + scratch.chunk_steps).min(scratch.steps);
            scratch.point_projection(layer.input_size, self.hidden, input, chunk.clone());
            // SAFETY: `point_projection` aimed every pointer at a row of `input` or of
            // `scratch.gates` of the length the kernels read or write, and `self.isa` was
            // checked against this CPU when the network was built.
            unsafe { self.project(layer, &scratch.rows.projection_rows(), &mut scratch.quantized) };

            for step in chunk.clone() {
                scratch.point_step(self.hidden, output, step, chunk.start);
                // SAFETY: as above, for the rows of `output`, `scratch.gates` and
                // `scratch.cell` that `point_step` chose; the rows read and written differ.
                unsafe { self.step(layer, &scratch.rows.step_rows(step > 0), &mut scratch.quantized) };
            }
        }
    }

    /// # Safety
    /// The row pointers must be valid as [`ProjectRows`] describes, and `self.isa` must run
    /// on this CPU.
    unsafe fn project(&self, layer: &PackedLayer, rows: &ProjectRows<'_>, quantized: &mut [u32]) {
        let bias = &layer.bias;
        match (self.isa, &layer.input_weights) {
            #[cfg(target_arch = "x86_64")]
            (Isa::Avx512, Weights::F32(weights)) => avx512::fp32::project(weights, bias, rows),
            #[cfg(target_arch = "x86_64")]
            (Isa::Avx512, Weights::Bf16(weights)) => avx512::bf16::project(weights, bias, rows, quantized),
            #[cfg(target_arch = "x86_64")]
            (Isa::Avx512, Weights::Int8(weights)) => avx512::int8::project(weights, bias, rows, quantized),
            #[cfg(target_arch = "x86_64")]
            (Isa::Avx2Fma, Weights::F32(weights)) => avx2::project(weights, bias, rows),
            (Isa::Portable, Weights::F32(weights)) => portable::project(weights, bias, rows),
            _ => unreachable!("check_isa admits only instruction sets with kernels for the precision"),
        }
    }

    /// # Safety
    /// As for [`Lstm::project`], with [`StepRows`].
    unsafe fn step(&self, layer: &PackedLayer, rows: &StepRows<'_>, quantized: &mut [u32]) {
        match (self.isa, &layer.recurrent_weights) {
            #[cfg(target_arch = "x86_64")]
            (Isa::Avx512, Weights::F32(weights)) => avx512::fp32::step(weights, rows),
            #[cfg(target_arch = "x86_64")]
            (Isa::Avx512, Weights::Bf16(weights)) => avx512::bf16::step(weights, rows, quantized),
            #[cfg(target_arch = "x86_64")]
            (Isa::Avx512, Weights::Int8(weights)) => avx512::int8::step(weights, rows, quantized),
            #[cfg(target_arch = "x86_64")]
            (Isa::Avx2Fma, Weights::F32(weights)) => avx2::step(weights, rows),
            (Isa::Portable, Weights::F32(weights)) => portable::step(weights, rows),
            _ => unreachable!("check_isa admits only instruction sets with kernels for the precision"),
        }
    }
}

/// Chooses the precisions of layer `index`'s input and recurrent products in a network of
/// `precision`.
///
/// The first layer reads mel power, which spans many orders of magnitude and suits neither
/// 8-bit format, so its input projection (3% of the work) is always float32. Its recurrent
/// weights also lose too much at 8 bits: on LibriSpeech windows with Resemblyzer's weights,
/// int8 there alone lowers a window's embedding to a cosine of about 0.9987 with float32,
/// while int8 in the two upper layers keeps it above 0.999. The int8 mode therefore runs
/// that product in bfloat16 where the CPU has AVX512-BF16, and in float32 elsewhere.
pub(crate) fn layer_precisions(precision: Precision, index: usize, features: CpuFeatures) -> (Precision, Precision) {
    match (precision, index) {
        (Precision::Int8, 0) if features.avx512bf16 => (Precision::Fp32, Precision::Bf16),
        (Precision::Int8, 0) => (Precision::Fp32, Precision::Fp32),
        (_, 0) => (Precision::Fp32, precision),
        _ => (precision, precision),
    }
}

fn check_shapes(layers: &[LayerWeights<'_>]) -> Result<(usize, usize), LstmError> {
    let first = layers.first().ok_or(LstmError::NoLayers)?;
    let hidden = first.b_ih.len() / 4;
    if hidden == 0 || hidden % BLOCK_UNITS != 0 {
        return Err(LstmError::HiddenSize { hidden });
    }
    let input_size = first.w_ih.len() / (4 * hidden);

    for (index, layer) in layers.iter().enumerate() {
        let layer_input = if index == 0 { input_size } else { hidden };
        let expected = [
            ("weight_ih", 4 * hidden * layer_input, layer.w_ih.len()),
            ("weight_hh", 4 * hidden * hidden, layer.w_hh.len()),
            ("bias_ih", 4 * hidden, layer.b_ih.len()),
            ("bias_hh", 4 * hidden, layer.b_hh.len()),
        ];
        for (name, expected, found) in expected {
            if expected != found || expected == 0 {
                return Err(LstmError::Shape { layer: index, name, expected, found });
            }
        }
    }
    Ok((input_size, hidden))
}

/// Rows of one input projection: each `inputs[i]` is valid for reading the layer's input
/// size in floats, and each `gates[i]` for writing 4·hidden floats.
pub(crate) struct ProjectRows<'a> {
    pub inputs: &'a [*const f32],
    pub gates: &'a [*mut f32],
}

impl ProjectRows<'_> {
    pub fn len(&self) -> usize {
        self.inputs.len()
    }
}

/// Rows of one time step. `hidden_in[i]` is valid for reading `hidden` floats, and is absent
/// at the first step, where the state is zero. `gates[i]` is valid for reading 4·hidden
/// floats of projected input in packed order. `cell[i]` and `hidden_out[i]` are valid for
/// reading and writing `hidden` floats that no other row's pointers reach.
pub(crate) struct StepRows<'a> {
    pub hidden_in: Option<&'a [*const f32]>,
    pub gates: &'a [*const f32],
    pub cell: &'a [*mut f32],
    pub hidden_out: &'a [*mut f32],
}

impl StepRows<'_> {
    pub fn len(&self) -> usize {
        self.gates.len()
    }

    pub fn select(&self, rows: Range<usize>) -> StepRows<'_> {
        StepRows {
            hidden_in: self.hidden_in.map(|hidden_in| &hidden_in[rows.clone()]),
            gates: &self.gates[rows.clone()],
            cell: &self.cell[rows.clone()],
            hidden_out: &self.hidden_out[rows],
        }
    }
}

/// Splits `rows` into consecutive groups of at most `max` rows whose sizes differ by at most
/// one, so that no micro-kernel tile is left nearly empty.
pub(crate) fn row_groups(rows: usize, max: usize) -> impl Iterator<Item = Range<usize>> {
    let groups = rows.div_ceil(max);
    let (size, larger) = if groups == 0 { (0, 0) } else { (rows / groups, rows % groups) };
    (0..groups).scan(0, move |start, group| {
        let len = size + usize::from(group < larger);
        let range = *start..*start + len;
        *start += len;
        Some(range)
    })
}

/// Target number of rows in one time chunk's projection: about 100 rows of 4·256 gate values
/// keep the projected chunk within the L2 cache beside a layer's recurrent weights.
const CHUNK_ROWS: usize = 96;

/// Buffers of one `forward` call, allocated once and reused by every layer and step.
struct Scratch {
    batch: usize,
    steps: usize,
    chunk_steps: usize,
    /// Projected inputs of one time chunk: `[sequence][step in chunk][4·hidden]`, packed order.
    gates: Vec<f32>,
    /// Cell state: `[sequence][unit]`.
    cell: Vec<f32>,
    /// Activations converted for the bfloat16 and int8 kernels.
    quantized: Vec<u32>,
    rows: RowPointers,
}

/// The rows of the current projection or step, refilled in place (never reallocated).
struct RowPointers {
    inputs: Vec<*const f32>,
    outputs: Vec<*mut f32>,
    hidden_in: Vec<*const f32>,
    cells: Vec<*mut f32>,
}

impl RowPointers {
    fn projection_rows(&self) -> ProjectRows<'_> {
        ProjectRows { inputs: &self.inputs, gates: &self.outputs }
    }

    fn step_rows(&self, has_hidden_in: bool) -> StepRows<'_> {
        StepRows {
            hidden_in: has_hidden_in.then_some(&self.hidden_in[..]),
            gates: &self.inputs,
            cell: &self.cells,
            hidden_out: &self.outputs,
        }
    }
}

impl Scratch {
    fn new(lstm: &Lstm, batch: usize, steps: usize) -> Self {
        let chunk_steps = (CHUNK_ROWS / batch).clamp(1, steps);
        let chunk_rows = batch * chunk_steps;
        let widest_input = lstm.input_size.max(lstm.hidden);
        Scratch {
            batch,
            steps,
            chunk_steps,
            gates: vec![0.0; chunk_rows * 4 * lstm.hidden],
            cell: vec![0.0; batch * lstm.hidden],
            // Two bfloat16 or four int8 values per word; bfloat16 needs the most words.
            quantized: vec![0; chunk_rows * widest_input.div_ceil(2)],
            rows: RowPointers {
                inputs: Vec::with_capacity(chunk_rows),
                outputs: Vec::with_capacity(chunk_rows),
                hidden_in: Vec::with_capacity(batch),
                cells: Vec::with_capacity(batch),
            },
        }
    }

    /// Aims the projection rows at the inputs of steps `chunk` of every sequence and at their
    /// slots in `gates`.
    fn point_projection(&mut self, input_size: usize, hidden: usize, input: &[f32], chunk: Range<usize>) {
        let gates = self.gates.as_mut_ptr();
        let chunk_len = chunk.len();
        let rows = &mut self.rows;
        rows.inputs.clear();
        rows.outputs.clear();
        for sequence in 0..self.batch {
            for step in chunk.clone() {
                let row = sequence * chunk_len + step - chunk.start;
                rows.inputs.push(input[(sequence * self.steps + step) * input_size..].as_ptr());
                // SAFETY: `row` < batch · chunk_steps, the row count `gates` was sized for.
                rows.outputs.push(unsafe { gates.add(row * 4 * hidden) });
            }
        }
    }

    /// Aims the step rows at h_{step-1} and h_step of every sequence in `output`, at their
    /// projected inputs in `gates` and at their cell states.
    fn point_step(&mut self, hidden: usize, output: &mut [f32], step: usize, chunk_start: usize) {
        let chunk_len = self.chunk_steps.min(self.steps - chunk_start);
        let output = output.as_mut_ptr();
        let (gates, cell) = (self.gates.as_ptr(), self.cell.as_mut_ptr());
        let rows = &mut self.rows;
        rows.hidden_in.clear();
        rows.inputs.clear();
        rows.cells.clear();
        rows.outputs.clear();
        for sequence in 0..self.batch {
            let row = sequence * self.steps + step;
            // SAFETY: every offset stays inside its buffer. `output` has batch · steps rows of
            // `hidden`, `gates` batch · chunk_len rows of 4·hidden and `cell` batch rows.
            unsafe {
                rows.hidden_in.push(output.add(row.saturating_sub(1) * hidden));
                rows.inputs.push(gates.add((sequence * chunk_len + step - chunk_start) * 4 * hidden));
                rows.cells.push(cell.add(sequence * hidden));
                rows.outputs.push(output.add(row * hidden));
            }
        }
    }

    fn copy_final_state(&self, output: &[f32], layer: usize, states: &mut LstmStates) {
        let hidden = states.hidden;
        for sequence in 0..self.batch {
            let target = (layer * self.batch + sequence) * hidden;
            let last_step = (sequence * self.steps + self.steps - 1) * hidden;
            states.h_n[target..target + hidden].copy_from_slice(&output[last_step..last_step + hidden]);
            states.c_n[target..target + hidden].copy_from_slice(&self.cell[sequence * hidden..(sequence + 1) * hidden]);
        }
    }
}

#[cfg(test)]
mod tests;
