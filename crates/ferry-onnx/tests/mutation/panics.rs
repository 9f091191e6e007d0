use super::*;

// ------------------------------------------------------------------------------------------------
// Panic capture

pub(crate) struct PanicInfo {
    pub(crate) message: String,
    pub(crate) location: String,
    pub(crate) backtrace: std::backtrace::Backtrace,
}

thread_local! {
    static CAPTURING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static CAUGHT: std::cell::RefCell<Option<PanicInfo>> = const { std::cell::RefCell::new(None) };
}

/// Installs (once) a panic hook that, on threads inside `capture`, records the panic instead of
/// printing it; elsewhere it defers to the previous hook.
pub(crate) fn install_hook() {
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
pub(crate) fn capture<T>(f: impl FnOnce() -> T) -> Result<T, PanicInfo> {
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
