//! Credentials taken out of text a server sent, before it is shown or stored: a server (or a
//! proxy) that echoes the request's `Authorization` header in an error body must not put the
//! password into failed.csv, the report or the terminal.

use zeroize::Zeroizing;

/// What the credentials look like in text: the header value, its base64 part, `user:password`
/// and the password alone.
pub(crate) struct Scrub {
    needles: Vec<Zeroizing<String>>,
}

impl std::fmt::Debug for Scrub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scrub({} forms)", self.needles.len())
    }
}

/// What a credential is replaced with.
pub(crate) const REDACTED: &str = "[redacted]";

impl Scrub {
    /// `header` is the `Authorization` value (`Basic <base64 of user:password>`).
    pub(crate) fn new(header: &str, user_password: &str, password: &str) -> Scrub {
        let mut needles: Vec<Zeroizing<String>> = Vec::new();
        let b64 = header.strip_prefix("Basic ").unwrap_or(header);
        for n in [
            header,
            b64,
            b64.trim_end_matches('='),
            user_password,
            password,
        ] {
            // A password of one or two characters would blank out ordinary text; such a
            // password is still never sent anywhere but the Authorization header.
            if n.chars().count() >= 3 && !needles.iter().any(|x| x.as_str() == n) {
                needles.push(Zeroizing::new(n.to_string()));
            }
        }
        // Longest first, so the header goes whole before its parts.
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        Scrub { needles }
    }

    /// `text` with every form of the credentials replaced by [`REDACTED`].
    pub(crate) fn clean(&self, text: &str) -> String {
        let mut out = text.to_string();
        for n in &self.needles {
            if out.contains(n.as_str()) {
                out = out.replace(n.as_str(), REDACTED);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_the_credentials_is_redacted() {
        let s = Scrub::new("Basic dTpTM2NyZXQh", "u:S3cret!", "S3cret!");
        let echoed = "bad request; you sent Authorization: Basic dTpTM2NyZXQh (u:S3cret!) S3cret!";
        let clean = s.clean(echoed);
        assert!(!clean.contains("S3cret"), "{clean}");
        assert!(!clean.contains("dTpTM2NyZXQh"), "{clean}");
        assert!(clean.contains("Authorization: [redacted]"), "{clean}");
        assert_eq!(s.clean("nothing here"), "nothing here");
    }
}
