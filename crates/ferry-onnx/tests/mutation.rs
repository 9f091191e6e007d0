//! Mutation testing: damaged models must give an `Err`, never a panic, a hang or an unbounded
//! allocation ("No panics on input" in ARCHITECTURE.md).
//!
//! `mutants_never_panic` takes every model under `testdata/onnx/` (and, with `FERRY_CORPUS` set, a
//! fixed selection of the shared corpus), damages it with seeded random mutations and feeds the
//! result to `load_bytes`, `to_bytes` and `to_proto`, and for some cases writes it to a temporary
//! directory and goes through `load` (memory map, external data beside the model) and `save`.
//!
//! Mutations are of two kinds: byte-level (bit flips, overwrites, 0x00/0xFF/0x7F/0x80, truncation,
//! duplicated or deleted ranges, splices from another model, inserted varints such as huge
//! lengths) and structure-aware (the protobuf wire tree is parsed, a field is changed, deleted,
//! duplicated, moved, renumbered or given another model's or an interesting value, and the tree
//! is re-encoded with consistent lengths), so that many mutants decode and reach the importer.
//!
//! Knobs (environment):
//! - `FERRY_MUTATION_CASES` (default 20000) and `FERRY_MUTATION_SECS` (default 30): stop at
//!   whichever comes first, but not before 2000 cases unless the time budget is blown five times.
//! - `FERRY_MUTATION_SEED`: the run's base seed (printed). Each case has its own seed, printed
//!   with any failure.
//! - `FERRY_MUTATION_REPLAY=<case seed>[,<case seed>...]`: run just those cases, write each mutant
//!   to the temp directory and print what happened (the input pool must be the same, so keep
//!   `FERRY_CORPUS` as it was).
//! - `FERRY_MUTATION_HANG_SECS` (default 20): a single case running longer aborts the run, naming
//!   the case.
//! - `FERRY_MUTATION_STRICT=1`: also fail on round-trip findings (a loaded mutant whose export
//!   differs from its decoded protobuf, or whose export does not re-load to the same bytes).
//!   By default these are printed, not failed.
//!
//! Memory: a counting global allocator measures, per thread, how far the live heap grows while a
//! case runs; a case growing it past 1 GiB is a failure, and a single allocation request above
//! 1 GiB during a case aborts the run after naming the case (it would likely be fatal anyway).

use bytes::Bytes;
use ferry_onnx::{LoadOptions, proto};
use ferry_testkit::{find_files, repo_root};
use prost::Message;
use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ------------------------------------------------------------------------------------------------
// Memory accounting

mod alloc_count {
    //! A global allocator that counts live bytes per thread and remembers the peak.

    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;
    use std::io::Write;

    pub const LIMIT: usize = 1 << 30;

    thread_local! {
        static LIVE: Cell<isize> = const { Cell::new(0) };
        static PEAK: Cell<isize> = const { Cell::new(0) };
        /// Case seed + 1 while a mutation case runs on this thread, else 0.
        static GUARD: Cell<u64> = const { Cell::new(0) };
    }

    pub struct Counting;

    fn add(delta: isize) {
        let _ = LIVE.try_with(|l| {
            let v = l.get() + delta;
            l.set(v);
            let _ = PEAK.try_with(|p| {
                if v > p.get() {
                    p.set(v)
                }
            });
        });
    }

    /// Refuses (so the process aborts) a single request above `LIMIT` made during a case, after
    /// naming the case on stderr. Formats without allocating.
    fn too_big(size: usize) -> bool {
        if size <= LIMIT {
            return false;
        }
        let guard = GUARD.try_with(|g| g.get()).unwrap_or(0);
        if guard == 0 {
            return false;
        }
        let mut buf = [0u8; 200];
        let mut n = 0;
        let mut put = |s: &[u8]| {
            let k = s.len().min(buf.len() - n);
            buf[n..n + k].copy_from_slice(&s[..k]);
            n += k;
        };
        put(b"\nmutation test: a case asked for a single allocation of ");
        put(decimal(size as u64).as_slice());
        put(b" bytes (more than 1 GiB); case seed ");
        put(decimal(guard - 1).as_slice());
        put(b" (replay with FERRY_MUTATION_REPLAY=that seed)\n");
        let _ = std::io::stderr().write_all(&buf[..n]);
        true
    }

    struct Dec([u8; 20], usize);
    impl Dec {
        fn as_slice(&self) -> &[u8] {
            &self.0[self.1..]
        }
    }
    fn decimal(mut v: u64) -> Dec {
        let mut d = Dec([0; 20], 20);
        loop {
            d.1 -= 1;
            d.0[d.1] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                return d;
            }
        }
    }

    #[allow(unsafe_code)]
    // SAFETY: every call is forwarded to `System` with the caller's arguments; the bookkeeping
    // touches only const-initialized thread-locals without destructors, which never allocate.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            if too_big(layout.size()) {
                return std::ptr::null_mut();
            }
            let p = unsafe { System.alloc(layout) };
            if !p.is_null() {
                add(layout.size() as isize);
            }
            p
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            if too_big(layout.size()) {
                return std::ptr::null_mut();
            }
            let p = unsafe { System.alloc_zeroed(layout) };
            if !p.is_null() {
                add(layout.size() as isize);
            }
            p
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) };
            add(-(layout.size() as isize));
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            if too_big(new_size) {
                return std::ptr::null_mut();
            }
            let p = unsafe { System.realloc(ptr, layout, new_size) };
            if !p.is_null() {
                add(new_size as isize - layout.size() as isize);
            }
            p
        }
    }

    /// Starts measuring on this thread: returns the baseline.
    pub fn start() -> isize {
        let live = LIVE.with(|l| l.get());
        PEAK.with(|p| p.set(live));
        live
    }

    /// How far the live heap of this thread rose above `base` since `start`.
    pub fn growth(base: isize) -> usize {
        (PEAK.with(|p| p.get()) - base).max(0) as usize
    }

    pub fn guard(seed: Option<u64>) {
        GUARD.with(|g| g.set(seed.map_or(0, |s| s.wrapping_add(1).max(1))));
    }
}

#[global_allocator]
static ALLOC: alloc_count::Counting = alloc_count::Counting;

// ------------------------------------------------------------------------------------------------
// Panic capture

struct PanicInfo {
    message: String,
    location: String,
    backtrace: std::backtrace::Backtrace,
}

thread_local! {
    static CAPTURING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static CAUGHT: std::cell::RefCell<Option<PanicInfo>> = const { std::cell::RefCell::new(None) };
}

