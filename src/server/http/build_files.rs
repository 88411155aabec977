//! How long a browser may keep the files the build made (the client's JS,
//! WASM and CSS under `/pkg`) and those copied from `public/` (icons, the
//! manifest). The build names the client's files after a hash of their
//! content (`glasschat.<hash>.wasm`), so a new release is new names: those
//! may be kept for a year without asking again. Everything else the site
//! root serves keeps its name across releases and is revalidated on each
//! use (a cheap 304 while it has not changed). `guards::security_headers`
//! applies this to every file it sees served, and `no-store` to pages and
//! server-function answers.
//!
//! The files themselves are sent precompressed when the browser accepts it:
//! `cargo leptos build --precompress` writes a `.br` (quality 11) and a `.gz`
//! beside each one, and the Leptos file handler picks the best the request
//! allows, so no release file is compressed per request.

/// A content-addressed build file: kept for a year, never revalidated.
pub const FOREVER: &str = "public, max-age=31536000, immutable";
/// A file that keeps its name from one release to the next.
pub const REVALIDATE: &str = "no-cache";

/// `FOREVER` for a hashed name under `/pkg/`, else `REVALIDATE`.
pub fn caching_for(path: &str) -> &'static str {
    match path.strip_prefix("/pkg/") {
        Some(name) if is_hashed_name(name) => FOREVER,
        _ => REVALIDATE,
    }
}

/// `stem.HASH.ext` with HASH the build's content hash: 16 or more URL-safe
/// base64 characters (cargo-leptos writes 22, an MD5 in base64url).
fn is_hashed_name(name: &str) -> bool {
    if name.contains('/') {
        return false;
    }
    let mut parts = name.rsplit('.');
    let (Some(_ext), Some(hash), Some(stem)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !stem.is_empty()
        && hash.len() >= 16
        && hash
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_build_files_are_kept_for_good_and_the_rest_revalidated() {
        assert_eq!(
            caching_for("/pkg/glasschat.mWkY3sVZ0XQh2cl6yQn_-A.wasm"),
            FOREVER
        );
        assert_eq!(
            caching_for("/pkg/glasschat.mWkY3sVZ0XQh2cl6yQn_-A.js"),
            FOREVER
        );
        assert_eq!(
            caching_for("/pkg/glasschat.mWkY3sVZ0XQh2cl6yQn_-A.css"),
            FOREVER
        );
        // A debug build's names, the site root's own files, near misses.
        assert_eq!(caching_for("/pkg/glasschat.wasm"), REVALIDATE);
        assert_eq!(caching_for("/pkg/glasschat_bg.wasm"), REVALIDATE);
        assert_eq!(caching_for("/favicon.ico"), REVALIDATE);
        assert_eq!(caching_for("/manifest.webmanifest"), REVALIDATE);
        assert_eq!(caching_for("/pkg/glasschat.short.wasm"), REVALIDATE);
        assert_eq!(caching_for("/pkg/.mWkY3sVZ0XQh2cl6yQn_-A.wasm"), REVALIDATE);
        assert_eq!(
            caching_for("/pkg/x/glasschat.mWkY3sVZ0XQh2cl6yQn_-A.wasm"),
            REVALIDATE
        );
        assert_eq!(
            caching_for("/pkg/glasschat.mWkY3sVZ0XQh2cl6y%2e_-A.wasm"),
            REVALIDATE
        );
        assert_eq!(caching_for("/icon.mWkY3sVZ0XQh2cl6yQn_-A.svg"), REVALIDATE);
    }
}
