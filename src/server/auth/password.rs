//! bcrypt hashing, always off the async runtime so logins never stall streaming chats.
//!
//! bcrypt is meant to be slow (~0.25 s at cost 12). It runs on its own threads, one less than
//! the cores (at least one), at a lower CPU priority (nice 10) than the threads that serve
//! requests: a burst of logins waits in line for those threads instead of taking every core
//! from the tokens being relayed (50 logins at once used to delay tokens by ~250 ms).

use std::{
    panic::AssertUnwindSafe,
    sync::{Arc, LazyLock, Mutex, mpsc},
};

use tokio::sync::{OnceCell, oneshot};

use crate::error::AppError;

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Checks the password rule; the error says what is wrong.
pub fn check_rule(password: &str) -> Result<(), AppError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AppError::validation(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if password.len() > 72 {
        return Err(AppError::validation("password", "must be at most 72 bytes"));
    }
    Ok(())
}

type Job = Box<dyn FnOnce() + Send>;

/// The line of bcrypt jobs, served by the hashing threads (started on first use).
static HASHERS: LazyLock<mpsc::Sender<Job>> = LazyLock::new(|| {
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for i in 0..cores.saturating_sub(1).max(1) {
        let rx = Arc::clone(&rx);
        let started = std::thread::Builder::new()
            .name(format!("bcrypt-{i}"))
            .spawn(move || {
                lower_priority();
                loop {
                    let job = match rx.lock().unwrap_or_else(|e| e.into_inner()).recv() {
                        Ok(job) => job,
                        Err(_) => return,
                    };
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
                }
            });
        if let Err(err) = started {
            tracing::error!(error = %err, "could not start a bcrypt thread");
        }
    }
    tx
});

/// Runs a bcrypt job on a hashing thread; `None` if it could not run.
async fn run_bcrypt<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = oneshot::channel();
    HASHERS
        .send(Box::new(move || {
            let _ = tx.send(job());
        }))
        .ok()?;
    rx.await.ok()
}

/// Nice 10 for the calling thread (on Linux a thread's priority is its own).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on the calling thread's own id; no memory is shared.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10);
    }
}

pub async fn hash(password: &str, cost: u32) -> Result<String, AppError> {
    let password = password.to_string();
    run_bcrypt(move || bcrypt::hash(password, cost))
        .await
        .ok_or(AppError::Internal)?
        .map_err(|e| {
            tracing::error!(error = %e, "bcrypt hash failed");
            AppError::Internal
        })
}

pub async fn verify(password: &str, hash: &str) -> bool {
    let (password, hash) = (password.to_string(), hash.to_string());
    run_bcrypt(move || bcrypt::verify(password, &hash).unwrap_or(false))
        .await
        .unwrap_or(false)
}

/// Spends the same time as a real check, for emails that have no account.
pub async fn verify_dummy(password: &str, cost: u32) {
    static DUMMY: OnceCell<String> = OnceCell::const_new();
    let dummy = DUMMY
        .get_or_init(|| async move { hash("not-a-real-password", cost).await.unwrap_or_default() })
        .await;
    let _ = verify(password, dummy).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let h = hash("correct horse battery", 4).await.unwrap();
        assert!(verify("correct horse battery", &h).await);
        assert!(!verify("wrong horse battery", &h).await);
        assert!(!verify("x", "not a hash").await);
    }

    #[test]
    fn rule_rejects_short_passwords() {
        assert!(check_rule("short").is_err());
        assert!(check_rule("long enough pw").is_ok());
    }
}
