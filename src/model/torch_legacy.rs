//! Reader for torch's legacy checkpoint format: what `torch.save` wrote before torch 1.6
//! made zip archives the default, and still writes with `_use_new_zipfile_serialization=False`.
//!
//! The layout, as `_legacy_save` and `_legacy_load` in `torch/serialization.py` define it, is
//! five pickles back to back, then the storages' bytes:
//! 1. the magic number 0x1950a86a20f9469cfc6c;
//! 2. the format version, 1001;
//! 3. `sys_info`, a dict whose `little_endian` flag gives the byte order of the data;
//! 4. the saved object, in which each storage is a persistent id
//!    `('storage', storage_type, key, location, numel, view_metadata)` and each tensor is a
//!    call `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`;
//! 5. the list of storage keys;
//!
//! then, for each key in that order, the element count as 8 bytes little endian followed by
//! the elements. The reader works on the whole file in memory and checks every length and
//! offset against it, so a damaged or hostile file yields a [`CheckpointError`], never a panic.

use std::collections::HashMap;

use super::pickle::{unpickle, Object, ObjectId, Pickle};

/// The first pickle of every legacy checkpoint: the integer 0x1950a86a20f9469cfc6c, as the
/// little-endian two's-complement bytes that `LONG1` stores.
const MAGIC_NUMBER: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

/// The only format version torch has written in the legacy layout.
const FORMAT_VERSION: i64 = 1001;

/// A zip archive's local file header: the checkpoint format of torch 1.6 and later.
const ZIP_SIGNATURE: &[u8] = b"PK\x03\x04";

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error(
        "this is a zip-based torch checkpoint (torch 1.6 and later), not the legacy format; \
         re-save it with torch.save(obj, f, _use_new_zipfile_serialization=False)"
    )]
    ZipFormat,
    #[error("not a legacy torch checkpoint: the first pickle is {found}, not the magic number 0x1950a86a20f9469cfc6c")]
    BadMagic { found: String },
    #[error("unsupported legacy checkpoint format version {found}; expected {FORMAT_VERSION}")]
    UnsupportedFormatVersion { found: String },
    #[error("the checkpoint's data is big-endian; only little-endian checkpoints are supported")]
    BigEndian,
    #[error("checkpoint is truncated at byte {offset}: {what} needs {needed} bytes, {available} remain")]
    Truncated { offset: usize, what: &'static str, needed: usize, available: usize },
    #[error(
        "unsupported pickle opcode 0x{opcode:02x} at byte {offset}; only the protocol 2 opcodes \
         that torch.save writes are supported"
    )]
    UnsupportedOpcode { opcode: u8, offset: usize },
    #[error("unsupported pickle protocol {version} at byte {offset}; the highest supported is {max}")]
    UnsupportedPickleProtocol { version: u8, max: u8, offset: usize },
    #[error("the pickle has built more than {max} objects by byte {offset}, far more than a state dict needs")]
    TooManyObjects { offset: usize, max: usize },
    #[error("invalid pickle at byte {offset}: {reason}")]
    MalformedPickle { offset: usize, reason: String },
    #[error("invalid checkpoint structure: {context} is a {found}, expected {expected}")]
    UnexpectedObject { context: String, expected: &'static str, found: &'static str },
    #[error("the checkpoint has no entry {key:?}")]
    MissingEntry { key: String },
    #[error("unsupported storage type torch.{name}")]
    UnsupportedStorageType { name: String },
    #[error("storage {key} is declared twice with different types or sizes")]
    ConflictingStorage { key: String },
    #[error("the storage list names storage {key}, which no tensor uses")]
    UndeclaredStorage { key: String },
    #[error("the storage list names storage {key} twice")]
    DuplicateStorage { key: String },
    #[error("storage {key} has no data in the checkpoint")]
    MissingStorageData { key: String },
    #[error("storage {key} is declared with {declared} elements but its data has {found}")]
    StorageSizeMismatch { key: String, declared: u64, found: u64 },
    #[error(
        "storage view {view_key} covers elements {offset}..{offset}+{len}, beyond the {available} of storage {key}"
    )]
    ViewOutOfBounds { key: String, view_key: String, offset: u64, len: u64, available: usize },
    #[error(
        "tensor {name} with shape {shape:?}, strides {strides:?} and offset {offset} does not fit \
         in its storage of {available} elements"
    )]
    TensorOutOfBounds { name: String, shape: Vec<usize>, strides: Vec<usize>, offset: usize, available: usize },
    #[error("tensor {name} is stored as torch.{found}; expected torch.{expected}")]
    UnsupportedDtype { name: String, found: &'static str, expected: &'static str },
    #[error("{count} unexpected bytes after the last storage")]
    TrailingBytes { count: usize },
}

