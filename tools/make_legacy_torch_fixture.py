"""Write small legacy-format (non-zip) torch checkpoints and their expected contents.

The Rust reader in src/model/torch_legacy.rs is tested against these files. Run from the
repository root with torch installed (written with torch 2.15.0):

    python3 tools/make_legacy_torch_fixture.py

Outputs, in fixtures/model/:
- tiny_legacy.pt: written by torch.save(..., _use_new_zipfile_serialization=False), shaped
  like Resemblyzer's pretrained.pt ({"step", "model_state", "optimizer_state"}) around a
  GE2E encoder with 4 mel bands, 2 hidden units, 2 layers and 3 outputs. The LSTM tensors
  share one storage at different offsets, as cuDNN's flat weights do, and the linear layer's
  are non-contiguous views (a transpose, a strided slice with an offset). A "buffers" dict
  contains int64, float64, scalar and empty tensors and an nn.Parameter.
- tiny_legacy_views.pt: the same container written by hand, because current torch never
  writes storage views (the sixth field of a storage's persistent id), while torch 1.x did
  when a storage was a slice of another. torch.load reads it back before it is kept.
- tiny_legacy.json, tiny_legacy_views.json: for each "model_state" (and "buffers") entry,
  in checkpoint order, its storage type, shape, storage offset, strides and values in
  row-major order, taken from torch.load of the written file.
"""

import collections
import io
import json
import pickle
import sys
from pathlib import Path

import torch

OUT = Path("fixtures/model")

# Constants of torch's legacy serialisation (torch/serialization.py).
MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
SYS_INFO = {"protocol_version": PROTOCOL_VERSION, "little_endian": True,
            "type_sizes": {"short": 2, "int": 4, "long": 4}}


def make_checkpoint():
    generator = torch.Generator().manual_seed(20240613)

    def randn(*shape, dtype=torch.float32):
        return torch.randn(*shape, generator=generator, dtype=dtype)

    # A GE2E encoder in miniature: nn.LSTM(4, 2, num_layers=2) and nn.Linear(2, 3). As cuDNN
    # does, all LSTM parameters are views of one flat buffer, at increasing offsets.
    shapes = [("lstm.weight_ih_l0", (8, 4)), ("lstm.weight_hh_l0", (8, 2)), ("lstm.bias_ih_l0", (8,)),
              ("lstm.bias_hh_l0", (8,)), ("lstm.weight_ih_l1", (8, 2)), ("lstm.weight_hh_l1", (8, 2)),
              ("lstm.bias_ih_l1", (8,)), ("lstm.bias_hh_l1", (8,))]
    flat = randn(sum(torch.Size(shape).numel() for _, shape in shapes))
    model_state = collections.OrderedDict()
    offset = 0
    for name, shape in shapes:
        numel = torch.Size(shape).numel()
        model_state[name] = flat[offset:offset + numel].view(shape)
        offset += numel

    model_state["linear.weight"] = randn(2, 3).t()            # strides (1, 3)
    model_state["linear.bias"] = randn(2, 6)[1, 1::2]         # offset 7, stride 2
    model_state["similarity_weight"] = torch.tensor([10.0])
    model_state["similarity_bias"] = torch.tensor([-5.0])

    # Storage types other than float32, and an empty tensor, to check that the reader
    # reports what it cannot convert.
    buffers = collections.OrderedDict([
        ("num_batches_tracked", torch.tensor(12, dtype=torch.int64)),
        ("running_mean", randn(3, dtype=torch.float64)),
        ("scale", randn(())),
        ("empty", torch.zeros(0, 3)),
        ("parameter", torch.nn.Parameter(randn(2, 2))),   # wrapped in _rebuild_parameter
    ])

    optimizer_state = {
        "state": {140178894849224: {"step": 3, "exp_avg": randn(8, 4), "exp_avg_sq": randn(8, 4)}},
        "param_groups": [{"lr": 1e-4, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0,
                          "amsgrad": False, "params": [140178894849224]}],
    }
    return {"step": 7, "model_state": model_state, "buffers": buffers, "optimizer_state": optimizer_state}


