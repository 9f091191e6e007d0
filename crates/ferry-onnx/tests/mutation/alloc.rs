// ------------------------------------------------------------------------------------------------
// Memory accounting

pub(crate) mod alloc_count {
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
pub(crate) static ALLOC: alloc_count::Counting = alloc_count::Counting;