/// Element types of torch storages, by the class name that a checkpoint stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageType {
    Float,
    Double,
    Half,
    BFloat16,
    Long,
    Int,
    Short,
    Char,
    Byte,
    Bool,
    ComplexFloat,
    ComplexDouble,
}

impl StorageType {
    const ALL: [StorageType; 12] = [
        StorageType::Float,
        StorageType::Double,
        StorageType::Half,
        StorageType::BFloat16,
        StorageType::Long,
        StorageType::Int,
        StorageType::Short,
        StorageType::Char,
        StorageType::Byte,
        StorageType::Bool,
        StorageType::ComplexFloat,
        StorageType::ComplexDouble,
    ];

    /// Returns the class name in module `torch`, such as "FloatStorage".
    pub fn class_name(self) -> &'static str {
        match self {
            StorageType::Float => "FloatStorage",
            StorageType::Double => "DoubleStorage",
            StorageType::Half => "HalfStorage",
            StorageType::BFloat16 => "BFloat16Storage",
            StorageType::Long => "LongStorage",
            StorageType::Int => "IntStorage",
            StorageType::Short => "ShortStorage",
            StorageType::Char => "CharStorage",
            StorageType::Byte => "ByteStorage",
            StorageType::Bool => "BoolStorage",
            StorageType::ComplexFloat => "ComplexFloatStorage",
            StorageType::ComplexDouble => "ComplexDoubleStorage",
        }
    }

    pub fn element_size(self) -> usize {
        match self {
            StorageType::Char | StorageType::Byte | StorageType::Bool => 1,
            StorageType::Half | StorageType::BFloat16 | StorageType::Short => 2,
            StorageType::Float | StorageType::Int => 4,
            StorageType::Double | StorageType::Long | StorageType::ComplexFloat => 8,
            StorageType::ComplexDouble => 16,
        }
    }

    fn from_class_name(name: &str) -> Option<StorageType> {
        StorageType::ALL.into_iter().find(|t| t.class_name() == name)
    }
}

/// A tensor as a checkpoint stores it: a strided view into a storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTensor {
    pub name: String,
    pub storage_type: StorageType,
    /// Key of the root storage, whose data the checkpoint holds.
    pub storage_key: String,
    /// Elements from the start of the root storage to the tensor's first element, including
    /// the offset of a storage view.
    pub storage_offset: usize,
    pub shape: Vec<usize>,
    /// In elements, one per dimension.
    pub strides: Vec<usize>,
}

impl StoredTensor {
    pub fn element_count(&self) -> usize {
        self.shape.iter().product()
    }
}

/// A parsed legacy checkpoint, borrowing the file's bytes.
pub struct LegacyCheckpoint<'a> {
    bytes: &'a [u8],
    object: Pickle,
    storages: HashMap<String, StorageData>,
}

/// A storage named by a persistent id.
#[derive(Debug, Clone, PartialEq, Eq)]
struct StorageRef {
    storage_type: StorageType,
    key: String,
    numel: usize,
    /// For a view of another storage: its first element and length within `key`.
    view: Option<(usize, usize)>,
}

