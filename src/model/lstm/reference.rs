//! A plain float64 LSTM, written from PyTorch's equations, against which the fast kernels
//! are tested. It uses PyTorch's weight layout as is, with none of the packing, blocking or
//! vector arithmetic of the kernels.
//!
//! ```text
//! i = σ(W_ii x + b_ii + W_hi h + b_hi)      f = σ(W_if x + b_if + W_hf h + b_hf)
//! g = tanh(W_ig x + b_ig + W_hg h + b_hg)   o = σ(W_io x + b_io + W_ho h + b_ho)
//! c' = f ⊙ c + i ⊙ g                         h' = o ⊙ tanh(c')
//! ```

use super::{LayerWeights, LstmStates};

/// Runs a stack of LSTM layers over `inputs` (`[batch][steps][input size]`, row-major) from a
/// zero state and returns the final state of every layer.
///
/// # Panics
/// When the weight shapes do not chain or `inputs` has the wrong length; this is test code.
pub fn forward(layers: &[LayerWeights<'_>], inputs: &[f32], batch: usize, steps: usize) -> LstmStates {
    let hidden = layers[0].b_ih.len() / 4;
    let mut sequence: Vec<f64> = inputs.iter().map(|&x| f64::from(x)).collect();
    let mut states = LstmStates::zeros(layers.len(), batch, hidden);

    for (index, layer) in layers.iter().enumerate() {
        let input_size = layer.w_ih.len() / (4 * hidden);
        assert_eq!(sequence.len(), batch * steps * input_size, "input length of layer {index}");

        let mut output = vec![0f64; batch * steps * hidden];
        for row in 0..batch {
            let rows = row * steps..(row + 1) * steps;
            let (h, c) = run_sequence(
                layer,
                &sequence[rows.start * input_size..rows.end * input_size],
                &mut output[rows.start * hidden..rows.end * hidden],
            );
            let offset = (index * batch + row) * hidden;
            states.h_n[offset..offset + hidden].iter_mut().zip(&h).for_each(|(out, &v)| *out = v as f32);
            states.c_n[offset..offset + hidden].iter_mut().zip(&c).for_each(|(out, &v)| *out = v as f32);
        }
        sequence = output;
    }
    states
}

/// Runs one layer over one sequence, writing every step's hidden state to `output`, and
/// returns the final (h, c).
fn run_sequence(layer: &LayerWeights<'_>, inputs: &[f64], output: &mut [f64]) -> (Vec<f64>, Vec<f64>) {
    let hidden = layer.b_ih.len() / 4;
    let input_size = layer.w_ih.len() / (4 * hidden);
    let mut h = vec![0f64; hidden];
    let mut c = vec![0f64; hidden];
    let mut gates = vec![0f64; 4 * hidden];

    for (x, h_out) in inputs.chunks(input_size).zip(output.chunks_mut(hidden)) {
        for (row, gate) in gates.iter_mut().enumerate() {
            let input_part = dot(&layer.w_ih[row * input_size..(row + 1) * input_size], x);
            let hidden_part = dot(&layer.w_hh[row * hidden..(row + 1) * hidden], &h);
            *gate = input_part + f64::from(layer.b_ih[row]) + hidden_part + f64::from(layer.b_hh[row]);
        }

        for unit in 0..hidden {
            let input_gate = sigmoid(gates[unit]);
            let forget_gate = sigmoid(gates[hidden + unit]);
            let cell_gate = gates[2 * hidden + unit].tanh();
            let output_gate = sigmoid(gates[3 * hidden + unit]);
            c[unit] = forget_gate * c[unit] + input_gate * cell_gate;
            h[unit] = output_gate * c[unit].tanh();
        }
        h_out.copy_from_slice(&h);
    }
    (h, c)
}

fn dot(weights: &[f32], values: &[f64]) -> f64 {
    weights.iter().zip(values).map(|(&w, &v)| f64::from(w) * v).sum()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}
