use super::*;

// ------------------------------------------------------------------------------------------------
// Running cases

#[derive(Default)]
pub(crate) struct Stats {
    pub(crate) cases: u64,
    pub(crate) bytes_ok: u64,
    pub(crate) bytes_err: u64,
    pub(crate) file_cases: u64,
    pub(crate) file_ok: u64,
    pub(crate) file_err: u64,
    pub(crate) saves: u64,
    pub(crate) save_err: u64,
    pub(crate) kinds: HashMap<String, u64>,
    pub(crate) max_growth: (usize, u64),
    pub(crate) failures: Vec<String>,
    /// Round-trip findings grouped by what differs: (count, first example).
    pub(crate) roundtrip: BTreeMap<String, (u64, String)>,
    pub(crate) roundtrip_count: u64,
    pub(crate) panic_sites: BTreeMap<String, u64>,
}

/// A short, stable description of an error: the message with the location, names and numbers
/// taken out, cut to about 40 characters.
pub(crate) fn error_kind(e: &ferry_onnx::Error) -> String {
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
pub(crate) fn lossless_problem(input: &Bytes, model: &ferry_ir::Model) -> Option<String> {
    let original = proto::ModelProto::decode(input.clone()).ok()?;
    let exported = ferry_onnx::to_proto(model);
    let (a, b) = (original.encode_to_vec(), exported.encode_to_vec());
    if a == b {
        return None;
    }
    Some(first_difference(&original, &exported))
}

pub(crate) fn first_difference(a: &proto::ModelProto, b: &proto::ModelProto) -> String {
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
pub(crate) fn dump_path(lines: &[&str], i: usize) -> String {
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

pub(crate) struct Runner {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) failures_dir: PathBuf,
    pub(crate) stats: Stats,
    pub(crate) verbose: bool,
}

impl Runner {
    pub(crate) fn new(verbose: bool) -> Runner {
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

    pub(crate) fn fail(
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

    pub(crate) fn roundtrip_finding(
        &mut self,
        seed: u64,
        input: &str,
        desc: &[String],
        what: String,
    ) {
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

    pub(crate) fn run(&mut self, seed: u64, case: &Case, input_name: &str) {
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

pub(crate) fn env_num(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    }
}

/// Aborts the process, naming the case, when one case runs for longer than `limit`.
pub(crate) struct Watchdog {
    pub(crate) started_ms: Arc<AtomicU64>,
    pub(crate) current: Arc<Mutex<String>>,
    pub(crate) done: Arc<AtomicBool>,
    pub(crate) epoch: Instant,
    pub(crate) thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    pub(crate) fn new(limit: Duration) -> Watchdog {
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

    pub(crate) fn begin(&self, what: String) {
        *self.current.lock().unwrap() = what;
        self.started_ms.store(self.epoch.elapsed().as_millis() as u64 + 1, Ordering::Relaxed);
    }

    pub(crate) fn end(&self) {
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
pub(crate) fn mutants_never_panic() {
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
