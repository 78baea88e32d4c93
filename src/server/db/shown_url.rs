//! A database URL as it may be shown in a log or on a console: without its password.

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`; a URL without a password
/// (SQLite's, a socket's with peer authentication) is shown as it is.
pub fn shown_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    // The authority ends at the first `/`, `?` or `#`; its user part at its last `@`.
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((user_info, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    match user_info.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::shown_url;

    #[test]
    fn passwords_are_masked_and_nothing_else_changes() {
        assert_eq!(
            shown_url("postgres://energyapp:s3cr%40t:x@127.0.0.1:5432/energyapp"),
            "postgres://energyapp:***@127.0.0.1:5432/energyapp"
        );
        assert_eq!(
            shown_url("postgresql://u:p@db.internal/app?sslmode=require"),
            "postgresql://u:***@db.internal/app?sslmode=require"
        );
        assert_eq!(
            shown_url("postgres://energyapp@%2Fvar%2Frun%2Fpostgresql/energyapp"),
            "postgres://energyapp@%2Fvar%2Frun%2Fpostgresql/energyapp"
        );
        assert_eq!(
            shown_url("sqlite://data/energyapp.db"),
            "sqlite://data/energyapp.db"
        );
        assert_eq!(shown_url("sqlite::memory:"), "sqlite::memory:");
        // An `@` after the authority (in a parameter) is not a user part.
        assert_eq!(
            shown_url("postgres://host/db?application_name=a@b"),
            "postgres://host/db?application_name=a@b"
        );
    }
}
