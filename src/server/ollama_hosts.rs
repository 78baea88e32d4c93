//! The `ollama.hosts` setting: which Ollama servers to use and how many answers each generates
//! at once. Written as a YAML list (of URLs, or of `{url, max_parallel}`), or as one string of
//! comma-separated URLs (how an environment variable gives it).

use serde::{Deserialize, Deserializer, Serialize};

use super::config::OllamaSection;

/// One entry of `ollama.hosts`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OllamaHost {
    pub url: String,
    /// This server's own limit; `ollama.max_parallel` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_parallel: Option<usize>,
}

/// A backend as the server uses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendSettings {
    pub url: String,
    pub max_parallel: usize,
    pub max_queue: usize,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Entry {
    Url(String),
    Full(OllamaHost),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Hosts {
    Commas(String),
    List(Vec<Entry>),
}

/// Accepts `"http://a:11434, http://b:11434"` or a list of URLs and `{url, max_parallel}`.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<OllamaHost>, D::Error> {
    let host = |url: &str| OllamaHost {
        url: url.trim().to_string(),
        max_parallel: None,
    };
    Ok(match Hosts::deserialize(d)? {
        Hosts::Commas(text) => text
            .split(',')
            .filter(|u| !u.trim().is_empty())
            .map(host)
            .collect(),
        Hosts::List(entries) => entries
            .into_iter()
            .map(|e| match e {
                Entry::Url(url) => host(&url),
                Entry::Full(h) => h,
            })
            .collect(),
    })
}

/// Why the list is unusable, if it is.
pub fn check(hosts: &[OllamaHost]) -> Result<(), String> {
    for (i, h) in hosts.iter().enumerate() {
        if let Some(why) = url_problem(&h.url) {
            return Err(format!("{:?} {why}", h.url));
        }
        if h.max_parallel == Some(0) {
            return Err(format!("max_parallel of {} must be at least 1", h.url));
        }
        let same = |o: &OllamaHost| normalized(&o.url) == normalized(&h.url);
        if hosts[..i].iter().any(same) {
            return Err(format!("{} is listed twice", h.url));
        }
    }
    Ok(())
}

/// Why an Ollama URL cannot be used, if it cannot. The server speaks plain HTTP to Ollama (on
/// its own machine or a private network, as Ollama itself serves), so `https://` is refused
/// rather than failing on every request; and Ollama has no accounts, so a user or password in
/// the URL would only end up in logs and on `/health`.
pub fn url_problem(url: &str) -> Option<&'static str> {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return Some("is not a valid URL");
    };
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Some(
                "uses https://, which the server does not speak to Ollama: reach Ollama over \
                 http:// on this machine or a private network",
            );
        }
        _ => return Some("must be an http:// URL"),
    }
    match uri.authority() {
        Some(authority) if authority.as_str().contains('@') => {
            Some("must not hold a user or password (Ollama has no accounts)")
        }
        Some(authority) if !authority.host().is_empty() => None,
        _ => Some("is not a valid URL"),
    }
}

fn normalized(url: &str) -> &str {
    url.trim_end_matches('/')
}

/// `ollama.hosts`, or `ollama.host` alone, with their limits.
pub fn backends(ollama: &OllamaSection) -> Vec<BackendSettings> {
    let single = [OllamaHost {
        url: ollama.host.clone(),
        max_parallel: None,
    }];
    let hosts = if ollama.hosts.is_empty() {
        &single[..]
    } else {
        &ollama.hosts[..]
    };
    hosts
        .iter()
        .map(|h| BackendSettings {
            url: normalized(&h.url).to_string(),
            max_parallel: h.max_parallel.unwrap_or(ollama.max_parallel).max(1),
            max_queue: ollama.max_queue,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::config::Settings;
    use figment::{
        Figment,
        providers::{Format, Serialized, Yaml},
    };

    fn from_yaml(yaml: &str) -> Result<Settings, String> {
        Figment::from(Serialized::defaults(Settings::default()))
            .merge(Yaml::string(yaml))
            .extract::<Settings>()
            .map_err(|e| e.to_string())
            .and_then(|s| s.validated().map_err(|e| e.to_string()))
    }

    #[test]
    fn without_hosts_the_single_host_is_the_only_backend() {
        let s = from_yaml("ollama:\n  host: http://10.0.0.1:11434/\n  max_parallel: 3\n").unwrap();
        assert_eq!(
            s.ollama_backends(),
            [BackendSettings {
                url: "http://10.0.0.1:11434".into(),
                max_parallel: 3,
                max_queue: 512
            }]
        );
    }

    #[test]
    fn a_list_of_urls_and_entries_with_their_own_limit() {
        let s = from_yaml(
            "ollama:\n  max_parallel: 2\n  hosts:\n    - http://a:11434\n    - url: http://b:11434\n      max_parallel: 4\n",
        )
        .unwrap();
        let limits: Vec<_> = s
            .ollama_backends()
            .into_iter()
            .map(|b| (b.url, b.max_parallel))
            .collect();
        assert_eq!(
            limits,
            [("http://a:11434".into(), 2), ("http://b:11434".into(), 4)]
        );
    }

    #[test]
    fn comma_separated_as_an_environment_variable_gives_it() {
        let s = from_yaml("ollama:\n  hosts: \"http://a:11434, http://b:11434,\"\n").unwrap();
        let urls: Vec<_> = s.ollama_backends().into_iter().map(|b| b.url).collect();
        assert_eq!(urls, ["http://a:11434", "http://b:11434"]);
    }

    #[test]
    fn a_string_value_as_the_environment_gives_it_is_split() {
        // `ENERGYAPP_OLLAMA__HOSTS=http://a:1,http://b:2` reaches serde as this string.
        let s = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Serialized::default("ollama.hosts", "http://a:1,http://b:2"))
            .extract::<Settings>()
            .unwrap();
        assert_eq!(s.ollama_backends().len(), 2);
    }

    #[test]
    fn only_plain_http_urls_without_credentials_are_taken() {
        for good in [
            "http://127.0.0.1:11434",
            "http://ollama-2.internal:11434/",
            "http://[::1]:11434",
        ] {
            assert_eq!(url_problem(good), None, "{good}");
        }
        for (bad, why) in [
            ("https://ollama.internal", "https://"),
            ("ftp://a", "http://"),
            ("127.0.0.1:11434", "http://"),
            ("http://user:secret@10.0.0.2:11434", "user or password"),
            ("http://user@10.0.0.2:11434", "user or password"),
            ("http://", "not a valid URL"),
            ("http://a b:11434", "not a valid URL"),
        ] {
            let problem = url_problem(bad).unwrap_or_else(|| panic!("{bad} was taken"));
            assert!(problem.contains(why), "{bad}: {problem}");
        }
    }

    #[test]
    fn bad_lists_name_the_key() {
        for yaml in [
            "ollama:\n  hosts: [https://a]\n",
            "ollama:\n  hosts: [http://u:p@a]\n",
            "ollama:\n  hosts: [ftp://a]\n",
            "ollama:\n  hosts: [http://a, http://a/]\n",
            "ollama:\n  hosts:\n    - url: http://a\n      max_parallel: 0\n",
        ] {
            let err = from_yaml(yaml).unwrap_err();
            assert!(err.contains("ollama.hosts"), "{yaml}: {err}");
        }
    }
}