/// Location of a root storage's elements in the file.
#[derive(Debug, Clone, Copy)]
struct StorageData {
    numel: usize,
    /// Byte offset of the first element.
    start: usize,
}

impl<'a> LegacyCheckpoint<'a> {
    /// Parses the pickles and locates every storage's data, checking each against the file's size.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, CheckpointError> {
        if bytes.starts_with(ZIP_SIGNATURE) {
            return Err(CheckpointError::ZipFormat);
        }

        let (magic, offset) = unpickle(bytes, 0)?;
        check_magic(&magic)?;
        let (version, offset) = unpickle(bytes, offset)?;
        check_format_version(&version)?;
        let (sys_info, offset) = unpickle(bytes, offset)?;
        check_little_endian(&sys_info)?;

        let (object, offset) = unpickle(bytes, offset)?;
        let (keys, offset) = unpickle(bytes, offset)?;

        let declared = declared_storages(&object)?;
        let keys = storage_keys(&keys)?;
        let storages = locate_storages(bytes, offset, &keys, &declared)?;
        Ok(LegacyCheckpoint { bytes, object, storages })
    }

    /// Returns the integer stored under `key` in the saved dict, such as a training step count.
    pub fn int_entry(&self, key: &str) -> Option<i64> {
        let id = self.object.dict_get(self.object.root, key)?;
        match self.object.get(id) {
            Object::Int(value) => Some(*value),
            _ => None,
        }
    }

    /// Lists the tensors of the state dict stored under `key` in the saved dict, in stored order.
    pub fn state_dict(&self, key: &str) -> Result<Vec<StoredTensor>, CheckpointError> {
        let root = self.object.root();
        if !matches!(root, Object::Dict(_)) {
            return Err(unexpected("the saved object", "a dict", root));
        }
        let id = self
            .object
            .dict_get(self.object.root, key)
            .ok_or_else(|| CheckpointError::MissingEntry { key: key.to_owned() })?;
        let Object::Dict(items) = self.object.get(id) else {
            return Err(unexpected(key, "a dict of tensors", self.object.get(id)));
        };

        items
            .iter()
            .map(|&(name, value)| {
                let Object::String(name) = self.object.get(name) else {
                    return Err(unexpected(&format!("a key of {key}"), "a str", self.object.get(name)));
                };
                self.stored_tensor(name, value)
            })
            .collect()
    }

    /// Copies a float32 tensor's elements out of its storage in row-major order, following its
    /// offset and strides.
    pub fn read_f32(&self, tensor: &StoredTensor) -> Result<Vec<f32>, CheckpointError> {
        if tensor.storage_type != StorageType::Float {
            return Err(CheckpointError::UnsupportedDtype {
                name: tensor.name.clone(),
                found: tensor.storage_type.class_name(),
                expected: StorageType::Float.class_name(),
            });
        }
        let storage = self
            .storages
            .get(&tensor.storage_key)
            .ok_or_else(|| CheckpointError::MissingStorageData { key: tensor.storage_key.clone() })?;
        check_tensor_bounds(tensor, storage.numel)?;

        // `locate_storages` checked that the storage's bytes lie within the file, and the
        // bounds check above that every element index is below `storage.numel`.
        let data = take(self.bytes, storage.start, storage.numel * 4, "a storage's data")?;
        let mut values = Vec::with_capacity(tensor.element_count());
        for_each_element_offset(tensor, |element| {
            let at = element * 4;
            values.push(f32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]));
        });
        Ok(values)
    }

    fn stored_tensor(&self, name: &str, value: ObjectId) -> Result<StoredTensor, CheckpointError> {
        let context = || format!("tensor {name}");
        let args = self.rebuild_args(name, value)?;
        if args.len() < 4 {
            return Err(CheckpointError::UnexpectedObject {
                context: context(),
                expected: "_rebuild_tensor_v2 with at least 4 arguments",
                found: "shorter argument tuple",
            });
        }

        let Object::PersistentId(storage) = self.object.get(args[0]) else {
            return Err(unexpected(&context(), "a storage", self.object.get(args[0])));
        };
        let storage = storage_ref(&self.object, *storage)?;
        let offset = self.usize_at(args[1], &context)?;
        let shape = self.usize_tuple(args[2], &context)?;
        let strides = self.usize_tuple(args[3], &context)?;
        if shape.len() != strides.len() {
            return Err(CheckpointError::UnexpectedObject {
                context: context(),
                expected: "as many strides as dimensions",
                found: "a different number of strides",
            });
        }

        let (view_offset, view_len) = storage.view.unwrap_or((0, storage.numel));
        let tensor = StoredTensor {
            name: name.to_owned(),
            storage_type: storage.storage_type,
            storage_key: storage.key,
            storage_offset: view_offset.saturating_add(offset),
            shape,
            strides,
        };
        // The tensor must also stay inside its view, not only inside the root storage.
        let within_view = StoredTensor { storage_offset: offset, ..tensor.clone() };
        check_tensor_bounds(&within_view, view_len)?;
        Ok(tensor)
    }

    /// The arguments of `_rebuild_tensor_v2`, looking through one `_rebuild_parameter` wrapper.
    fn rebuild_args(&self, name: &str, value: ObjectId) -> Result<&[ObjectId], CheckpointError> {
        let (callable, args) = self.call_parts(name, value)?;
        if !is_global(self.object.get(callable), "_rebuild_parameter") {
            return Ok(args);
        }

        let inner = *args.first().ok_or(CheckpointError::UnexpectedObject {
            context: format!("parameter {name}"),
            expected: "a parameter wrapping a tensor",
            found: "an empty argument tuple",
        })?;
        let (callable, args) = self.call_parts(name, inner)?;
        if is_global(self.object.get(callable), "_rebuild_tensor_v2") {
            Ok(args)
        } else {
            Err(unexpected(
                &format!("parameter {name}"),
                "a call to torch._utils._rebuild_tensor_v2",
                self.object.get(callable),
            ))
        }
    }

    /// Splits a tensor's rebuild call into its callable and argument tuple.
    fn call_parts(&self, name: &str, value: ObjectId) -> Result<(ObjectId, &[ObjectId]), CheckpointError> {
        let context = format!("tensor {name}");
        let Object::Call { callable, args } = self.object.get(value) else {
            return Err(unexpected(&context, "a tensor", self.object.get(value)));
        };
        let Object::Tuple(args) = self.object.get(*args) else {
            return Err(unexpected(&context, "an argument tuple", self.object.get(*args)));
        };

        let function = self.object.get(*callable);
        if is_global(function, "_rebuild_tensor_v2") || is_global(function, "_rebuild_parameter") {
            Ok((*callable, args))
        } else {
            Err(unexpected(&context, "a call to torch._utils._rebuild_tensor_v2", function))
        }
    }

    fn usize_at(&self, id: ObjectId, context: &dyn Fn() -> String) -> Result<usize, CheckpointError> {
        match self.object.get(id) {
            Object::Int(value) => usize::try_from(*value).map_err(|_| CheckpointError::UnexpectedObject {
                context: context(),
                expected: "a non-negative size, stride or offset",
                found: "negative int",
            }),
            other => Err(unexpected(&context(), "an int", other)),
        }
    }

    fn usize_tuple(&self, id: ObjectId, context: &dyn Fn() -> String) -> Result<Vec<usize>, CheckpointError> {
        let Object::Tuple(items) = self.object.get(id) else {
            return Err(unexpected(&context(), "a tuple of ints", self.object.get(id)));
        };
        items.iter().map(|&item| self.usize_at(item, context)).collect()
    }
}

