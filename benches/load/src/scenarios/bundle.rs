//! Scenario 7, bundle: the bytes a browser downloads for the chat page (the HTML, then every `/pkg/`
//! file it names: script, stylesheet, WASM), as served and brotli-compressed (quality 11).

use std::io::Write;

use super::Bench;
use crate::{
    api::{self, App},
    error::{BenchError, Result},
    procs::{ADMIN_EMAIL, ADMIN_PASSWORD, Server, ServerConfig},
    report::Report,
};

const S: &str = "bundle";

pub async fn run(bench: &Bench, report: &mut Report) -> Result<()> {
    let (server, _) = Server::start(&bench.build, &bench.sim, &ServerConfig::default()).await?;
    let result = measure(&server, report).await;
    server.stop().await;
    result
}

async fn measure(server: &Server, report: &mut Report) -> Result<()> {
    let http = api::http_client();
    let app = App::sign_in(&http, &server.base, ADMIN_EMAIL, ADMIN_PASSWORD).await?;
    let (html, _) = app.page_timed("/").await?;
    let files = pkg_paths(&html);
    if files.is_empty() {
        return Err(BenchError::Protocol(
            "the chat page names no /pkg/ file".into(),
        ));
    }
    let (mut raw, mut brotli, mut served) = (html.len(), brotli_size(html.as_bytes()), html.len());
    report.add(S, "chat page HTML", html.len() as f64 / 1024.0, "KiB", None);
    for path in &files {
        let res = http
            .get(app.url(path))
            .header("accept-encoding", "br, gzip")
            .send()
            .await?;
        let encoding = res
            .headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("identity")
            .to_string();
        let body = res.bytes().await?;
        served += body.len();
        let plain = if encoding == "identity" {
            body.to_vec()
        } else {
            // Served compressed already: ask again for the plain bytes.
            http.get(app.url(path))
                .send()
                .await?
                .bytes()
                .await?
                .to_vec()
        };
        let compressed = brotli_size(&plain);
        raw += plain.len();
        brotli += compressed;
        let name = path.rsplit('/').next().unwrap_or(path);
        report.add(
            S,
            &format!("{name}: raw"),
            plain.len() as f64 / 1024.0,
            "KiB",
            None,
        );
        report.add(
            S,
            &format!("{name}: brotli 11"),
            compressed as f64 / 1024.0,
            "KiB",
            None,
        );
        if encoding != "identity" {
            report.note(
                S,
                format!("{name} is served {encoding}-encoded ({} bytes)", body.len()),
            );
        }
    }
    report.add(
        S,
        "total raw (page + files)",
        raw as f64 / 1024.0,
        "KiB",
        None,
    );
    report.add(S, "total brotli 11", brotli as f64 / 1024.0, "KiB", None);
    report.add(
        S,
        "total as served (Accept-Encoding: br, gzip)",
        served as f64 / 1024.0,
        "KiB",
        None,
    );
    Ok(())
}

/// Every distinct `/pkg/...` path in the page (links, scripts, the WASM in the boot script).
fn pkg_paths(html: &str) -> Vec<String> {
    let mut paths: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("/pkg/") {
        let tail = &rest[i..];
        let end = tail
            .find(['"', '\'', '`', ')', ' ', '>', '?', '#'])
            .unwrap_or(tail.len());
        let path = &tail[..end];
        if path.len() > "/pkg/".len() && !paths.iter().any(|p| p == path) {
            paths.push(path.to_string());
        }
        rest = &tail[end..];
    }
    paths
}

fn brotli_size(data: &[u8]) -> usize {
    let mut writer = brotli::CompressorWriter::new(Vec::new(), 4096, 11, 22);
    writer.write_all(data).expect("writing to memory");
    writer.into_inner().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_bundle_files() {
        let html = r#"<link rel="modulepreload" href="/pkg/app.js"><link rel="stylesheet" href="/pkg/app.css">
<script type="module">import('/pkg/app.js').then(m => m.default({module_or_path: '/pkg/app_bg.wasm'}))</script>"#;
        assert_eq!(
            pkg_paths(html),
            ["/pkg/app.js", "/pkg/app.css", "/pkg/app_bg.wasm"]
        );
        assert!(brotli_size(&[b'a'; 10_000]) < 100);
    }
}