/// Installs (once) a panic hook that, on threads inside `capture`, records the panic instead of
/// printing it; elsewhere it defers to the previous hook.
fn install_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if CAPTURING.with(|c| c.get()) {
                let message = if let Some(s) = info.payload().downcast_ref::<&str>() {
                    s.to_string()
                } else if let Some(s) = info.payload().downcast_ref::<String>() {
                    s.clone()
                } else {
                    "<non-string panic payload>".to_string()
                };
                let location =
                    info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
                let caught = PanicInfo {
                    message,
                    location: location.unwrap_or_else(|| "<unknown>".into()),
                    backtrace: std::backtrace::Backtrace::force_capture(),
                };
                CAUGHT.with(|c| *c.borrow_mut() = Some(caught));
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `f`, turning a panic into `Err(PanicInfo)`.
fn capture<T>(f: impl FnOnce() -> T) -> Result<T, PanicInfo> {
    install_hook();
    CAPTURING.with(|c| c.set(true));
    let r = catch_unwind(AssertUnwindSafe(f));
    CAPTURING.with(|c| c.set(false));
    r.map_err(|_| {
        CAUGHT.with(|c| c.borrow_mut().take()).unwrap_or_else(|| PanicInfo {
            message: "<panic not seen by the hook>".into(),
            location: "<unknown>".into(),
            backtrace: std::backtrace::Backtrace::disabled(),
        })
    })
}

// ------------------------------------------------------------------------------------------------
// PRNG (splitmix64)

#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
    fn chance(&mut self, num: u64, den: u64) -> bool {
        self.next() % den < num
    }
    /// A length in `1..=max`, biased towards small ones.
    fn small_len(&mut self, max: usize) -> usize {
        if max == 0 {
            return 0;
        }
        let cap = 1usize << self.below(14);
        1 + self.below(cap.min(max))
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

// ------------------------------------------------------------------------------------------------
// Protobuf wire tree

#[derive(Clone)]
enum Val {
    Varint(u64),
    I64(u64),
    I32(u32),
    /// A length-delimited field that did not parse as a message (string, bytes, packed scalars).
    Len(Bytes),
    /// A length-delimited field that parsed as a message.
    Msg(Vec<Field>),
}

#[derive(Clone)]
struct Field {
    num: u64,
    val: Val,
}

fn read_varint(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for i in 0..10 {
        let byte = *b.get(*pos)?;
        *pos += 1;
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Some(v);
        }
    }
    None
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Parses `b` as a message; length-delimited fields that parse as messages become subtrees.
fn parse(b: &Bytes, depth: usize) -> Option<Vec<Field>> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < b.len() {
        let key = read_varint(b, &mut pos)?;
        let num = key >> 3;
        if num == 0 || num >= 1 << 29 {
            return None;
        }
        let val = match key & 7 {
            0 => Val::Varint(read_varint(b, &mut pos)?),
            1 => {
                let s = b.get(pos..pos + 8)?;
                pos += 8;
                Val::I64(u64::from_le_bytes(s.try_into().ok()?))
            }
            2 => {
                let len = usize::try_from(read_varint(b, &mut pos)?).ok()?;
                if len > b.len() - pos {
                    return None;
                }
                let sub = b.slice(pos..pos + len);
                pos += len;
                match (len > 0 && depth < 64).then(|| parse(&sub, depth + 1)).flatten() {
                    Some(m) => Val::Msg(m),
                    None => Val::Len(sub),
                }
            }
            5 => {
                let s = b.get(pos..pos + 4)?;
                pos += 4;
                Val::I32(u32::from_le_bytes(s.try_into().ok()?))
            }
            _ => return None,
        };
        out.push(Field { num, val });
    }
    Some(out)
}

fn encode(fields: &[Field], out: &mut Vec<u8>) {
    for f in fields {
        match &f.val {
            Val::Varint(v) => {
                put_varint(out, f.num << 3);
                put_varint(out, *v);
            }
            Val::I64(v) => {
                put_varint(out, (f.num << 3) | 1);
                out.extend_from_slice(&v.to_le_bytes());
            }
            Val::I32(v) => {
                put_varint(out, (f.num << 3) | 5);
                out.extend_from_slice(&v.to_le_bytes());
            }
            Val::Len(b) => {
                put_varint(out, (f.num << 3) | 2);
                put_varint(out, b.len() as u64);
                out.extend_from_slice(b);
            }
            Val::Msg(m) => {
                let mut sub = Vec::new();
                encode(m, &mut sub);
                put_varint(out, (f.num << 3) | 2);
                put_varint(out, sub.len() as u64);
                out.extend_from_slice(&sub);
            }
        }
    }
}

type Pred<'a> = &'a dyn Fn(&Field) -> bool;

fn count(fields: &[Field], pred: Pred) -> usize {
    fields
        .iter()
        .map(|f| usize::from(pred(f)) + if let Val::Msg(m) = &f.val { count(m, pred) } else { 0 })
        .sum()
}

/// Finds the `k`-th field (pre-order) matching `pred`; `path` gets the indices leading to it.
fn find_path(fields: &[Field], k: &mut usize, pred: Pred, path: &mut Vec<usize>) -> bool {
    for (i, f) in fields.iter().enumerate() {
        if pred(f) {
            if *k == 0 {
                path.push(i);
                return true;
            }
            *k -= 1;
        }
        if let Val::Msg(m) = &f.val {
            path.push(i);
            if find_path(m, k, pred, path) {
                return true;
            }
            path.pop();
        }
    }
    false
}

/// A uniformly chosen field matching `pred`, as a path of indices.
fn pick_field(root: &[Field], rng: &mut Rng, pred: Pred) -> Option<Vec<usize>> {
    let n = count(root, pred);
    if n == 0 {
        return None;
    }
    let mut k = rng.below(n);
    let mut path = Vec::new();
    find_path(root, &mut k, pred, &mut path).then_some(path)
}

/// The message holding the field at `path`.
fn parent_mut<'a>(root: &'a mut Vec<Field>, path: &[usize]) -> &'a mut Vec<Field> {
    let mut cur = root;
    for &i in &path[..path.len() - 1] {
        cur = match &mut cur[i].val {
            Val::Msg(m) => m,
            _ => panic!("path through a non-message field"),
        };
    }
    cur
}

fn field_at<'a>(root: &'a [Field], path: &[usize]) -> &'a Field {
    let mut cur = root;
    for &i in &path[..path.len() - 1] {
        cur = match &cur[i].val {
            Val::Msg(m) => m,
            _ => panic!("path through a non-message field"),
        };
    }
    &cur[path[path.len() - 1]]
}

/// Field numbers along a path, e.g. `7.1.5` (graph, node, attribute).
fn path_name(root: &[Field], path: &[usize]) -> String {
    let mut cur = root;
    let mut parts = Vec::new();
    for &i in path {
        parts.push(cur[i].num.to_string());
        if let Val::Msg(m) = &cur[i].val {
            cur = m;
        }
    }
    parts.join(".")
}

// ------------------------------------------------------------------------------------------------
// Inputs

struct Input {
    /// Path relative to its set's root, for messages.
    name: String,
    bytes: Bytes,
    tree: Option<Vec<Field>>,
}

const MAX_INPUT: u64 = 4 << 20;

/// Every `n`-th file, spread over the sorted list, at most `max` of them.
fn spread(files: Vec<PathBuf>, max: usize) -> Vec<PathBuf> {
    if files.len() <= max {
        return files;
    }
    let step = files.len() as f64 / max as f64;
    (0..max).map(|i| files[(i as f64 * step) as usize].clone()).collect()
}

/// (testdata inputs, corpus inputs)
fn load_inputs() -> (Vec<Input>, Vec<Input>) {
    let read = |p: &Path, root: &Path| -> Option<Input> {
        let meta = std::fs::metadata(p).ok()?;
        if meta.len() > MAX_INPUT {
            return None;
        }
        let bytes = Bytes::from(std::fs::read(p).ok()?);
        let tree = parse(&bytes, 0);
        let name = p.strip_prefix(root).unwrap_or(p).display().to_string();
        Some(Input { name, bytes, tree })
    };
    let root = repo_root();
    let is_onnx = |p: &Path| p.extension().is_some_and(|x| x == "onnx");
    let testdata: Vec<Input> = find_files(&root.join("testdata/onnx"), &is_onnx)
        .iter()
        .filter_map(|p| read(p, &root))
        .collect();
    let mut corpus = Vec::new();
    if let Some(c) = std::env::var_os("FERRY_CORPUS").map(PathBuf::from) {
        let small = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.len() <= MAX_INPUT);
        let models: Vec<PathBuf> = find_files(&c.join("models"), &|p| is_onnx(p) && small(p));
        let conformance: Vec<PathBuf> = find_files(&c.join("onnx-conformance"), &|p| {
            p.file_name().is_some_and(|n| n == "model.onnx") && small(p)
        });
        for p in spread(models, 16).iter().chain(&spread(conformance, 48)) {
            corpus.extend(read(p, &c));
        }
    }
    (testdata, corpus)
}