/// Tests whether `object` is the global `torch._utils.<function>`.
fn is_global(object: &Object, function: &str) -> bool {
    matches!(object, Object::Global { module, name } if module == "torch._utils" && name == function)
}

fn unexpected(context: &str, expected: &'static str, found: &Object) -> CheckpointError {
    CheckpointError::UnexpectedObject { context: context.to_owned(), expected, found: found.kind() }
}

fn check_magic(magic: &Pickle) -> Result<(), CheckpointError> {
    match magic.root() {
        Object::BigInt(bytes) if bytes.as_slice() == MAGIC_NUMBER => Ok(()),
        Object::Int(value) => Err(CheckpointError::BadMagic { found: value.to_string() }),
        other => Err(CheckpointError::BadMagic { found: format!("a {}", other.kind()) }),
    }
}

fn check_format_version(version: &Pickle) -> Result<(), CheckpointError> {
    match version.root() {
        Object::Int(FORMAT_VERSION) => Ok(()),
        Object::Int(other) => Err(CheckpointError::UnsupportedFormatVersion { found: other.to_string() }),
        other => Err(CheckpointError::UnsupportedFormatVersion { found: format!("a {}", other.kind()) }),
    }
}

fn check_little_endian(sys_info: &Pickle) -> Result<(), CheckpointError> {
    let flag = sys_info.dict_get(sys_info.root, "little_endian").map(|id| sys_info.get(id));
    match flag {
        Some(Object::Bool(true)) => Ok(()),
        Some(Object::Bool(false)) => Err(CheckpointError::BigEndian),
        Some(other) => Err(unexpected("sys_info[\"little_endian\"]", "a bool", other)),
        None => Err(CheckpointError::MissingEntry { key: "sys_info[\"little_endian\"]".into() }),
    }
}

