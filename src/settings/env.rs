//! The process environment, read here and nowhere else. A trait, so that tests can give a
//! fixed one.

use std::path::PathBuf;

/// Where environment variables come from.
pub(crate) trait Env {
    /// The variable's value; empty counts as unset.
    fn var(&self, key: &str) -> Option<String>;

    /// A variable holding a path.
    fn path(&self, key: &str) -> Option<PathBuf> {
        self.var(key).map(PathBuf::from)
    }

    /// The password typed at a prompt without echo, when a person is at a terminal; `None`
    /// when there is no terminal to ask at (scripts, schedulers, tests).
    fn ask_password(&self, _prompt: &str) -> Option<std::io::Result<String>> {
        None
    }
}

/// The process environment.
pub(crate) struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.is_empty())
    }

    fn ask_password(&self, prompt: &str) -> Option<std::io::Result<String>> {
        use std::io::IsTerminal;
        // Standard input a terminal: someone is there to type (rpassword reads the terminal
        // itself with echo off, and writes the prompt to it, not to stdout).
        std::io::stdin()
            .is_terminal()
            .then(|| rpassword::prompt_password(prompt))
    }

    fn path(&self, key: &str) -> Option<PathBuf> {
        std::env::var_os(key)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    }
}

/// The system's directory for temporary files (`TMPDIR`, …).
pub(crate) fn temp_dir() -> PathBuf {
    std::env::temp_dir()
}

#[cfg(test)]
pub(crate) mod fixed {
    use std::collections::HashMap;

    /// A fixed environment for tests.
    pub(crate) struct MapEnv(pub HashMap<&'static str, String>);

    impl super::Env for MapEnv {
        fn var(&self, key: &str) -> Option<String> {
            self.0.get(key).cloned().filter(|v| !v.is_empty())
        }
    }

    pub(crate) fn env(pairs: &[(&'static str, &str)]) -> MapEnv {
        let mut m: HashMap<&'static str, String> =
            pairs.iter().map(|(k, v)| (*k, v.to_string())).collect();
        m.entry("HOME")
            .or_insert_with(|| "/nonexistent-home".into());
        MapEnv(m)
    }
}
