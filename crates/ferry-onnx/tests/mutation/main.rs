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

mod alloc;
mod crafted;
mod inputs;
mod mutate;
mod panics;
mod rng;
mod run;
mod wire;

#[allow(unused_imports)]
use alloc::*;
#[allow(unused_imports)]
use crafted::*;
#[allow(unused_imports)]
use inputs::*;
#[allow(unused_imports)]
use mutate::*;
#[allow(unused_imports)]
use panics::*;
#[allow(unused_imports)]
use rng::*;
#[allow(unused_imports)]
use run::*;
#[allow(unused_imports)]
use wire::*;