/// Decodes `('storage', storage_type, key, location, numel, view_metadata)`.
fn storage_ref(pickle: &Pickle, id: ObjectId) -> Result<StorageRef, CheckpointError> {
    const CONTEXT: &str = "a storage's persistent id";
    let Object::Tuple(fields) = pickle.get(id) else {
        return Err(unexpected(CONTEXT, "a tuple", pickle.get(id)));
    };
    let [tag, storage_type, key, _location, numel, view] = fields.as_slice() else {
        return Err(CheckpointError::UnexpectedObject {
            context: CONTEXT.into(),
            expected: "a tuple of 6 fields",
            found: "tuple of another length",
        });
    };
    if !matches!(pickle.get(*tag), Object::String(tag) if tag == "storage") {
        return Err(unexpected(CONTEXT, "the tag 'storage'", pickle.get(*tag)));
    }

    let storage_type = match pickle.get(*storage_type) {
        Object::Global { module, name } if module == "torch" => StorageType::from_class_name(name)
            .ok_or_else(|| CheckpointError::UnsupportedStorageType { name: name.clone() })?,
        other => return Err(unexpected(CONTEXT, "a torch storage class", other)),
    };
    let key = string_at(pickle, *key, CONTEXT)?;
    let numel = non_negative_at(pickle, *numel, CONTEXT)?;
    let view = match pickle.get(*view) {
        Object::None => None,
        Object::Tuple(view) => Some(view_range(pickle, view, &key, numel)?),
        other => return Err(unexpected(CONTEXT, "None or a storage view", other)),
    };
    Ok(StorageRef { storage_type, key, numel, view })
}

/// Decodes `(view_key, offset, numel)`, the view metadata torch 1.x wrote for a storage that
/// was a slice of the root storage `key`.
fn view_range(
    pickle: &Pickle,
    view: &[ObjectId],
    key: &str,
    root_numel: usize,
) -> Result<(usize, usize), CheckpointError> {
    const CONTEXT: &str = "a storage view";
    let [view_key, offset, len] = view else {
        return Err(CheckpointError::UnexpectedObject {
            context: CONTEXT.into(),
            expected: "a tuple of 3 fields",
            found: "tuple of another length",
        });
    };
    let view_key = string_at(pickle, *view_key, CONTEXT)?;
    let offset = non_negative_at(pickle, *offset, CONTEXT)?;
    let len = non_negative_at(pickle, *len, CONTEXT)?;
    if offset.checked_add(len).is_none_or(|end| end > root_numel) {
        return Err(CheckpointError::ViewOutOfBounds {
            key: key.to_owned(),
            view_key,
            offset: offset as u64,
            len: len as u64,
            available: root_numel,
        });
    }
    Ok((offset, len))
}

