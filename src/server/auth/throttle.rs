//! Slows down password guessing: too many failed logins for one account or from one client
//! address lock further attempts for a while (429 with Retry-After). A success clears them.
//!
//! One instance (SQLite) counts in memory; on PostgreSQL the counts live in the database, so
//! that every instance behind a proxy sees the same failures (`db::login_failures`).

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::{
    error::AppError,
    server::db::{Db, login_failures},
};

/// Limits (from `auth.*` settings).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub per_account: u32,
    pub per_ip: u32,
    pub lockout: Duration,
}

#[derive(Debug)]
struct Entry {
    failures: u32,
    since: Instant,
    locked_until: Option<Instant>,
}

/// Most keys remembered; beyond it, stale entries are dropped.
const MAX_ENTRIES: usize = 100_000;

/// Failed logins, counted in this process or in the database.
pub struct LoginThrottle {
    limits: Limits,
    counts: Counts,
}

enum Counts {
    Local(LocalCounts),
    Shared(Db),
}

/// The counts of one instance.
struct LocalCounts {
    limits: Limits,
    entries: Mutex<HashMap<String, Entry>>,
}

fn account_key(email: &str) -> String {
    format!("a:{}", email.trim().to_lowercase())
}

fn ip_key(ip: IpAddr) -> String {
    format!("i:{ip}")
}

impl LoginThrottle {
    /// Counts kept in this process (one instance).
    pub fn new(limits: Limits) -> Self {
        LoginThrottle {
            limits,
            counts: Counts::Local(LocalCounts::new(limits)),
        }
    }

    /// Counts kept in the database, shared by every instance using it.
    pub fn shared(limits: Limits, db: Db) -> Self {
        LoginThrottle {
            limits,
            counts: Counts::Shared(db),
        }
    }

    /// Refuses while the account or the address is locked. (A database error lets the login
    /// go on: it fails anyway if the database is down.)
    pub async fn check(&self, email: &str, ip: IpAddr) -> Result<(), AppError> {
        let db = match &self.counts {
            Counts::Local(local) => return local.check(email, ip),
            Counts::Shared(db) => db,
        };
        let now = unix_ms();
        let until = login_failures::locked_until(db, [&account_key(email), &ip_key(ip)])
            .await
            .unwrap_or(0);
        if until > now {
            return Err(AppError::TooManyRequests {
                retry_after_secs: ((until - now) as u64).div_ceil(1000).max(1),
            });
        }
        Ok(())
    }

    /// Records a failure; returns how long to hold the answer back (it grows with repeats).
    pub async fn failed(&self, email: &str, ip: IpAddr) -> Duration {
        let db = match &self.counts {
            Counts::Local(local) => return local.failed(email, ip),
            Counts::Shared(db) => db,
        };
        let (now, window) = (unix_ms(), self.limits.lockout.as_millis() as i64);
        let (account_key, ip_key) = (account_key(email), ip_key(ip));
        let per_ip = login_failures::record(db, &ip_key, now, self.limits.per_ip.into(), window);
        let per_account = login_failures::record(
            db,
            &account_key,
            now,
            self.limits.per_account.into(),
            window,
        );
        let (account, _) = tokio::join!(per_account, per_ip);
        let failures = account.unwrap_or_else(|err| {
            tracing::error!(error = %err, "could not count a failed login");
            1
        });
        hold_back(failures.try_into().unwrap_or(u32::MAX))
    }

    pub async fn succeeded(&self, email: &str, ip: IpAddr) {
        match &self.counts {
            Counts::Local(local) => local.succeeded(email, ip),
            Counts::Shared(db) => {
                let keys = [&account_key(email)[..], &ip_key(ip)[..]];
                if let Err(err) = login_failures::clear(db, keys).await {
                    tracing::error!(error = %err, "could not clear failed logins");
                }
            }
        }
    }
}

fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// How long a failed login's answer is held back, after `failures` failures.
fn hold_back(failures: u32) -> Duration {
    Duration::from_millis((250 * u64::from(failures.saturating_sub(1))).min(2_000))
}

impl LocalCounts {
    fn new(limits: Limits) -> Self {
        LocalCounts {
            limits,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn check(&self, email: &str, ip: IpAddr) -> Result<(), AppError> {
        let now = Instant::now();
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let wait = [account_key(email), ip_key(ip)]
            .iter()
            .filter_map(|k| entries.get(k)?.locked_until)
            .filter(|until| *until > now)
            .map(|until| until - now)
            .max();
        match wait {
            Some(wait) => Err(AppError::TooManyRequests {
                retry_after_secs: wait.as_secs().max(1),
            }),
            None => Ok(()),
        }
    }

    fn failed(&self, email: &str, ip: IpAddr) -> Duration {
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() > MAX_ENTRIES {
            let lockout = self.limits.lockout;
            entries.retain(|_, e| now.duration_since(e.since) < lockout);
        }
        for (key, limit) in [
            (account_key(email), self.limits.per_account),
            (ip_key(ip), self.limits.per_ip),
        ] {
            let entry = entries.entry(key).or_insert(Entry {
                failures: 0,
                since: now,
                locked_until: None,
            });
            if now.duration_since(entry.since) >= self.limits.lockout {
                *entry = Entry {
                    failures: 0,
                    since: now,
                    locked_until: None,
                };
            }
            entry.failures += 1;
            if entry.failures >= limit {
                entry.locked_until = Some(now + self.limits.lockout);
            }
        }
        hold_back(entries.get(&account_key(email)).map_or(0, |e| e.failures))
    }

    fn succeeded(&self, email: &str, ip: IpAddr) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.remove(&account_key(email));
        entries.remove(&ip_key(ip));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> LocalCounts {
        LocalCounts::new(Limits {
            per_account: 3,
            per_ip: 5,
            lockout: Duration::from_secs(60),
        })
    }

    #[test]
    fn locks_an_account_after_its_limit() {
        let t = throttle();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..3 {
            assert!(t.check("a@x", ip).is_ok());
            t.failed("A@x ", ip);
        }
        match t.check("a@x", ip) {
            Err(AppError::TooManyRequests { retry_after_secs }) => {
                assert!((59..=60).contains(&retry_after_secs))
            }
            other => panic!("{other:?}"),
        }
        // Another account from another address is unaffected.
        assert!(t.check("b@x", "10.0.0.2".parse().unwrap()).is_ok());
    }

    #[test]
    fn locks_an_address_trying_many_accounts_and_success_clears() {
        let t = throttle();
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        for i in 0..5 {
            t.failed(&format!("u{i}@x"), ip);
        }
        assert!(t.check("new@x", ip).is_err());
        t.succeeded("new@x", ip);
        assert!(t.check("new@x", ip).is_ok());
    }
}
