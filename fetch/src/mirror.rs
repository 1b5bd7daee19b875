//! A mirror: one base URL under which a whole repository is served
//! (SPEC.md, "Repositories").

use crate::error::FetchError;
use url::Url;

/// The file names of a repository, relative to its base URL.
const CATALOG: &str = "catalog.hpkcat";

/// One copy of the repository. Mirrors are not trusted: what they serve
/// is verified, and where it comes from decides nothing.
#[derive(Clone, Debug)]
pub(crate) struct Mirror {
    /// Always ends with `/`, so that names resolve beneath it.
    base: Url,
}

impl Mirror {
    /// A mirror at `base` (`http://`, `https://`, or `file://` for a
    /// local folder; a trailing `/` is added if missing).
    pub(crate) fn parse(base: &str) -> Result<Mirror, FetchError> {
        let mut url = Url::parse(base)
            .map_err(|e| FetchError::Url(format!("mirror {base:?} is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https" | "file") {
            return Err(FetchError::Url(format!(
                "mirror {base:?}: only http://, https:// and file:// are supported"
            )));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(FetchError::Url(format!(
                "mirror {base:?}: a repository URL has no query or fragment"
            )));
        }
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        Ok(Mirror { base: url })
    }

    /// The base URL, as given (with its trailing `/`).
    pub(crate) fn base(&self) -> &str {
        self.base.as_str()
    }

    /// `root/N.hpkroot`.
    pub(crate) fn root_url(&self, version: u64) -> String {
        self.join(&format!("root/{version}.hpkroot"))
    }

    /// `catalog.hpkcat`.
    pub(crate) fn catalog_url(&self) -> String {
        self.join(CATALOG)
    }

    /// A catalog entry's `location`, resolved against this mirror's
    /// catalog URL (RFC 3986, section 5).
    pub(crate) fn package_url(&self, location: &str) -> Result<String, FetchError> {
        let catalog = self
            .base
            .join(CATALOG)
            .map_err(|e| FetchError::Url(e.to_string()))?;
        let url = catalog.join(location).map_err(|e| {
            FetchError::Url(format!(
                "catalog location {location:?} does not resolve against {catalog}: {e}"
            ))
        })?;
        // A web mirror's catalog names web files, a local mirror's local
        // ones: a catalog never sends a client into its own files.
        let local = |u: &Url| u.scheme() == "file";
        if !matches!(url.scheme(), "http" | "https" | "file") || local(&url) != local(&self.base) {
            return Err(FetchError::Url(format!(
                "catalog location {location:?} resolves to {url}: a mirror at {} fetches only {}",
                self.base,
                if local(&self.base) {
                    "file:// URLs"
                } else {
                    "http:// and https:// URLs"
                }
            )));
        }
        // A local mirror is a folder: nothing outside it is read (the
        // bytes would be verified anyway, but a catalog has no business
        // pointing at the device's own files).
        if local(&self.base) && !url.path().starts_with(self.base.path()) {
            return Err(FetchError::Url(format!(
                "catalog location {location:?} resolves to {url}, outside the mirror's folder {}",
                self.base
            )));
        }
        Ok(url.into())
    }

    fn join(&self, name: &str) -> String {
        // `name` is one of this module's fixed relative names: it always
        // resolves beneath the base.
        self.base
            .join(name)
            .map_or_else(|_| format!("{}{name}", self.base), String::from)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_resolve_beneath_the_base() {
        let m = Mirror::parse("https://cdn.example/updates/x64").unwrap();
        assert_eq!(m.base(), "https://cdn.example/updates/x64/");
        assert_eq!(
            m.root_url(12),
            "https://cdn.example/updates/x64/root/12.hpkroot"
        );
        assert_eq!(
            m.catalog_url(),
            "https://cdn.example/updates/x64/catalog.hpkcat"
        );
        let d = "ab".repeat(32);
        assert_eq!(
            m.package_url(&format!("packages/{d}.hpk")).unwrap(),
            format!("https://cdn.example/updates/x64/packages/{d}.hpk")
        );
        // Absolute references and other hosts are RFC 3986's business.
        assert_eq!(
            m.package_url("https://other.example/p.hpk").unwrap(),
            "https://other.example/p.hpk"
        );
        assert_eq!(
            m.package_url("../shared/p.hpk").unwrap(),
            "https://cdn.example/updates/shared/p.hpk"
        );
    }

    #[test]
    fn unusable_mirrors_and_locations_are_refused() {
        for bad in ["ftp://x/", "not a url", "https://x/r?q=1"] {
            assert!(Mirror::parse(bad).is_err(), "{bad}");
        }
        let m = Mirror::parse("http://127.0.0.1:8080/").unwrap();
        assert!(m.package_url("file:///etc/passwd").is_err());
        // A local mirror reads its own folder's files, never the web's.
        let local = Mirror::parse("file:///media/usb/repo").unwrap();
        assert_eq!(local.base(), "file:///media/usb/repo/");
        assert_eq!(
            local.package_url("packages/p.hpk").unwrap(),
            "file:///media/usb/repo/packages/p.hpk"
        );
        assert!(local.package_url("https://cdn.example/p.hpk").is_err());
        assert!(local.package_url("../../../etc/shadow").is_err());
        assert!(local.package_url("/etc/shadow").is_err());
        assert!(local.package_url("packages/../../elsewhere/p.hpk").is_err());
    }
}