fn string_at(pickle: &Pickle, id: ObjectId, context: &str) -> Result<String, CheckpointError> {
    match pickle.get(id) {
        Object::String(text) => Ok(text.clone()),
        other => Err(unexpected(context, "a str", other)),
    }
}

fn non_negative_at(pickle: &Pickle, id: ObjectId, context: &str) -> Result<usize, CheckpointError> {
    match pickle.get(id) {
        Object::Int(value) => usize::try_from(*value).map_err(|_| CheckpointError::UnexpectedObject {
            context: context.to_owned(),
            expected: "a non-negative int",
            found: "negative int",
        }),
        other => Err(unexpected(context, "an int", other)),
    }
}

/// Collects every root storage the saved object refers to, with its type and element count.
fn declared_storages(object: &Pickle) -> Result<HashMap<String, (StorageType, usize)>, CheckpointError> {
    let mut declared = HashMap::new();
    for candidate in &object.objects {
        let Object::PersistentId(id) = candidate else {
            continue;
        };
        let storage = storage_ref(object, *id)?;
        let previous = declared.insert(storage.key.clone(), (storage.storage_type, storage.numel));
        if previous.is_some_and(|previous| previous != (storage.storage_type, storage.numel)) {
            return Err(CheckpointError::ConflictingStorage { key: storage.key });
        }
    }
    Ok(declared)
}

fn storage_keys(keys: &Pickle) -> Result<Vec<String>, CheckpointError> {
    const CONTEXT: &str = "the storage key list";
    let Object::List(items) = keys.root() else {
        return Err(unexpected(CONTEXT, "a list", keys.root()));
    };
    items.iter().map(|&id| string_at(keys, id, CONTEXT)).collect()
}

/// Walks the storage records that follow the pickles, checking each length against the file.
fn locate_storages(
    bytes: &[u8],
    mut offset: usize,
    keys: &[String],
    declared: &HashMap<String, (StorageType, usize)>,
) -> Result<HashMap<String, StorageData>, CheckpointError> {
    let mut storages = HashMap::with_capacity(keys.len());
    for key in keys {
        let &(storage_type, numel) =
            declared.get(key).ok_or_else(|| CheckpointError::UndeclaredStorage { key: key.clone() })?;

        let count_bytes = take(bytes, offset, 8, "a storage's element count")?;
        let mut count = [0u8; 8];
        count.copy_from_slice(count_bytes);
        let count = u64::from_le_bytes(count);
        if count != numel as u64 {
            return Err(CheckpointError::StorageSizeMismatch {
                key: key.clone(),
                declared: numel as u64,
                found: count,
            });
        }
        offset += 8;

        // `numel` came from the pickle, so this product can overflow on a hostile file; a
        // saturated length fails the bounds check below.
        let len = numel.saturating_mul(storage_type.element_size());
        take(bytes, offset, len, "a storage's data")?;
        if storages.insert(key.clone(), StorageData { numel, start: offset }).is_some() {
            return Err(CheckpointError::DuplicateStorage { key: key.clone() });
        }
        offset += len;
    }

    if offset != bytes.len() {
        return Err(CheckpointError::TrailingBytes { count: bytes.len() - offset });
    }
    Ok(storages)
}

fn take<'a>(bytes: &'a [u8], offset: usize, len: usize, what: &'static str) -> Result<&'a [u8], CheckpointError> {
    let available = bytes.len().saturating_sub(offset);
    if len > available {
        return Err(CheckpointError::Truncated { offset, what, needed: len, available });
    }
    Ok(&bytes[offset..offset + len])
}

