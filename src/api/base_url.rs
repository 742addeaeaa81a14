//! The API base URL as given (`--url`, `--tenant`, `VS_URL`): checked once, before any
//! request — http(s) only, no credentials inside, plain http only to this machine.

use std::net::IpAddr;

use reqwest::Url;

use super::ApiError;

/// Whether the URL's host is this machine (`localhost`, 127.0.0.0/8, ::1).
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// `raw` as it may be shown: anything between `://` and an `@` (a user name and password)
/// replaced by `***`, even when the rest does not parse.
pub(crate) fn without_userinfo(raw: &str) -> String {
    let (scheme, rest) = match raw.find("://") {
        Some(i) => (&raw[..i + 3], &raw[i + 3..]),
        None => ("", raw),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}***@{}", &rest[at + 1..]),
        None => raw.to_string(),
    }
}

/// Parses and checks the base URL: http(s) only, no credentials in it, and plain http only to
/// loopback unless allowed.
pub(crate) fn parse_base_url(raw: &str, allow_http: bool) -> Result<Url, ApiError> {
    let raw = raw.trim();
    let mut url = Url::parse(raw).map_err(|e| ApiError::Config {
        message: format!("--url {:?} is not a URL ({e})", without_userinfo(raw)),
        help: Some("give the API base, e.g. https://api-<tenant>.valuestreamer.de/api".into()),
    })?;
    match url.scheme() {
        "https" => {}
        "http" => {
            if !is_loopback(&url) && !allow_http {
                return Err(ApiError::Config {
                    message: format!(
                        "refusing plain http:// to {}: the password would cross the network unencrypted",
                        url.host_str().unwrap_or("?")
                    ),
                    help: Some(
                        "use https://, or pass --allow-http if this really is a trusted network"
                            .into(),
                    ),
                });
            }
        }
        other => {
            return Err(ApiError::Config {
                message: format!("--url must be http:// or https://, not {other}://"),
                help: None,
            });
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ApiError::Config {
            message: "--url must not carry a user name or password".into(),
            help: Some("set VS_USER and VS_PASSWORD (or --password-stdin) instead".into()),
        });
    }
    url.set_query(None);
    url.set_fragment(None);
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_a_bad_url_are_never_shown() {
        let e = parse_base_url("https://user:s3cret@exa mple.com/api", false).unwrap_err();
        assert!(!e.to_string().contains("s3cret"), "{e}");
        assert_eq!(
            without_userinfo("https://u:p@host/api"),
            "https://***@host/api"
        );
        assert_eq!(without_userinfo("u:p@host"), "***@host");
        assert_eq!(without_userinfo("https://host/a@b"), "https://host/a@b");
    }

    #[test]
    fn base_url_gets_a_trailing_slash() {
        let u = parse_base_url("https://api-acme.valuestreamer.de/api", false).unwrap();
        assert_eq!(u.as_str(), "https://api-acme.valuestreamer.de/api/");
        let u = parse_base_url("https://api-acme.valuestreamer.de/api/", false).unwrap();
        assert_eq!(
            u.join("exchange/kpi").unwrap().as_str(),
            "https://api-acme.valuestreamer.de/api/exchange/kpi"
        );
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(parse_base_url("http://127.0.0.1:8080/api", false).is_ok());
        assert!(parse_base_url("http://localhost:8080/api", false).is_ok());
        assert!(parse_base_url("http://[::1]:8080/api", false).is_ok());
        assert!(parse_base_url("http://10.0.0.5/api", false).is_err());
        assert!(parse_base_url("http://10.0.0.5/api", true).is_ok());
        assert!(parse_base_url("ftp://host/api", true).is_err());
    }

    #[test]
    fn credentials_in_the_url_are_refused() {
        let e = parse_base_url("https://u:p@host/api", false).unwrap_err();
        assert!(!e.to_string().contains(":p@"));
    }
}