// ------------------------------------------------------------------------------------------------
// Mutations

const INTERESTING_BYTES: [u8; 4] = [0x00, 0xFF, 0x7F, 0x80];

fn interesting_varint(rng: &mut Rng, old: u64) -> u64 {
    let table: [u64; 21] = [
        0,
        1,
        2,
        0x7f,
        0x80,
        0xff,
        0x100,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ffff,
        0x1_0000_0000,
        1 << 40,
        1 << 62,
        i64::MAX as u64,
        1 << 63,
        u64::MAX,
        (-2i64) as u64,
        old.wrapping_add(1),
        old.wrapping_sub(1),
        old.wrapping_mul(2),
        rng.next() % 33,
    ];
    match rng.below(table.len() + 1) {
        i if i < table.len() => table[i],
        _ => rng.next(),
    }
}

fn interesting_string(rng: &mut Rng) -> Vec<u8> {
    const TABLE: &[&[u8]] = &[
        b"",
        b".",
        b"..",
        b"../weights.bin",
        b"/etc/passwd",
        b"weights.bin",
        b"more.bin",
        b"w.bin",
        b"model.onnx",
        b"sub/dir/w.bin",
        b"a//b",
        b"missing.bin",
        b"\0",
        b"weights.bin\0x",
        b"location",
        b"offset",
        b"length",
        b"checksum",
        b"0",
        b"-1",
        b"18446744073709551615",
        b"18446744073709551616",
        b" 12 ",
        b"4096",
        b"",
        b"ai.onnx",
        b"ai.onnx.ml",
        b"com.microsoft",
        b"If",
        b"Loop",
        b"Scan",
        b"Constant",
        b"\xff\xfe\xc3",
        b"\xc3\xa9t\xc3\xa9",
    ];
    match rng.below(TABLE.len() + 1) {
        i if i < TABLE.len() => TABLE[i].to_vec(),
        _ => vec![b'A'; 1 + rng.below(4096)],
    }
}

fn is_any(_: &Field) -> bool {
    true
}
fn is_varint(f: &Field) -> bool {
    matches!(f.val, Val::Varint(_))
}
fn is_fixed(f: &Field) -> bool {
    matches!(f.val, Val::I32(_) | Val::I64(_))
}
fn is_len(f: &Field) -> bool {
    matches!(f.val, Val::Len(_))
}
fn is_short_len(f: &Field) -> bool {
    matches!(&f.val, Val::Len(b) if b.len() <= 64)
}

/// One structure-aware mutation of `tree`; returns its description.
fn mutate_tree(tree: &mut Vec<Field>, rng: &mut Rng, pool: &[&Input]) -> Option<String> {
    let op = rng.below(9);
    match op {
        0 => {
            let path = pick_field(tree, rng, &is_varint)?;
            let name = path_name(tree, &path);
            let parent = parent_mut(tree, &path);
            let f = &mut parent[*path.last()?];
            let Val::Varint(old) = f.val else { return None };
            let new = interesting_varint(rng, old);
            f.val = Val::Varint(new);
            Some(format!("tree: varint {name} {old} -> {new}"))
        }
        1 => {
            let path = pick_field(tree, rng, &is_any)?;
            let name = path_name(tree, &path);
            parent_mut(tree, &path).remove(*path.last()?);
            Some(format!("tree: delete field {name}"))
        }
        2 => {
            let path = pick_field(tree, rng, &is_any)?;
            let name = path_name(tree, &path);
            let parent = parent_mut(tree, &path);
            let i = *path.last()?;
            let copy = parent[i].clone();
            let at = rng.below(parent.len() + 1);
            parent.insert(at, copy);
            Some(format!("tree: duplicate field {name} to index {at}"))
        }
        3 => {
            // Transplant: a field from this or another model into a message of this model that
            // already has a field with the same number (so it is likely the same kind of field).
            let donor = pool[rng.below(pool.len())];
            let dtree = donor.tree.as_ref()?;
            let dpath = pick_field(dtree, rng, &is_any)?;
            let field = field_at(dtree, &dpath).clone();
            let num = field.num;
            let same = move |f: &Field| f.num == num;
            let path = pick_field(tree, rng, &same)?;
            let name = path_name(tree, &path);
            let parent = parent_mut(tree, &path);
            let at = rng.below(parent.len() + 1);
            parent.insert(at, field);
            Some(format!(
                "tree: transplant field {} of {} next to {name} (index {at})",
                path_name(dtree, &dpath),
                donor.name
            ))
        }
        4 => {
            let path = pick_field(tree, rng, &is_len)?;
            let name = path_name(tree, &path);
            // Half the time another short string of this model (names collide: duplicate
            // definitions, cycles, captures), else an interesting one.
            let new = if rng.chance(1, 2) {
                let other = pick_field(tree, rng, &is_short_len)?;
                match &field_at(tree, &other).val {
                    Val::Len(b) => b.to_vec(),
                    _ => return None,
                }
            } else {
                interesting_string(rng)
            };
            let shown = String::from_utf8_lossy(&new[..new.len().min(40)]).into_owned();
            let parent = parent_mut(tree, &path);
            parent[*path.last()?].val = Val::Len(Bytes::from(new));
            Some(format!("tree: string {name} := {shown:?}"))
        }
        5 => {
            let path = pick_field(tree, rng, &is_any)?;
            let name = path_name(tree, &path);
            let parent = parent_mut(tree, &path);
            let f = &mut parent[*path.last()?];
            let new = if rng.chance(1, 2) {
                1 + rng.below(26) as u64
            } else {
                (f.num + 1 + rng.below(3) as u64).saturating_sub(2).max(1)
            };
            f.num = new;
            Some(format!("tree: renumber field {name} -> {new}"))
        }
        6 => {
            let path = pick_field(tree, rng, &is_any)?;
            let name = path_name(tree, &path);
            let parent = parent_mut(tree, &path);
            let i = *path.last()?;
            let j = rng.below(parent.len());
            parent.swap(i, j);
            Some(format!("tree: swap field {name} with sibling index {j}"))
        }
        7 => {
            let path = pick_field(tree, rng, &is_fixed)?;
            let name = path_name(tree, &path);
            let parent = parent_mut(tree, &path);
            let f = &mut parent[*path.last()?];
            let bits = rng.next();
            match &mut f.val {
                Val::I32(v) => {
                    *v = *rng.pick(&[0x7fc0_0001, 0x7f80_0000, 0xff80_0000, 0, bits as u32]);
                }
                Val::I64(v) => *v = *rng.pick(&[0x7ff8_0000_0000_0001, 0, u64::MAX, bits]),
                _ => return None,
            }
            Some(format!("tree: fixed {name} := random/special"))
        }
        _ => {
            // Wrap: a message field becomes a field inside a copy of its own parent message,
            // nesting the structure one level deeper (deep subgraphs, deep types).
            let is_msg = |f: &Field| matches!(f.val, Val::Msg(_));
            let path = pick_field(tree, rng, &is_msg)?;
            let name = path_name(tree, &path);
            let parent = parent_mut(tree, &path);
            let i = *path.last()?;
            let inner = parent[i].clone();
            if let Val::Msg(m) = &mut parent[i].val {
                let times = 1 + rng.below(8);
                for _ in 0..times {
                    let copy = Field { num: inner.num, val: Val::Msg(std::mem::take(m)) };
                    m.push(copy);
                }
                Some(format!("tree: nest field {name} into itself {times}x"))
            } else {
                None
            }
        }
    }
}

