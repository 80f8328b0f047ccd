//! A bounded reader for the subset of Python's pickle protocol 2 that `torch.save` writes.
//!
//! Nothing is executed: a class reference stays a [`Object::Global`] and a call to it stays an
//! [`Object::Call`], so reading a hostile file runs no code. Objects live in one arena and refer
//! to each other by index, as the pickle memo does. A memo hit copies an index, not an object,
//! so memory grows at most linearly with the input. Cycles cannot trap a reader that follows
//! only the paths it expects.
//!
//! Opcode semantics follow CPython's `Lib/pickletools.py`.

use std::collections::HashMap;

use super::torch_legacy::CheckpointError;

/// Index of an object in [`Pickle::objects`].
pub type ObjectId = usize;

/// The highest pickle protocol this reader accepts. `torch.save` writes protocol 2 unless
/// the caller passes another `pickle_protocol`.
const MAX_PROTOCOL: u8 = 2;

/// Maximum number of objects one pickle may build. Each takes a few dozen bytes whatever its
/// opcode's size, so this caps memory at tens of MB. A state dict needs about ten per tensor.
pub const MAX_OBJECTS: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    None,
    Bool(bool),
    Int(i64),
    /// An integer wider than 64 bits, as little-endian two's-complement bytes.
    BigInt(Vec<u8>),
    Float(f64),
    String(String),
    Tuple(Vec<ObjectId>),
    List(Vec<ObjectId>),
    /// Items in insertion order, so that an `OrderedDict` keeps its order.
    Dict(Vec<(ObjectId, ObjectId)>),
    /// A class or function reference (`GLOBAL module name`), never imported.
    Global {
        module: String,
        name: String,
    },
    /// A call recorded by `REDUCE` or `NEWOBJ`, never made.
    Call {
        callable: ObjectId,
        args: ObjectId,
    },
    /// A persistent id (`BINPERSID`), which torch uses to refer to storages.
    PersistentId(ObjectId),
}

impl Object {
    /// Returns the Python type name, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Object::None => "None",
            Object::Bool(_) => "bool",
            Object::Int(_) | Object::BigInt(_) => "int",
            Object::Float(_) => "float",
            Object::String(_) => "str",
            Object::Tuple(_) => "tuple",
            Object::List(_) => "list",
            Object::Dict(_) => "dict",
            Object::Global { .. } => "global",
            Object::Call { .. } => "object",
            Object::PersistentId(_) => "persistent id",
        }
    }
}

/// One unpickled value: the arena of all objects it built and the one `STOP` returned.
#[derive(Debug)]
pub struct Pickle {
    pub objects: Vec<Object>,
    pub root: ObjectId,
}

impl Pickle {
    pub fn get(&self, id: ObjectId) -> &Object {
        // Every id stored in the arena was handed out by `Machine::push_new`, so it is in range.
        &self.objects[id]
    }

    pub fn root(&self) -> &Object {
        self.get(self.root)
    }

    /// Looks up the value stored under the string key `key`, when `dict` is a dict.
    pub fn dict_get(&self, dict: ObjectId, key: &str) -> Option<ObjectId> {
        let Object::Dict(items) = self.get(dict) else {
            return None;
        };
        items.iter().find(|(k, _)| matches!(self.get(*k), Object::String(s) if s == key)).map(|&(_, value)| value)
    }
}

/// Reads one pickle starting at `offset` in `bytes`; returns it and the offset after `STOP`.
pub fn unpickle(bytes: &[u8], offset: usize) -> Result<(Pickle, usize), CheckpointError> {
    let mut machine = Machine { input: Input { bytes, position: offset }, ..Machine::default() };
    let root = machine.run()?;
    let end = machine.input.position;
    Ok((Pickle { objects: machine.objects, root }, end))
}

