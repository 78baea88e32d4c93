//! The deployment path (issue 7): the real binary as a process behind a real Caddy, backups
//! while answers stream, `/metrics`, logs without secrets, the Fail2Ban filter.

mod backup;
mod caddy;
mod fail2ban;
mod observability;
mod postgres_backup;
mod process;
mod tools;