def describe(model_state):
    tensors = []
    for name, tensor in model_state.items():
        values = tensor.detach().contiguous().reshape(-1).tolist()
        tensors.append({
            "name": name,
            "storage_type": storage_type_name(tensor),
            "shape": list(tensor.shape),
            "storage_offset": tensor.storage_offset(),
            "stride": list(tensor.stride()),
            "values": values,
        })
    return tensors


def storage_type_name(tensor):
    return {torch.float32: "FloatStorage", torch.float64: "DoubleStorage", torch.int64: "LongStorage"}[tensor.dtype]


def write_golden(path, checkpoint_path):
    loaded = torch.load(checkpoint_path, map_location="cpu", weights_only=False)
    golden = {
        "source": checkpoint_path.name,
        "written_by": "tools/make_legacy_torch_fixture.py",
        "torch_version": torch.__version__,
        "step": loaded["step"],
        "tensors": describe(loaded["model_state"]),
    }
    if "buffers" in loaded:
        golden["buffers"] = describe(loaded["buffers"])
    # One line per tensor keeps the file short and its diffs readable.
    lists = {key: golden.pop(key) for key in ("tensors", "buffers") if key in golden}
    text = json.dumps(golden)[:-1]
    for key, tensors in lists.items():
        lines = ",\n  ".join(json.dumps(tensor) for tensor in tensors)
        text += f', "{key}": [\n  {lines}\n]'
    path.write_text(text + "}\n")
    return loaded


class StorageSlice:
    """A view of `numel` elements at `offset` into a root storage, pickled as torch 1.x did."""

    def __init__(self, root_key, root, offset, numel, view_key):
        self.root_key, self.root, self.offset, self.numel, self.view_key = root_key, root, offset, numel, view_key


class TensorOnSlice:
    """Pickles like a tensor: torch._utils._rebuild_tensor_v2 over a storage view."""

    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class LegacyPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, StorageSlice):
            view_metadata = (obj.view_key, obj.offset, obj.numel)
            return ("storage", torch.FloatStorage, obj.root_key, "cpu", obj.root.numel(), view_metadata)
        return None


def write_views_checkpoint(path):
    """Write a legacy checkpoint whose tensors sit on views of one storage, laid out as
    _legacy_save in torch/serialization.py of torch 1.x wrote it."""
    generator = torch.Generator().manual_seed(7)
    root = torch.randn(40, generator=generator)
    root_key = "94768892331376"
    low = StorageSlice(root_key, root, 0, 16, "94768892331400")
    high = StorageSlice(root_key, root, 16, 24, "94768892331424")

    model_state = collections.OrderedDict([
        ("lstm.weight_ih_l0", TensorOnSlice(low, 0, (4, 4), (4, 1))),
        ("lstm.bias_ih_l0", TensorOnSlice(high, 2, (3,), (1,))),
        ("linear.weight", TensorOnSlice(high, 5, (3, 2), (1, 3))),
    ])
    checkpoint = {"step": 1, "model_state": model_state}

    with open(path, "wb") as f:
        for header in (MAGIC_NUMBER, PROTOCOL_VERSION, SYS_INFO):
            pickle.dump(header, f, protocol=2)
        buffer = io.BytesIO()
        LegacyPickler(buffer, protocol=2).dump(checkpoint)
        f.write(buffer.getvalue())
        pickle.dump([root_key], f, protocol=2)
        f.write(root.numel().to_bytes(8, "little"))
        f.write(root.numpy().astype("<f4").tobytes())


def main():
    OUT.mkdir(parents=True, exist_ok=True)

    checkpoint = make_checkpoint()
    plain = OUT / "tiny_legacy.pt"
    torch.save(checkpoint, plain, _use_new_zipfile_serialization=False)
    loaded = write_golden(OUT / "tiny_legacy.json", plain)
    for key in ("model_state", "buffers"):
        for name, tensor in checkpoint[key].items():
            assert torch.equal(loaded[key][name], tensor), name

    views = OUT / "tiny_legacy_views.pt"
    write_views_checkpoint(views)
    write_golden(OUT / "tiny_legacy_views.json", views)

    for path in (plain, views):
        print(path, path.stat().st_size, "bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