/// Checks that every element of `tensor` lies within the first `available` storage elements,
/// and that it has no more elements than that, so a stride-0 expansion cannot make a copy
/// larger than the file.
fn check_tensor_bounds(tensor: &StoredTensor, available: usize) -> Result<(), CheckpointError> {
    let out_of_bounds = || CheckpointError::TensorOutOfBounds {
        name: tensor.name.clone(),
        shape: tensor.shape.clone(),
        strides: tensor.strides.clone(),
        offset: tensor.storage_offset,
        available,
    };

    let count = tensor.shape.iter().try_fold(1usize, |count, &dim| count.checked_mul(dim)).ok_or_else(out_of_bounds)?;
    if count == 0 {
        return Ok(());
    }
    if count > available {
        return Err(out_of_bounds());
    }

    let last = tensor.shape.iter().zip(&tensor.strides).try_fold(tensor.storage_offset, |last, (&dim, &stride)| {
        (dim - 1).checked_mul(stride).and_then(|reach| last.checked_add(reach))
    });
    match last {
        Some(last) if last < available => Ok(()),
        _ => Err(out_of_bounds()),
    }
}

/// Calls `visit` with the storage index of each element of `tensor`, in row-major order.
/// The caller has checked the tensor's bounds.
fn for_each_element_offset(tensor: &StoredTensor, mut visit: impl FnMut(usize)) {
    let count = tensor.element_count();
    let mut index = vec![0usize; tensor.shape.len()];
    let mut offset = tensor.storage_offset;
    for _ in 0..count {
        visit(offset);

        // Advance the multi-dimensional index like an odometer, innermost dimension first.
        // Offsets only ever step to another element of the tensor, so none leaves the
        // checked bounds, even after the last element.
        for dim in (0..index.len()).rev() {
            if index[dim] + 1 < tensor.shape[dim] {
                index[dim] += 1;
                offset += tensor.strides[dim];
                break;
            }
            offset -= tensor.strides[dim] * (tensor.shape[dim] - 1);
            index[dim] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(shape: &[usize], strides: &[usize], offset: usize) -> StoredTensor {
        StoredTensor {
            name: "t".into(),
            storage_type: StorageType::Float,
            storage_key: "0".into(),
            storage_offset: offset,
            shape: shape.to_vec(),
            strides: strides.to_vec(),
        }
    }

    fn offsets(tensor: &StoredTensor) -> Vec<usize> {
        let mut offsets = Vec::new();
        for_each_element_offset(tensor, |offset| offsets.push(offset));
        offsets
    }

    #[test]
    fn transposed_offsets() {
        assert_eq!(offsets(&tensor(&[3, 2], &[1, 3], 0)), [0, 3, 1, 4, 2, 5]);
    }

    #[test]
    fn scalar_has_one_element() {
        assert_eq!(offsets(&tensor(&[], &[], 5)), [5]);
    }

    #[test]
    fn empty_tensor_has_no_elements() {
        assert!(offsets(&tensor(&[2, 0], &[1, 1], 0)).is_empty());
        assert!(check_tensor_bounds(&tensor(&[2, 0], &[1, 1], 99), 0).is_ok());
    }

    #[test]
    fn huge_stride_of_unit_dimension() {
        // A dimension of size 1 makes its stride irrelevant, however large.
        let tensor = tensor(&[1, 2], &[usize::MAX / 2, 1], 0);
        assert!(check_tensor_bounds(&tensor, 2).is_ok());
        assert_eq!(offsets(&tensor), [0, 1]);
    }

    #[test]
    fn bounds_reject_past_end() {
        assert!(check_tensor_bounds(&tensor(&[2, 3], &[3, 1], 0), 6).is_ok());
        assert!(check_tensor_bounds(&tensor(&[2, 3], &[3, 1], 1), 6).is_err());
        assert!(check_tensor_bounds(&tensor(&[2, 3], &[usize::MAX, 1], 0), 6).is_err());
    }

    #[test]
    fn bounds_reject_expansion() {
        // A stride of 0 repeats one element; copying it could need far more memory than the file.
        assert!(check_tensor_bounds(&tensor(&[1000], &[0], 0), 10).is_err());
    }
}