/// One byte-level mutation of `b`; returns its description.
fn mutate_bytes(b: &mut Vec<u8>, rng: &mut Rng, pool: &[&Input]) -> String {
    let len = b.len();
    match rng.below(8) {
        0 if len > 0 => {
            let n = 1 + rng.below(8);
            for _ in 0..n {
                let i = rng.below(len);
                b[i] ^= 1 << rng.below(8);
            }
            format!("bytes: flip {n} bits")
        }
        1 if len > 0 => {
            let n = rng.small_len(16);
            let at = rng.below(len);
            for x in &mut b[at..(at + n).min(len)] {
                *x = rng.next() as u8;
            }
            format!("bytes: overwrite {n} at {at} with random")
        }
        2 if len > 0 => {
            let n = 1 + rng.below(4);
            let at = rng.below(len);
            let v = *rng.pick(&INTERESTING_BYTES);
            for x in &mut b[at..(at + n).min(len)] {
                *x = v;
            }
            format!("bytes: set {n} at {at} to {v:#04x}")
        }
        3 => {
            let at = rng.below(len + 1);
            b.truncate(at);
            format!("bytes: truncate at {at} of {len}")
        }
        4 if len > 0 => {
            let at = rng.below(len);
            let n = rng.small_len(len - at);
            let to = rng.below(len + 1);
            let chunk = b[at..at + n].to_vec();
            b.splice(to..to, chunk);
            format!("bytes: duplicate {at}..+{n} to {to}")
        }
        5 if len > 0 => {
            let at = rng.below(len);
            let n = rng.small_len(len - at);
            b.drain(at..at + n);
            format!("bytes: delete {at}..+{n}")
        }
        6 => {
            let donor = pool[rng.below(pool.len())];
            let d = &donor.bytes;
            if d.is_empty() {
                return "bytes: splice from an empty model (no-op)".into();
            }
            let from = rng.below(d.len());
            let n = rng.small_len(d.len() - from);
            let to = rng.below(len + 1);
            if rng.chance(1, 2) {
                b.splice(to..to, d[from..from + n].iter().copied());
                format!("bytes: insert {}[{from}..+{n}] at {to}", donor.name)
            } else {
                let end = (to + n).min(len);
                b.splice(to..end, d[from..from + n].iter().copied());
                format!("bytes: overwrite at {to} with {}[{from}..+{n}]", donor.name)
            }
        }
        _ => {
            const BIG: [u64; 8] = [
                0xffff_ffff,
                0x7fff_ffff,
                0x8000_0000,
                1 << 40,
                1 << 62,
                u64::MAX,
                i64::MAX as u64,
                0x1_0000_0000,
            ];
            let v = if rng.chance(3, 4) { *rng.pick(&BIG) } else { rng.next() >> rng.below(64) };
            let mut ins = Vec::new();
            let tagged = rng.chance(1, 2);
            if tagged {
                // A length-delimited key first, so the varint is read as a length.
                put_varint(&mut ins, ((1 + rng.below(26) as u64) << 3) | 2);
            }
            put_varint(&mut ins, v);
            let to = rng.below(len + 1);
            b.splice(to..to, ins);
            format!("bytes: insert {}varint {v:#x} at {to}", if tagged { "key + " } else { "" })
        }
    }
}

struct Case {
    input: usize,
    bytes: Vec<u8>,
    desc: Vec<String>,
    /// Also write to a file and go through `load` (and sometimes `save`).
    file: bool,
    save: bool,
}

fn make_case(seed: u64, testdata: &[Input], corpus: &[Input], pool: &[&Input]) -> Case {
    let mut rng = Rng(seed);
    // Half the cases start from the project's own models (which cover the features), half from
    // the corpus selection when there is one.
    let input = if corpus.is_empty() || rng.chance(1, 2) {
        rng.below(testdata.len())
    } else {
        testdata.len() + rng.below(corpus.len())
    };
    let src = pool[input];
    let (n_tree, n_bytes) = match rng.below(10) {
        0..=3 => (1 + rng.below(3), 0),
        4..=6 => (0, 1 + rng.below(3)),
        _ => (1 + rng.below(2), 1 + rng.below(2)),
    };
    let mut desc = Vec::new();
    let mut bytes = match (&src.tree, n_tree) {
        (Some(t), n) if n > 0 => {
            let mut t = t.clone();
            for _ in 0..n {
                // A mutation that finds nothing to act on is retried a few times.
                for _ in 0..4 {
                    if let Some(d) = mutate_tree(&mut t, &mut rng, pool) {
                        desc.push(d);
                        break;
                    }
                }
            }
            let mut out = Vec::with_capacity(src.bytes.len() + 64);
            encode(&t, &mut out);
            out
        }
        _ => src.bytes.to_vec(),
    };
    for _ in 0..n_bytes.max(usize::from(desc.is_empty())) {
        desc.push(mutate_bytes(&mut bytes, &mut rng, pool));
    }
    let file = rng.chance(1, 8);
    let save = file && rng.chance(1, 4);
    Case { input, bytes, desc, file, save }
}

// ------------------------------------------------------------------------------------------------
// Running cases

#[derive(Default)]
struct Stats {
    cases: u64,
    bytes_ok: u64,
    bytes_err: u64,
    file_cases: u64,
    file_ok: u64,
    file_err: u64,
    saves: u64,
    save_err: u64,
    kinds: HashMap<String, u64>,
    max_growth: (usize, u64),
    failures: Vec<String>,
    /// Round-trip findings grouped by what differs: (count, first example).
    roundtrip: BTreeMap<String, (u64, String)>,
    roundtrip_count: u64,
    panic_sites: BTreeMap<String, u64>,
}

/// A short, stable description of an error: the message with the location, names and numbers
/// taken out, cut to about 40 characters.
fn error_kind(e: &ferry_onnx::Error) -> String {
    let s = e.to_string();
    // Names in quotes and numbers vary from case to case.
    let mut norm = String::with_capacity(s.len());
    let mut in_quote = false;
    let mut last_digit = false;
    for c in s.chars() {
        if c == '\'' {
            in_quote = !in_quote;
            if in_quote {
                norm.push_str("'…'");
            }
            last_digit = false;
            continue;
        }
        if in_quote {
            continue;
        }
        if c.is_ascii_digit() {
            if !last_digit {
                norm.push('#');
            }
            last_digit = true;
            continue;
        }
        last_digit = false;
        norm.push(c);
    }
    const DECODE: &str = " is not a valid ONNX protobuf: ";
    let body = if let Some(i) = norm.find(DECODE) {
        let rest = &norm[i + DECODE.len()..];
        // prost: "failed to decode Protobuf message: Msg.field: Msg.field: reason"
        let mut r = rest.strip_prefix("failed to decode Protobuf message: ").unwrap_or(rest);
        while let Some((head, tail)) = r.split_once(": ") {
            // Message/field entries ("GraphProto.node") and an elided run ("... (# more)").
            if (head.contains('.') && !head.contains(' ')) || head.starts_with("...") {
                r = tail;
            } else {
                break;
            }
        }
        format!("decode: {r}")
    } else if let Some((_, rest)) = norm.split_once(": ") {
        rest.to_string()
    } else {
        norm
    };
    let body = match body.find("cycle through") {
        Some(i) => body[..i + "cycle through".len()].to_string(),
        None => body,
    };
    body.chars().take(44).collect()
}

