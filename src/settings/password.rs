//! Where the password comes from: the first line of standard input, the output of the
//! config file's `password_command`, or a prompt without echo when a person is at a terminal. It is held in a [`SecretString`] (zeroed when dropped)
//! and never accepted as a flag (it would show in `ps` and shell history).

use std::io::Read;

use secrecy::SecretString;

use super::settings_error;
use crate::error::Error;

pub(super) fn read_password_line(stdin: &mut dyn Read) -> Result<SecretString, Error> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    // Read only the first line, so the rest of stdin stays for other uses.
    loop {
        match stdin.read(&mut byte) {
            Ok(0) => break,
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) => buf.push(byte[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(settings_error(
                    format!("cannot read the password from standard input: {e}"),
                    "pipe the password in, e.g. `pass show vs | vsimport ... --password-stdin`",
                ));
            }
        }
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    let s = String::from_utf8(buf).map_err(|_| {
        settings_error(
            "the password on standard input is not UTF-8",
            "pipe the password in as UTF-8 text",
        )
    })?;
    if s.is_empty() {
        return Err(settings_error(
            "--password-stdin was given but standard input held no password",
            "pipe the password in, e.g. `pass show vs | vsimport ... --password-stdin`",
        ));
    }
    Ok(SecretString::from(s))
}

/// A password typed at the prompt ([`super::Env::ask_password`]).
pub(super) fn typed(typed: std::io::Result<String>) -> Result<SecretString, Error> {
    let help =
        "type the password at the prompt, or set VS_PASSWORD, --password-stdin or password_command";
    match typed {
        Ok(p) if !p.is_empty() => Ok(SecretString::from(p)),
        Ok(_) => Err(settings_error("no password typed", help)),
        Err(e) => Err(settings_error(
            format!(
                "cannot read the password at the terminal: {}",
                crate::os::plain(&e.to_string())
            ),
            help,
        )),
    }
}

pub(super) fn run_password_command(cmd: &str) -> Result<SecretString, Error> {
    let mut command = if cfg!(windows) {
        let mut c = std::process::Command::new("cmd");
        c.arg("/C").arg(cmd);
        c
    } else {
        let mut c = std::process::Command::new("sh");
        c.arg("-c").arg(cmd);
        c
    };
    let out = command
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            settings_error(
                format!("cannot run password_command: {e}"),
                "check password_command in the config file",
            )
        })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(settings_error(
            format!(
                "password_command failed ({}): {}",
                out.status,
                err.trim().chars().take(300).collect::<String>()
            ),
            "run the command by hand to see what is wrong",
        ));
    }
    let text = String::from_utf8(out.stdout).map_err(|_| {
        settings_error(
            "password_command printed something that is not UTF-8",
            "the command must print the password as text",
        )
    })?;
    let pw = text.lines().next().unwrap_or("").to_string();
    if pw.is_empty() {
        return Err(settings_error(
            "password_command printed no password",
            "the command must print the password on its first line",
        ));
    }
    Ok(SecretString::from(pw))
}
