//! The site bundle (WASM, JS and CSS built by cargo-leptos into `<site>/pkg`) is served under
//! a path that names its content, `/pkg/<fingerprint>/…`: the fingerprint changes whenever a
//! file does, so browsers may keep these files for a year without asking again, and an
//! upgrade is picked up at once (the new pages name the new path). A file built with
//! `cargo leptos build --release --precompress` is sent as its `.br` or `.gz` sibling to
//! browsers that accept it.

use std::{
    io::Read,
    path::{Path, PathBuf},
};

use axum::{
    Router,
    http::{HeaderValue, header},
};
use sha2::{Digest, Sha256};
use tower_http::{services::ServeDir, set_header::SetResponseHeaderLayer};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The bundle's directory and the fingerprint of what is in it.
#[derive(Clone, Debug)]
pub struct Bundle {
    pub dir: PathBuf,
    pub fingerprint: String,
}

impl Bundle {
    /// Fingerprints the bundle in `dir` (12 hex digits of SHA-256 over each file's name and
    /// content); `None` when there is no bundle there (built without the site).
    pub fn read(dir: &Path) -> Option<Bundle> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && !is_precompressed(p))
            .collect();
        if files.is_empty() {
            return None;
        }
        files.sort();
        let mut hash = Sha256::new();
        // Read in small pieces: the WASM is megabytes, the server's memory should not grow
        // by that to read it once.
        let mut buf = vec![0u8; 64 * 1024];
        for file in &files {
            let mut reader = std::fs::File::open(file).ok()?;
            hash.update(file.file_name()?.as_encoded_bytes());
            hash.update(reader.metadata().ok()?.len().to_le_bytes());
            loop {
                let n = reader.read(&mut buf).ok()?;
                if n == 0 {
                    break;
                }
                hash.update(&buf[..n]);
            }
        }
        let digest = hash.finalize();
        let fingerprint = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        Some(Bundle {
            dir: dir.to_path_buf(),
            fingerprint,
        })
    }

    /// Where pages load the bundle from, relative to the site root (`pkg/<fingerprint>`).
    pub fn pkg_path(&self, pkg_dir: &str) -> String {
        format!("{pkg_dir}/{}", self.fingerprint)
    }

    /// `/pkg/<fingerprint>/*`, cacheable for a year.
    pub fn routes<S: Clone + Send + Sync + 'static>(&self, pkg_dir: &str) -> Router<S> {
        let files = ServeDir::new(&self.dir)
            .precompressed_br()
            .precompressed_gzip();
        Router::new().nest_service(
            &format!("/{}", self.pkg_path(pkg_dir)),
            tower::ServiceBuilder::new()
                .layer(SetResponseHeaderLayer::overriding(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static(IMMUTABLE),
                ))
                .service(files),
        )
    }
}

fn is_precompressed(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("br" | "gz" | "zst")
    )
}

#[cfg(test)]
mod tests {
    use axum::body::{Body, to_bytes};
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    use super::*;

    fn bundle_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.js"), "console.log('hi')").unwrap();
        std::fs::write(dir.path().join("app.wasm"), [0u8, 97, 115, 109]).unwrap();
        dir
    }

    #[test]
    fn the_fingerprint_follows_the_content() {
        let dir = bundle_dir();
        let first = Bundle::read(dir.path()).unwrap().fingerprint;
        assert_eq!(first.len(), 12);
        assert_eq!(Bundle::read(dir.path()).unwrap().fingerprint, first);
        // A precompressed sibling does not change it; a changed file does.
        std::fs::write(dir.path().join("app.js.br"), "whatever").unwrap();
        assert_eq!(Bundle::read(dir.path()).unwrap().fingerprint, first);
        std::fs::write(dir.path().join("app.js"), "console.log('bye')").unwrap();
        assert_ne!(Bundle::read(dir.path()).unwrap().fingerprint, first);
        assert!(Bundle::read(&dir.path().join("missing")).is_none());
    }

    async fn get(router: &Router, uri: &str, encoding: &str) -> axum::response::Response {
        let request = Request::get(uri)
            .header(header::ACCEPT_ENCODING, encoding)
            .body(Body::empty())
            .unwrap();
        router.clone().oneshot(request).await.unwrap()
    }

    #[tokio::test]
    async fn serves_the_bundle_cacheable_and_precompressed() {
        let dir = bundle_dir();
        std::fs::write(dir.path().join("app.js.br"), "brotli bytes").unwrap();
        let bundle = Bundle::read(dir.path()).unwrap();
        let router: Router = bundle.routes("pkg");
        let base = format!("/pkg/{}", bundle.fingerprint);

        let plain = get(&router, &format!("{base}/app.js"), "identity").await;
        assert_eq!(plain.status(), StatusCode::OK);
        assert_eq!(plain.headers()[header::CACHE_CONTROL], IMMUTABLE);
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        let body = to_bytes(plain.into_body(), 1 << 20).await.unwrap();
        assert_eq!(&body[..], b"console.log('hi')");

        let br = get(&router, &format!("{base}/app.js"), "gzip, br").await;
        assert_eq!(br.headers()[header::CONTENT_ENCODING], "br");
        assert_eq!(br.headers()[header::CACHE_CONTROL], IMMUTABLE);
        let body = to_bytes(br.into_body(), 1 << 20).await.unwrap();
        assert_eq!(&body[..], b"brotli bytes");

        // No .br for the wasm: sent as it is.
        let wasm = get(&router, &format!("{base}/app.wasm"), "br").await;
        assert_eq!(wasm.status(), StatusCode::OK);
        assert!(wasm.headers().get(header::CONTENT_ENCODING).is_none());

        // Another fingerprint (an older build) is not this bundle.
        let stale = get(&router, "/pkg/000000000000/app.js", "identity").await;
        assert_eq!(stale.status(), StatusCode::NOT_FOUND);
    }
}