/// Compares the decoded input with the export. `None` when they encode identically.
fn lossless_problem(input: &Bytes, model: &ferry_ir::Model) -> Option<String> {
    let original = proto::ModelProto::decode(input.clone()).ok()?;
    let exported = ferry_onnx::to_proto(model);
    let (a, b) = (original.encode_to_vec(), exported.encode_to_vec());
    if a == b {
        return None;
    }
    Some(first_difference(&original, &exported))
}

fn first_difference(a: &proto::ModelProto, b: &proto::ModelProto) -> String {
    let (da, db) = (format!("{a:#?}"), format!("{b:#?}"));
    let lines: Vec<&str> = da.lines().collect();
    for (i, (la, lb)) in lines.iter().zip(db.lines()).enumerate() {
        if *la != lb {
            return format!(
                "at {}: input `{}` vs export `{}`",
                dump_path(&lines, i),
                la.trim(),
                lb.trim()
            );
        }
    }
    format!("debug dumps differ in length ({} vs {} lines)", da.lines().count(), db.lines().count())
}

/// The field names enclosing line `i` of a `{:#?}` dump, e.g. `graph.output.type.value`.
fn dump_path(lines: &[&str], i: usize) -> String {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut level = indent(lines[i]);
    let mut parts = Vec::new();
    for l in lines[..i].iter().rev() {
        if indent(l) < level {
            level = indent(l);
            if let Some((field, _)) = l.trim().split_once(": ") {
                parts.push(field.to_string());
            }
        }
    }
    parts.reverse();
    parts.join(".")
}

struct Runner {
    dir: tempfile::TempDir,
    failures_dir: PathBuf,
    stats: Stats,
    verbose: bool,
}

impl Runner {
    fn new(verbose: bool) -> Runner {
        let dir = tempfile::Builder::new().prefix("ferry-mutation.").tempdir().unwrap();
        // External data the mutants may point at (testdata's own files, plus a small w.bin).
        let ext = repo_root().join("testdata/onnx/external");
        for e in std::fs::read_dir(&ext).unwrap().flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "bin") {
                std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
            }
        }
        std::fs::write(dir.path().join("w.bin"), [0u8; 64]).unwrap();
        let failures_dir = std::env::temp_dir().join("ferry-mutation-failures");
        Runner { dir, failures_dir, stats: Stats::default(), verbose }
    }

    fn fail(
        &mut self,
        seed: u64,
        input: &str,
        desc: &[String],
        bytes: &[u8],
        what: &str,
        p: PanicInfo,
    ) {
        let _ = std::fs::create_dir_all(&self.failures_dir);
        let saved = self.failures_dir.join(format!("{seed}.onnx"));
        let saved = match std::fs::write(&saved, bytes) {
            Ok(()) => saved.display().to_string(),
            Err(e) => format!("<not saved: {e}>"),
        };
        let site = format!("{} ({})", p.location, p.message);
        let first = !self.stats.panic_sites.contains_key(&site);
        *self.stats.panic_sites.entry(site).or_default() += 1;
        let mut msg = format!(
            "PANIC in {what}: case seed {seed}, input {input}, mutations [{}]: '{}' at {}; mutant \
             saved to {saved}",
            desc.join("; "),
            p.message,
            p.location
        );
        if first || self.verbose {
            msg.push_str(&format!("\n  backtrace:\n{}", p.backtrace));
        }
        eprintln!("{msg}");
        self.stats.failures.push(msg);
    }

    fn roundtrip_finding(&mut self, seed: u64, input: &str, desc: &[String], what: String) {
        self.stats.roundtrip_count += 1;
        if self.verbose {
            println!("  round trip: {what}");
        }
        // Group by the difference with line numbers and string contents taken out.
        let mut key = String::new();
        let mut last_digit = false;
        for c in what.chars() {
            let digit = c.is_ascii_digit();
            if !(digit && last_digit) {
                key.push(if digit { '#' } else { c });
            }
            last_digit = digit;
        }
        let key = match key.split_once("Some(") {
            Some((a, _)) => format!("{a}Some(…"),
            None => key.chars().take(120).collect(),
        };
        let example =
            || format!("case seed {seed}, input {input}, mutations [{}]: {what}", desc.join("; "));
        self.stats.roundtrip.entry(key).or_insert_with(|| (0, example())).0 += 1;
    }

    fn run(&mut self, seed: u64, case: &Case, input_name: &str) {
        let Case { bytes, desc, .. } = case;
        let data = Bytes::from(bytes.clone());
        let base = alloc_count::start();
        alloc_count::guard(Some(seed));
        self.stats.cases += 1;

        // From memory.
        match capture(|| ferry_onnx::load_bytes(data.clone(), None, &LoadOptions::default())) {
            Err(p) => self.fail(seed, input_name, desc, bytes, "load_bytes", p),
            Ok(Err(e)) => {
                self.stats.bytes_err += 1;
                *self.stats.kinds.entry(error_kind(&e)).or_default() += 1;
                if self.verbose {
                    println!("  load_bytes: Err({e})");
                }
            }
            Ok(Ok(loaded)) => {
                self.stats.bytes_ok += 1;
                if self.verbose {
                    println!("  load_bytes: Ok ({} warnings)", loaded.warnings.len());
                }
                let r = capture(|| {
                    let proto = ferry_onnx::to_proto(&loaded.model);
                    let out = ferry_onnx::to_bytes(&loaded.model);
                    let mut problems = Vec::new();
                    if let Ok(out) = &out {
                        if proto.encode_to_vec() != *out {
                            problems.push("to_bytes differs from to_proto's encoding".to_string());
                        }
                        if let Some(d) = lossless_problem(&data, &loaded.model) {
                            problems.push(format!("not lossless: {d}"));
                        }
                        // The export must load again and export to the same bytes.
                        let again = Bytes::from(out.clone());
                        match ferry_onnx::load_bytes(again, None, &LoadOptions::default()) {
                            Ok(l2) => match ferry_onnx::to_bytes(&l2.model) {
                                Ok(out2) if out2 == *out => {}
                                Ok(_) => problems.push("export of the export differs".into()),
                                Err(e) => problems.push(format!("re-export failed: {e}")),
                            },
                            Err(e) => problems.push(format!("export does not re-load: {e}")),
                        }
                    }
                    problems
                });
                match r {
                    Err(p) => self.fail(seed, input_name, desc, bytes, "to_bytes/to_proto", p),
                    Ok(problems) => {
                        for d in problems {
                            self.roundtrip_finding(seed, input_name, desc, d);
                        }
                    }
                }
            }
        }

        // From a file: memory map, external data beside it, and sometimes save.
        if case.file {
            self.stats.file_cases += 1;
            let path = self.dir.path().join("model.onnx");
            // Unlink first: a map of the previous file must never see it truncated.
            let _ = std::fs::remove_file(&path);
            std::fs::write(&path, bytes).unwrap();
            match capture(|| ferry_onnx::load_with(&path, &LoadOptions::default())) {
                Err(p) => self.fail(seed, input_name, desc, bytes, "load (file)", p),
                Ok(Err(e)) => {
                    self.stats.file_err += 1;
                    *self.stats.kinds.entry(format!("(file) {}", error_kind(&e))).or_default() += 1;
                    if self.verbose {
                        println!("  load (file): Err({e})");
                    }
                }
                Ok(Ok(loaded)) => {
                    self.stats.file_ok += 1;
                    if self.verbose {
                        println!("  load (file): Ok ({} warnings)", loaded.warnings.len());
                    }
                    let out_dir = self.dir.path().join("out");
                    let r = capture(|| {
                        let _ = ferry_onnx::to_bytes(&loaded.model);
                        if !case.save {
                            return None;
                        }
                        let _ = std::fs::remove_dir_all(&out_dir);
                        std::fs::create_dir_all(&out_dir).unwrap();
                        let target = out_dir.join("model.onnx");
                        Some(ferry_onnx::save(&ferry_check::validate(&loaded.model), &target).map(
                            |_| {
                                // What was saved must load again.
                                ferry_onnx::load(&target).map(|m| ferry_onnx::to_bytes(&m))
                            },
                        ))
                    });
                    match r {
                        Err(p) => self.fail(seed, input_name, desc, bytes, "to_bytes/save", p),
                        Ok(None) => {}
                        Ok(Some(saved)) => {
                            self.stats.saves += 1;
                            match saved {
                                Err(e) => {
                                    self.stats.save_err += 1;
                                    *self
                                        .stats
                                        .kinds
                                        .entry(format!("(save) {}", error_kind(&e)))
                                        .or_default() += 1;
                                }
                                Ok(Err(e)) => self.roundtrip_finding(
                                    seed,
                                    input_name,
                                    desc,
                                    format!("saved model does not load again: {e}"),
                                ),
                                Ok(Ok(_)) => {}
                            }
                        }
                    }
                }
            }
        }
        alloc_count::guard(None);
        let growth = alloc_count::growth(base);
        if growth > self.stats.max_growth.0 {
            self.stats.max_growth = (growth, seed);
        }
        if growth > alloc_count::LIMIT {
            let msg = format!(
                "MEMORY: case seed {seed}, input {input_name}, mutations [{}]: the heap grew by \
                 {growth} bytes (limit 1 GiB)",
                desc.join("; ")
            );
            eprintln!("{msg}");
            self.stats.failures.push(msg);
        }
    }
}

