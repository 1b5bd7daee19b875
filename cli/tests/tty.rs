//! Passphrases typed at a terminal, for real: `hpk` runs under
//! util-linux's `script`, which gives it a pseudo-terminal, and the test
//! types at the prompts. Without `script` these tests fail (they do not
//! skip): install util-linux.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{hpk_bin, hpk_env, scratch};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `hpk args…` on a pseudo-terminal, with what it prints collected.
struct Terminal {
    child: Child,
    input: Option<ChildStdin>,
    output: Arc<Mutex<Vec<u8>>>,
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

impl Terminal {
    fn start(dir: &Path, args: &[&str]) -> Terminal {
        let mut line = shell_quote(hpk_bin().to_str().unwrap());
        for a in args {
            line.push(' ');
            line.push_str(&shell_quote(a));
        }
        let mut child = Command::new("script")
            .args(["-q", "-e", "-c", &line, "/dev/null"])
            .current_dir(dir)
            .env_remove("HPK_PASSPHRASE")
            .env("SOURCE_DATE_EPOCH", common::EPOCH)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run `script` (util-linux), needed to test prompts: {e}")
            });
        let output = Arc::new(Mutex::new(Vec::new()));
        let mut stdout = child.stdout.take().unwrap();
        let sink = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Terminal {
            input: child.stdin.take(),
            child,
            output,
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    /// Waits until the screen shows `what` `count` times.
    fn wait_for(&self, what: &str, count: usize) {
        let start = Instant::now();
        while self.text().matches(what).count() < count {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no {what:?} on the terminal; it shows:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // Let the prompt switch the terminal to no-echo before typing.
        std::thread::sleep(Duration::from_millis(100));
    }

    fn type_line(&mut self, text: &str) {
        let input = self.input.as_mut().unwrap();
        input.write_all(text.as_bytes()).unwrap();
        input.write_all(b"\r").unwrap();
        input.flush().unwrap();
    }

    /// Waits for the end; its exit code and everything it showed.
    fn finish(mut self) -> (i32, String) {
        let start = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if start.elapsed() > Duration::from_secs(60) {
                let _ = self.child.kill();
                panic!("hpk did not finish; the terminal shows:\n{}", self.text());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        drop(self.input.take());
        std::thread::sleep(Duration::from_millis(100));
        (status.code().unwrap_or(-1), self.text())
    }
}

const SECRET: &str = "tty-passphrase-4711";

#[test]
fn keygen_asks_twice_without_echo_and_sign_asks_once() {
    let dir = scratch("tty-keygen");
    let mut t = Terminal::start(&dir, &["keygen", "--out", "k.key"]);
    t.wait_for("Passphrase for the new key k.key: ", 1);
    t.type_line(SECRET);
    t.wait_for("Same passphrase again: ", 1);
    t.type_line(SECRET);
    let (code, screen) = t.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(
        !screen.contains(SECRET),
        "the passphrase was echoed:\n{screen}"
    );
    let pem = std::fs::read_to_string(dir.join("k.key")).unwrap();
    assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
    std::fs::write(dir.join("standard.toml"), common::STANDARD_TOML).unwrap();
    std::fs::create_dir_all(dir.join("payload")).unwrap();
    std::fs::write(dir.join("payload/kernel.exe"), b"kernel").unwrap();
    hpk_env(&dir, &["pack", "standard.toml", "--out", "s.hpk"], &[]).ok();

    // `hpk sign` asks at the terminal: a wrong passphrase, then the right one.
    let mut t = Terminal::start(&dir, &["sign", "s.hpk", "--key", "k.key"]);
    t.wait_for("Passphrase for k.key: ", 1);
    t.type_line("not it");
    t.wait_for("Passphrase for k.key: ", 2);
    t.type_line(SECRET);
    let (code, screen) = t.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("wrong passphrase, try again"), "{screen}");
    assert!(screen.contains("signed s.hpk"), "{screen}");
    assert!(
        !screen.contains(SECRET),
        "the passphrase was echoed:\n{screen}"
    );
}

#[test]
fn keygen_refuses_two_different_passphrases() {
    let dir = scratch("tty-mismatch");
    let mut t = Terminal::start(&dir, &["keygen", "--out", "k.key"]);
    t.wait_for("Passphrase for the new key k.key: ", 1);
    t.type_line("one passphrase");
    t.wait_for("Same passphrase again: ", 1);
    t.type_line("another one");
    let (code, screen) = t.finish();
    assert_eq!(code, 2, "{screen}");
    assert!(screen.contains("the two passphrases differ"), "{screen}");
    assert!(!dir.join("k.key").exists() && !dir.join("k.key.pub").exists());
}

#[test]
fn sign_gives_up_after_three_wrong_passphrases() {
    let dir = scratch("tty-three");
    hpk_env(
        &dir,
        &["keygen", "--out", "k.key"],
        &[("HPK_PASSPHRASE", SECRET)],
    )
    .ok();
    std::fs::write(dir.join("standard.toml"), common::STANDARD_TOML).unwrap();
    std::fs::create_dir_all(dir.join("payload")).unwrap();
    std::fs::write(dir.join("payload/kernel.exe"), b"kernel").unwrap();
    hpk_env(&dir, &["pack", "standard.toml", "--out", "s.hpk"], &[]).ok();
    let before = std::fs::read(dir.join("s.hpk")).unwrap();
    let mut t = Terminal::start(&dir, &["sign", "s.hpk", "--key", "k.key"]);
    for n in 1..=3 {
        t.wait_for("Passphrase for k.key: ", n);
        t.type_line("wrong");
    }
    let (code, screen) = t.finish();
    assert_eq!(code, 2, "{screen}");
    assert!(screen.contains("wrong passphrase"), "{screen}");
    assert_eq!(std::fs::read(dir.join("s.hpk")).unwrap(), before);
}