#[derive(Default)]
struct Input<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Input<'a> {
    fn take(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], CheckpointError> {
        let available = self.bytes.len().saturating_sub(self.position);
        if len > available {
            return Err(CheckpointError::Truncated { offset: self.position, what, needed: len, available });
        }
        let taken = &self.bytes[self.position..self.position + len];
        self.position += len;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], CheckpointError> {
        let mut array = [0u8; N];
        array.copy_from_slice(self.take(N, what)?);
        Ok(array)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, CheckpointError> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u32_le(&mut self, what: &'static str) -> Result<u32, CheckpointError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    /// Reads a `\n`-terminated line, as `GLOBAL` stores its module and name.
    fn line(&mut self, what: &'static str) -> Result<&'a [u8], CheckpointError> {
        let rest = self.bytes.get(self.position..).unwrap_or_default();
        let Some(len) = rest.iter().position(|&b| b == b'\n') else {
            return Err(CheckpointError::Truncated {
                offset: self.position,
                what,
                needed: rest.len() + 1,
                available: rest.len(),
            });
        };
        let line = self.take(len, what)?;
        self.position += 1;
        Ok(line)
    }
}

#[derive(Default)]
struct Machine<'a> {
    input: Input<'a>,
    objects: Vec<Object>,
    stack: Vec<ObjectId>,
    /// Stack lengths at each open `MARK`, innermost last.
    marks: Vec<usize>,
    memo: HashMap<u32, ObjectId>,
    /// Offset of the opcode being run, for error messages.
    opcode_offset: usize,
}

impl Machine<'_> {
    fn run(&mut self) -> Result<ObjectId, CheckpointError> {
        loop {
            self.opcode_offset = self.input.position;
            let opcode = self.input.u8("a pickle opcode")?;
            if opcode == b'.' {
                return self.pop();
            }
            self.step(opcode)?;
            if self.objects.len() > MAX_OBJECTS {
                return Err(CheckpointError::TooManyObjects { offset: self.opcode_offset, max: MAX_OBJECTS });
            }
        }
    }

    fn step(&mut self, opcode: u8) -> Result<(), CheckpointError> {
        match opcode {
            0x80 => self.proto()?,
            b'(' => self.marks.push(self.stack.len()),
            b'N' => self.push_new(Object::None),
            0x88 => self.push_new(Object::Bool(true)),
            0x89 => self.push_new(Object::Bool(false)),
            b'K' => {
                let value = self.input.u8("BININT1")?;
                self.push_new(Object::Int(value.into()));
            }
            b'M' => {
                let value = u16::from_le_bytes(self.input.array("BININT2")?);
                self.push_new(Object::Int(value.into()));
            }
            b'J' => {
                let value = i32::from_le_bytes(self.input.array("BININT")?);
                self.push_new(Object::Int(value.into()));
            }
            0x8a => {
                let len = self.input.u8("LONG1 length")?;
                self.long(len.into())?;
            }
            0x8b => {
                let len = i32::from_le_bytes(self.input.array("LONG4 length")?);
                let len = usize::try_from(len).map_err(|_| self.malformed(format!("negative LONG4 length {len}")))?;
                self.long(len)?;
            }
            b'G' => {
                // Pickle stores floats big-endian, unlike its integers.
                let value = f64::from_be_bytes(self.input.array("BINFLOAT")?);
                self.push_new(Object::Float(value));
            }
            b'X' => self.binunicode()?,
            b'c' => self.global()?,
            b')' => self.push_new(Object::Tuple(Vec::new())),
            b']' => self.push_new(Object::List(Vec::new())),
            b'}' => self.push_new(Object::Dict(Vec::new())),
            0x85..=0x87 => {
                let len = usize::from(opcode - 0x84);
                let items = self.pop_n(len)?;
                self.push_new(Object::Tuple(items));
            }
            b't' => {
                let items = self.pop_to_mark()?;
                self.push_new(Object::Tuple(items));
            }
            b'a' => {
                let item = self.pop()?;
                self.list_on_top()?.push(item);
            }
            b'e' => {
                let items = self.pop_to_mark()?;
                self.list_on_top()?.extend(items);
            }
            b's' => {
                let value = self.pop()?;
                let key = self.pop()?;
                self.dict_on_top()?.push((key, value));
            }
            b'u' => self.setitems()?,
            b'R' | 0x81 => {
                let args = self.pop()?;
                let callable = self.pop()?;
                self.call(callable, args);
            }
            // BUILD sets an object's attributes, such as an OrderedDict's `_metadata`. No reader
            // here needs them, so the state is dropped and the object kept.
            b'b' => {
                self.pop()?;
                self.top()?;
            }
            b'Q' => {
                let id = self.pop()?;
                self.push_new(Object::PersistentId(id));
            }
            b'0' => {
                self.pop()?;
            }
            b'1' => {
                self.pop_to_mark()?;
            }
            b'q' => {
                let index = self.input.u8("BINPUT")?;
                self.memo_put(index.into())?;
            }
            b'r' => {
                let index = self.input.u32_le("LONG_BINPUT")?;
                self.memo_put(index)?;
            }
            b'h' => {
                let index = self.input.u8("BINGET")?;
                self.memo_get(index.into())?;
            }
            b'j' => {
                let index = self.input.u32_le("LONG_BINGET")?;
                self.memo_get(index)?;
            }
            _ => return Err(CheckpointError::UnsupportedOpcode { opcode, offset: self.opcode_offset }),
        }
        Ok(())
    }

    fn proto(&mut self) -> Result<(), CheckpointError> {
        let version = self.input.u8("PROTO")?;
        if version > MAX_PROTOCOL {
            return Err(CheckpointError::UnsupportedPickleProtocol {
                version,
                max: MAX_PROTOCOL,
                offset: self.opcode_offset,
            });
        }
        Ok(())
    }

    /// Pushes the integer of a LONG1 or LONG4 opcode: `len` bytes of little-endian two's complement.
    fn long(&mut self, len: usize) -> Result<(), CheckpointError> {
        let bytes = self.input.take(len, "a LONG integer")?;
        if len > 8 {
            self.push_new(Object::BigInt(bytes.to_vec()));
            return Ok(());
        }

        let negative = bytes.last().is_some_and(|&b| b & 0x80 != 0);
        let mut extended = if negative { [0xff; 8] } else { [0; 8] };
        extended[..len].copy_from_slice(bytes);
        self.push_new(Object::Int(i64::from_le_bytes(extended)));
        Ok(())
    }

    fn binunicode(&mut self) -> Result<(), CheckpointError> {
        let len = self.input.u32_le("BINUNICODE length")?;
        let len = usize::try_from(len).map_err(|_| self.malformed(format!("string length {len} too large")))?;
        let bytes = self.input.take(len, "a BINUNICODE string")?;
        let text = std::str::from_utf8(bytes).map_err(|e| self.malformed(format!("string is not UTF-8: {e}")))?;
        self.push_new(Object::String(text.to_owned()));
        Ok(())
    }

    fn global(&mut self) -> Result<(), CheckpointError> {
        let module = self.input.line("a GLOBAL module name")?;
        let name = self.input.line("a GLOBAL name")?;
        let module =
            std::str::from_utf8(module).map_err(|e| self.malformed(format!("module name is not UTF-8: {e}")))?;
        let name = std::str::from_utf8(name).map_err(|e| self.malformed(format!("global name is not UTF-8: {e}")))?;
        self.push_new(Object::Global { module: module.to_owned(), name: name.to_owned() });
        Ok(())
    }

    fn setitems(&mut self) -> Result<(), CheckpointError> {
        let items = self.pop_to_mark()?;
        if items.len() % 2 != 0 {
            return Err(self.malformed(format!("SETITEMS with an odd number ({}) of keys and values", items.len())));
        }
        let pairs: Vec<(ObjectId, ObjectId)> = items.chunks_exact(2).map(|pair| (pair[0], pair[1])).collect();
        self.dict_on_top()?.extend(pairs);
        Ok(())
    }

    /// Records a `REDUCE` or `NEWOBJ`. `collections.OrderedDict()` becomes an empty dict,
    /// because the `SETITEMS` that follows fills it in as one.
    fn call(&mut self, callable: ObjectId, args: ObjectId) {
        let is_ordered_dict = matches!(
            &self.objects[callable],
            Object::Global { module, name } if module == "collections" && name == "OrderedDict"
        );
        let no_args = matches!(&self.objects[args], Object::Tuple(items) if items.is_empty());
        if is_ordered_dict && no_args {
            self.push_new(Object::Dict(Vec::new()));
        } else {
            self.push_new(Object::Call { callable, args });
        }
    }

    fn push_new(&mut self, object: Object) {
        self.objects.push(object);
        self.stack.push(self.objects.len() - 1);
    }

    /// Counts the stack items above the innermost open MARK, the only ones an opcode may take.
    fn items_above_mark(&self) -> usize {
        let floor = self.marks.last().copied().unwrap_or(0);
        self.stack.len() - floor
    }

    fn top(&self) -> Result<ObjectId, CheckpointError> {
        if self.items_above_mark() == 0 {
            return Err(self.malformed("stack is empty above the last MARK".into()));
        }
        self.stack.last().copied().ok_or_else(|| self.malformed("stack is empty".into()))
    }

    fn pop(&mut self) -> Result<ObjectId, CheckpointError> {
        self.top()?;
        self.stack.pop().ok_or_else(|| self.malformed("stack is empty".into()))
    }

    fn pop_n(&mut self, n: usize) -> Result<Vec<ObjectId>, CheckpointError> {
        let available = self.items_above_mark();
        if available < n {
            return Err(self.malformed(format!("needs {n} stack items, {available} available")));
        }
        Ok(self.stack.split_off(self.stack.len() - n))
    }

    fn pop_to_mark(&mut self) -> Result<Vec<ObjectId>, CheckpointError> {
        let mark = self.marks.pop().ok_or_else(|| self.malformed("no MARK is open".into()))?;
        Ok(self.stack.split_off(mark))
    }

    fn list_on_top(&mut self) -> Result<&mut Vec<ObjectId>, CheckpointError> {
        let top = self.top()?;
        let kind = self.objects[top].kind();
        match &mut self.objects[top] {
            Object::List(items) => Ok(items),
            _ => Err(CheckpointError::MalformedPickle {
                offset: self.opcode_offset,
                reason: format!("APPEND to a {kind}, not a list"),
            }),
        }
    }

    fn dict_on_top(&mut self) -> Result<&mut Vec<(ObjectId, ObjectId)>, CheckpointError> {
        let top = self.top()?;
        let kind = self.objects[top].kind();
        match &mut self.objects[top] {
            Object::Dict(items) => Ok(items),
            _ => Err(CheckpointError::MalformedPickle {
                offset: self.opcode_offset,
                reason: format!("SETITEM on a {kind}, not a dict"),
            }),
        }
    }

    fn memo_put(&mut self, index: u32) -> Result<(), CheckpointError> {
        let top = self.top()?;
        self.memo.insert(index, top);
        Ok(())
    }

    fn memo_get(&mut self, index: u32) -> Result<(), CheckpointError> {
        let id = *self.memo.get(&index).ok_or_else(|| self.malformed(format!("memo entry {index} is not set")))?;
        self.stack.push(id);
        Ok(())
    }

    fn malformed(&self, reason: String) -> CheckpointError {
        CheckpointError::MalformedPickle { offset: self.opcode_offset, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Result<Pickle, CheckpointError> {
        unpickle(bytes, 0).map(|(pickle, _)| pickle)
    }

    #[test]
    fn long1_sign_extends() {
        // Pickle writes integers beyond 32 bits, such as -2**32, as LONG1.
        let pickle = parse(b"\x80\x02\x8a\x05\x00\x00\x00\x00\xff.").unwrap();
        assert_eq!(pickle.root(), &Object::Int(-(1i64 << 32)));
    }

    #[test]
    fn wide_long1_stays_bytes() {
        // torch's legacy magic number, 0x1950a86a20f9469cfc6c, is 80 bits wide.
        let pickle = parse(b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.").unwrap();
        assert_eq!(pickle.root(), &Object::BigInt(vec![0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]));
    }

    #[test]
    fn memo_shares_one_object() {
        // {'a': []}, then the list is fetched from the memo, appended to and popped.
        let bytes = b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01]q\x02sh\x02K\x07a0.";
        let pickle = parse(bytes).unwrap();
        let list = pickle.dict_get(0, "a").unwrap();
        let Object::List(items) = pickle.get(list) else { panic!("not a list") };
        assert_eq!(items.len(), 1);
    }

    #[test]
    fn ordered_dict_becomes_dict() {
        let bytes = b"\x80\x02ccollections\nOrderedDict\n)R(X\x01\x00\x00\x00kK\x01u.";
        let pickle = parse(bytes).unwrap();
        let value = pickle.dict_get(pickle.root, "k").unwrap();
        assert_eq!(pickle.get(value), &Object::Int(1));
    }

    #[test]
    fn rejects_unknown_opcode() {
        let error = parse(b"\x80\x02\x95.").unwrap_err();
        assert!(matches!(error, CheckpointError::UnsupportedOpcode { opcode: 0x95, offset: 2 }), "{error}");
    }

    #[test]
    fn rejects_newer_protocol() {
        let error = parse(b"\x80\x04N.").unwrap_err();
        assert!(matches!(error, CheckpointError::UnsupportedPickleProtocol { version: 4, .. }), "{error}");
    }

    #[test]
    fn rejects_pop_through_mark() {
        let error = parse(b"\x80\x02K\x01(\x85.").unwrap_err();
        assert!(matches!(error, CheckpointError::MalformedPickle { .. }), "{error}");
    }

    #[test]
    fn rejects_string_longer_than_input() {
        let error = parse(b"\x80\x02X\xff\xff\xff\xffab").unwrap_err();
        assert!(matches!(error, CheckpointError::Truncated { .. }), "{error}");
    }

    #[test]
    fn rejects_too_many_objects() {
        let mut bytes = b"\x80\x02".to_vec();
        bytes.extend(std::iter::repeat_n(b'N', MAX_OBJECTS + 1));
        bytes.push(b'.');
        let error = parse(&bytes).unwrap_err();
        assert!(matches!(error, CheckpointError::TooManyObjects { .. }), "{error}");
    }

    #[test]
    fn rejects_missing_memo_entry() {
        let error = parse(b"\x80\x02h\x05.").unwrap_err();
        assert!(matches!(error, CheckpointError::MalformedPickle { .. }), "{error}");
    }
}