fn env_num(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    }
}

/// Aborts the process, naming the case, when one case runs for longer than `limit`.
struct Watchdog {
    started_ms: Arc<AtomicU64>,
    current: Arc<Mutex<String>>,
    done: Arc<AtomicBool>,
    epoch: Instant,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    fn new(limit: Duration) -> Watchdog {
        let started_ms = Arc::new(AtomicU64::new(0));
        let current = Arc::new(Mutex::new(String::new()));
        let done = Arc::new(AtomicBool::new(false));
        let epoch = Instant::now();
        let (s, c, d) = (started_ms.clone(), current.clone(), done.clone());
        let thread = std::thread::spawn(move || {
            while !d.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                let start = s.load(Ordering::Relaxed);
                if start == 0 {
                    continue;
                }
                let now = epoch.elapsed().as_millis() as u64 + 1;
                if now.saturating_sub(start) > limit.as_millis() as u64 {
                    use std::io::Write;
                    let what = c.lock().map(|g| g.clone()).unwrap_or_default();
                    let _ = writeln!(
                        std::io::stderr(),
                        "\nHANG: one case has run for more than {limit:?}: {what}\n\
                         (replay with FERRY_MUTATION_REPLAY=<case seed>)"
                    );
                    std::process::abort();
                }
            }
        });
        Watchdog { started_ms, current, done, epoch, thread: Some(thread) }
    }

    fn begin(&self, what: String) {
        *self.current.lock().unwrap() = what;
        self.started_ms.store(self.epoch.elapsed().as_millis() as u64 + 1, Ordering::Relaxed);
    }

    fn end(&self) {
        self.started_ms.store(0, Ordering::Relaxed);
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn mutants_never_panic() {
    let (testdata, corpus) = load_inputs();
    assert!(testdata.len() >= 10, "testdata/onnx has only {} models", testdata.len());
    let pool: Vec<&Input> = testdata.iter().chain(&corpus).collect();
    let max_cases = env_num("FERRY_MUTATION_CASES").unwrap_or(20_000);
    let budget = Duration::from_secs(env_num("FERRY_MUTATION_SECS").unwrap_or(30));
    let hang = Duration::from_secs(env_num("FERRY_MUTATION_HANG_SECS").unwrap_or(20));
    let base_seed = env_num("FERRY_MUTATION_SEED").unwrap_or(0xF0E2_2026_0001);
    let strict = std::env::var_os("FERRY_MUTATION_STRICT").is_some_and(|v| v != "0");
    let replay: Vec<u64> = std::env::var("FERRY_MUTATION_REPLAY")
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_default();
    println!(
        "mutation: {} inputs ({} testdata, {} corpus{}), base seed {base_seed:#x}",
        pool.len(),
        testdata.len(),
        corpus.len(),
        if std::env::var_os("FERRY_CORPUS").is_some() { "" } else { "; FERRY_CORPUS not set" }
    );

    let mut runner = Runner::new(!replay.is_empty());
    let watchdog = Watchdog::new(hang);
    let start = Instant::now();
    let mut seeds = Rng(base_seed);
    let mut i = 0u64;
    loop {
        let seed = if replay.is_empty() {
            let elapsed = start.elapsed();
            let enough = i >= max_cases || (elapsed >= budget && i >= 2000.min(max_cases));
            if enough || elapsed >= budget * 5 {
                break;
            }
            seeds.next()
        } else {
            match replay.get(i as usize) {
                Some(&s) => s,
                None => break,
            }
        };
        i += 1;
        let case = make_case(seed, &testdata, &corpus, &pool);
        let name = pool[case.input].name.clone();
        if !replay.is_empty() {
            let out = runner.dir.path().parent().unwrap().join(format!("ferry-mutant-{seed}.onnx"));
            std::fs::write(&out, &case.bytes).unwrap();
            println!(
                "case seed {seed}: input {name}, {} bytes -> {}, file={} save={}\n  mutations: {}",
                pool[case.input].bytes.len(),
                out.display(),
                case.file,
                case.save,
                case.desc.join("\n             ")
            );
        }
        watchdog
            .begin(format!("case seed {seed}, input {name}, mutations [{}]", case.desc.join("; ")));
        runner.run(seed, &case, &name);
        watchdog.end();
    }
    drop(watchdog);
    let elapsed = start.elapsed();
    let s = &runner.stats;

    println!(
        "mutation: {} mutants in {:.1} s ({:.0}/s); load_bytes: {} loaded, {} errored; \
         from a file: {} cases, {} loaded, {} errored; saves: {} ({} errored)",
        s.cases,
        elapsed.as_secs_f64(),
        s.cases as f64 / elapsed.as_secs_f64().max(1e-9),
        s.bytes_ok,
        s.bytes_err,
        s.file_cases,
        s.file_ok,
        s.file_err,
        s.saves,
        s.save_err
    );
    println!(
        "mutation: largest heap growth in one case: {:.1} MiB (case seed {})",
        s.max_growth.0 as f64 / (1 << 20) as f64,
        s.max_growth.1
    );
    let mut kinds: Vec<(&String, &u64)> = s.kinds.iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    println!("mutation: {} distinct error kinds; the most frequent:", kinds.len());
    for (k, n) in kinds.iter().take(40) {
        println!("  {n:>7}  {k}");
    }
    if s.roundtrip_count > 0 {
        println!(
            "mutation: {} round-trip findings (loaded mutants whose export is not lossless or \
             not stable){}:",
            s.roundtrip_count,
            if strict { "" } else { " [not failing; FERRY_MUTATION_STRICT=1 fails on them]" }
        );
        for (key, (n, example)) in &s.roundtrip {
            println!("  {n:>6}x {key}\n          e.g. {example}");
        }
    }
    if !s.panic_sites.is_empty() {
        println!("mutation: panic sites:");
        for (site, n) in &s.panic_sites {
            println!("  {n:>6}x {site}");
        }
    }
    assert!(
        s.failures.is_empty(),
        "{} failing mutants (saved under {}):\n{}",
        s.failures.len(),
        runner.failures_dir.display(),
        s.failures.iter().take(50).cloned().collect::<Vec<_>>().join("\n")
    );
    assert!(
        !strict || s.roundtrip_count == 0,
        "{} round-trip findings:\n{}",
        s.roundtrip_count,
        s.roundtrip.values().map(|(_, e)| e.as_str()).collect::<Vec<_>>().join("\n")
    );
    if replay.is_empty() {
        assert!(s.bytes_ok > 0 && s.bytes_err > 0, "the mutants should both load and fail");
    }
}

// ------------------------------------------------------------------------------------------------
// Crafted cases: sizes taken from the file must not turn into allocations.

/// Growth limit for the crafted cases that are small files.
const SMALL: usize = 64 << 20;

fn vi(name: &str, dims: &[i64]) -> proto::ValueInfoProto {
    use proto::tensor_shape_proto::{Dimension, dimension::Value as D};
    proto::ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(proto::TypeProto {
            value: Some(proto::type_proto::Value::TensorType(proto::type_proto::Tensor {
                elem_type: Some(1),
                shape: Some(proto::TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|&d| Dimension { value: Some(D::DimValue(d)), denotation: None })
                        .collect(),
                }),
            })),
            denotation: None,
        }),
        ..Default::default()
    }
}

