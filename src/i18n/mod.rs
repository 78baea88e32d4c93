//! Every visible string of the UI comes from one table per language (`es`, `en`); Spanish is
//! the default. The language of a page is chosen by the person (a cookie, see `Lang::COOKIE`),
//! known to the server while it renders and to the browser from `<html lang>`.

mod en;
mod es;
mod format;
mod messages;
mod strings;

pub use format::{date_time, day_month, number, seconds};
pub use messages::{answer_error, audit_action, error_message};
pub use strings::{AdminStrings, AuditActions, ErrorStrings, Strings};

/// A language of the UI.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    Es,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Es, Lang::En];
    /// The cookie that remembers the person's choice (a preference, not a secret).
    pub const COOKIE: &'static str = "energyapp_lang";

    /// The BCP 47 code (`<html lang>`, the cookie's value).
    pub fn code(self) -> &'static str {
        match self {
            Lang::Es => "es",
            Lang::En => "en",
        }
    }

    /// The language a code names (`en`, `en-GB`, `es`…), if one of ours.
    pub fn from_code(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Lang::ALL.into_iter().find(|l| l.code() == primary)
    }

    /// The language's own name, as shown in the language picker.
    pub fn name(self) -> &'static str {
        match self {
            Lang::Es => "Español",
            Lang::En => "English",
        }
    }

    pub fn strings(self) -> &'static Strings {
        match self {
            Lang::Es => &es::STRINGS,
            Lang::En => &en::STRINGS,
        }
    }

    pub fn admin(self) -> &'static AdminStrings {
        match self {
            Lang::Es => &es::ADMIN,
            Lang::En => &en::ADMIN,
        }
    }
}

/// The language of the page being rendered: provided as context by the server for each
/// request; in the browser, the one the server rendered the page in.
pub fn current() -> Lang {
    leptos::prelude::use_context::<Lang>().unwrap_or_else(page_language)
}

#[cfg(feature = "hydrate")]
fn page_language() -> Lang {
    crate::client::language::of_page()
}

#[cfg(not(feature = "hydrate"))]
fn page_language() -> Lang {
    Lang::default()
}

/// The UI's strings in the current language.
pub fn t() -> &'static Strings {
    current().strings()
}

/// The admin views' strings in the current language.
pub fn ta() -> &'static AdminStrings {
    current().admin()
}

#[cfg(test)]
mod tests {
    use super::Lang;

    #[test]
    fn codes_name_languages() {
        assert_eq!(Lang::from_code("en"), Some(Lang::En));
        assert_eq!(Lang::from_code("en-GB"), Some(Lang::En));
        assert_eq!(Lang::from_code(" ES "), Some(Lang::Es));
        assert_eq!(Lang::from_code("fr"), None);
        assert_eq!(Lang::from_code(""), None);
        for lang in Lang::ALL {
            assert_eq!(Lang::from_code(lang.code()), Some(lang));
        }
    }

    #[test]
    fn every_table_is_filled() {
        for lang in Lang::ALL {
            let s = lang.strings();
            assert!(!s.app_name.is_empty() && !s.errors.generic.is_empty());
            assert!(s.errors.busy.contains("{n}") && s.errors.too_many_attempts.contains("{n}"));
            assert!(s.suggestions.iter().all(|q| !q.is_empty()));
            assert!(!lang.admin().audit_actions.other.is_empty());
        }
        // The two tables differ where they should (not a copy left untranslated).
        assert_ne!(Lang::Es.strings().send, Lang::En.strings().send);
        assert_ne!(Lang::Es.admin().users, Lang::En.admin().users);
    }
}
