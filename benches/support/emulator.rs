//! The emulator as the benchmarks start it: a child process on a free loopback port, with
//! the sample catalog and user u / password p; killed when dropped.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub struct Emulator {
    pub child: Child,
    pub url: String,
}

impl Emulator {
    /// Starts `vsimport emulator` with `extra` flags and waits for its URL.
    pub fn start(bin: &str, extra: &[String]) -> Emulator {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut child = Command::new(bin)
            .args(["emulator", "--catalog"])
            .arg(root.join("samples/catalog.json"))
            .args(["--listen", "127.0.0.1:0", "--user", "u", "--password", "p"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start emulator");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("emulator url");
        Emulator {
            child,
            url: line.trim().to_string(),
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