fn model_with(graph: proto::GraphProto) -> proto::ModelProto {
    proto::ModelProto {
        ir_version: Some(10),
        opset_import: vec![proto::OperatorSetIdProto { domain: None, version: Some(21) }],
        graph: Some(graph),
        ..Default::default()
    }
}

/// Loads from memory and, when `dir` is given, from `dir/model.onnx`; checks no panic and bounded
/// growth; returns the results' `Ok`-ness (memory, file).
fn load_measured(
    what: &str,
    bytes: &[u8],
    dir: Option<&Path>,
    limit: usize,
) -> (Result<(), String>, Option<Result<(), String>>) {
    let base = alloc_count::start();
    let r = capture(|| {
        let r =
            ferry_onnx::load_bytes(Bytes::copy_from_slice(bytes), None, &LoadOptions::default());
        r.map(|l| {
            let out = ferry_onnx::to_bytes(&l.model).expect("to_bytes");
            let _ = ferry_onnx::to_proto(&l.model);
            if let Some(d) = lossless_problem(&Bytes::copy_from_slice(bytes), &l.model) {
                println!("{what}: round trip not lossless: {d}");
            }
            out.len()
        })
        .map_err(|e| e.to_string())
    });
    let mem = match r {
        Ok(r) => r.map(|_| ()),
        Err(p) => panic!("{what}: load_bytes panicked: {} at {}", p.message, p.location),
    };
    let file = dir.map(|d| {
        let path = d.join("model.onnx");
        let _ = std::fs::remove_file(&path);
        std::fs::write(&path, bytes).unwrap();
        match capture(|| ferry_onnx::load(&path).map(|m| ferry_onnx::to_bytes(&m).map(|_| ()))) {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) | Ok(Err(e)) => Err(e.to_string()),
            Err(p) => panic!("{what}: load panicked: {} at {}", p.message, p.location),
        }
    });
    let growth = alloc_count::growth(base);
    println!("{what}: memory {mem:?}, file {file:?}, heap growth {} KiB", growth >> 10);
    assert!(growth <= limit, "{what}: the heap grew by {growth} bytes");
    (mem, file)
}

#[test]
fn huge_dims_do_not_allocate() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("w.bin"), [0u8; 16]).unwrap();
    let t = |name: &str, dims: &[i64]| proto::TensorProto {
        name: Some(name.into()),
        data_type: Some(1),
        dims: dims.to_vec(),
        raw_data: Some(Bytes::from_static(&[0, 0, 128, 63])),
        ..Default::default()
    };
    let e40 = 1i64 << 40;
    let ext = |name: &str, dims: &[i64], entries: &[(&str, &str)]| proto::TensorProto {
        name: Some(name.into()),
        data_type: Some(1),
        dims: dims.to_vec(),
        data_location: Some(1),
        external_data: entries
            .iter()
            .map(|(k, v)| proto::StringStringEntryProto {
                key: Some(k.to_string()),
                value: Some(v.to_string()),
            })
            .collect(),
        ..Default::default()
    };
    let dense = |tensors: Vec<proto::TensorProto>| {
        let outputs = tensors.iter().map(|t| vi(t.name.as_deref().unwrap(), &t.dims)).collect();
        model_with(proto::GraphProto {
            name: Some("g".into()),
            initializer: tensors,
            output: outputs,
            ..Default::default()
        })
        .encode_to_vec()
    };
    // Raw data of 4 bytes, dims claiming 2^80 elements: kept verbatim, nothing sized from dims.
    let m = dense(vec![t("big", &[e40, e40])]);
    // Either kept verbatim or refused (the element count overflows); never sized from dims.
    let _ = load_measured("dims [2^40, 2^40]", &m, Some(dir.path()), SMALL);
    let m = dense(vec![
        t("max", &[i64::MAX, i64::MAX, 2]),
        t("min", &[i64::MIN]),
        t("neg", &[-1, 0, -7]),
    ]);
    let _ = load_measured("dims i64::MAX/MIN/negative", &m, Some(dir.path()), SMALL);

    // The same tensor as a Constant attribute and inside a sparse initializer.
    let attr = proto::AttributeProto {
        name: Some("value".into()),
        r#type: Some(4),
        t: Some(t("c", &[e40, e40])),
        ..Default::default()
    };
    let node = proto::NodeProto {
        output: vec!["c".into()],
        op_type: Some("Constant".into()),
        attribute: vec![attr],
        ..Default::default()
    };
    let sparse = proto::SparseTensorProto {
        values: Some(t("s", &[e40])),
        indices: Some(proto::TensorProto {
            name: Some("s_idx".into()),
            data_type: Some(7),
            dims: vec![e40, 2],
            int64_data: vec![0, 0],
            ..Default::default()
        }),
        dims: vec![e40, e40],
    };
    let m = model_with(proto::GraphProto {
        node: vec![node],
        sparse_initializer: vec![sparse],
        output: vec![vi("c", &[e40, e40]), vi("s", &[e40, e40])],
        ..Default::default()
    })
    .encode_to_vec();
    let _ = load_measured("Constant + sparse with huge dims", &m, Some(dir.path()), SMALL);

    // External data: lengths and offsets past the 16-byte file, or overflowing, are refused.
    for (what, entries, ok) in [
        ("external, the whole file", vec![("location", "w.bin")], true),
        ("external, length 2^40", vec![("location", "w.bin"), ("length", "1099511627776")], false),
        (
            "external, length 2^64-1",
            vec![("location", "w.bin"), ("length", "18446744073709551615")],
            false,
        ),
        (
            "external, offset 2^64-1 + length 2",
            vec![("location", "w.bin"), ("offset", "18446744073709551615"), ("length", "2")],
            false,
        ),
        (
            "external, offset 2^63",
            vec![("location", "w.bin"), ("offset", "9223372036854775808")],
            false,
        ),
        (
            "external, length 2^64",
            vec![("location", "w.bin"), ("length", "18446744073709551616")],
            false,
        ),
    ] {
        let m = dense(vec![ext("e", &[4], &entries)]);
        let (mem, file) = load_measured(what, &m, Some(dir.path()), SMALL);
        assert!(mem.is_err(), "{what}: external data from memory must be refused");
        assert_eq!(file.as_ref().unwrap().is_ok(), ok, "{what}: {file:?}");
    }
}

#[test]
fn huge_lengths_do_not_allocate() {
    let dir = tempfile::tempdir().unwrap();
    let v = |x: u64| {
        let mut b = Vec::new();
        put_varint(&mut b, x);
        b
    };
    let key = |num: u64, wire: u64| v((num << 3) | wire);
    let cat = |parts: &[&[u8]]| parts.concat();
    // `field` of wire type 2 holding `inner` with a correct length.
    let wrap = |num: u64, inner: &[u8]| cat(&[&key(num, 2), &v(inner.len() as u64), inner]);
    let claim = |num: u64, len: u64, tail: &[u8]| cat(&[&key(num, 2), &v(len), tail]);
    let e62 = 1u64 << 62;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("ModelProto.graph claims 2^62 bytes", claim(7, e62, b"abc")),
        ("ModelProto.producer_name claims 2^62 bytes", claim(2, e62, b"abc")),
        ("ModelProto.graph claims u64::MAX bytes", claim(7, u64::MAX, b"")),
        ("ModelProto.graph claims 0xFFFFFFFF bytes", claim(7, 0xffff_ffff, b"\x0a\x00")),
        ("GraphProto.node claims 2^62 bytes", wrap(7, &claim(1, e62, b"x"))),
        (
            "TensorProto.raw_data claims 2^62 bytes",
            wrap(7, &wrap(5, &cat(&[&key(2, 0), &v(1), &claim(9, e62, &[0; 8])]))),
        ),
        ("TensorProto.dims (packed) claims 2^62 bytes", wrap(7, &wrap(5, &claim(1, e62, &[1; 8])))),
        (
            "TensorProto.float_data (packed) claims 0xFFFFFFF0 bytes",
            wrap(7, &wrap(5, &claim(4, 0xffff_fff0, &[0; 8]))),
        ),
        (
            "TensorProto.string_data element claims 2^62 bytes",
            wrap(7, &wrap(5, &claim(6, e62, b"s"))),
        ),
        ("AttributeProto.g claims 2^62 bytes", wrap(7, &wrap(1, &wrap(5, &claim(6, e62, b""))))),
        ("an 11-byte varint length", cat(&[&key(7, 2), &[0xff; 10], &[0x01]])),
        ("a 10-byte varint length with high bits", cat(&[&key(7, 2), &[0xff; 9], &[0x7f]])),
    ];
    for (what, bytes) in cases {
        let (mem, file) = load_measured(what, &bytes, Some(dir.path()), SMALL);
        assert!(mem.is_err(), "{what}: expected a decode error");
        assert!(file.unwrap().is_err(), "{what}: expected a decode error");
    }
}

#[test]
fn a_million_empty_nodes_load_in_reasonable_time() {
    let n = 1_000_000;
    let m = model_with(proto::GraphProto {
        node: vec![proto::NodeProto::default(); n],
        ..Default::default()
    })
    .encode_to_vec();
    let base = alloc_count::start();
    let t0 = Instant::now();
    let loaded = ferry_onnx::load_bytes(Bytes::from(m), None, &LoadOptions::default()).unwrap();
    let load_time = t0.elapsed();
    assert_eq!(loaded.model.graph.as_ref().unwrap().node_count(), n);
    let t1 = Instant::now();
    let out = ferry_onnx::to_bytes(&loaded.model).unwrap();
    let export_time = t1.elapsed();
    let growth = alloc_count::growth(base);
    println!(
        "10^6 empty nodes: load {load_time:?}, export {export_time:?} ({} bytes), heap growth {} MiB",
        out.len(),
        growth >> 20
    );
    // Generous: about a second in release on the 2-core machine; minutes would mean a quadratic.
    assert!(load_time < Duration::from_secs(30), "loading took {load_time:?}");
    assert!(export_time < Duration::from_secs(30), "exporting took {export_time:?}");
    assert!(growth < 4 << 30, "the heap grew by {growth} bytes");
}

/// A subgraph reading many distinct names of its enclosing graph: each becomes a capture in the
/// subgraph and an implicit input of the node. Loading must stay roughly linear in the count
/// (it once was quadratic: 40k captures took 10 s). Judged by how time grows from 10k to 40k
/// captures, not by absolute time: linear work grows about 4x, quadratic 16x.
#[test]
fn many_captures_load_in_reasonable_time() {
    let model = |k: usize| {
        let names: Vec<String> = (0..k).map(|i| format!("v{i}")).collect();
        let body = proto::GraphProto {
            name: Some("then".into()),
            node: vec![proto::NodeProto {
                input: names.clone(),
                output: vec!["y".into()],
                op_type: Some("Sum".into()),
                ..Default::default()
            }],
            output: vec![vi("y", &[1])],
            ..Default::default()
        };
        let node = proto::NodeProto {
            input: vec!["cond".into()],
            output: vec!["out".into()],
            op_type: Some("If".into()),
            attribute: vec![
                proto::AttributeProto {
                    name: Some("then_branch".into()),
                    r#type: Some(5),
                    g: Some(body.clone()),
                    ..Default::default()
                },
                proto::AttributeProto {
                    name: Some("else_branch".into()),
                    r#type: Some(5),
                    g: Some(body),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let mut input: Vec<_> = names.iter().map(|n| vi(n, &[1])).collect();
        input.push(vi("cond", &[]));
        model_with(proto::GraphProto {
            name: Some("g".into()),
            node: vec![node],
            input,
            output: vec![vi("out", &[1])],
            ..Default::default()
        })
        .encode_to_vec()
    };
    let mut times = Vec::new();
    for k in [10_000, 20_000, 40_000] {
        let m = model(k);
        let t0 = Instant::now();
        let loaded = ferry_onnx::load_bytes(Bytes::from(m.clone()), None, &LoadOptions::default());
        let t = t0.elapsed();
        let loaded = loaded.unwrap();
        let g = loaded.model.graph.as_ref().unwrap();
        let (id, _) = g.nodes().next().unwrap();
        assert_eq!(g.node(id).implicit_inputs().len(), k);
        println!("{k} captures ({} KiB file): load {t:?}", m.len() >> 10);
        times.push(t);
    }
    let (small, large) = (times[0].as_secs_f64(), times[2].as_secs_f64());
    assert!(large < 10.0 * small + 0.5, "10k captures took {small:.3} s but 40k took {large:.3} s");
}
