//! Writes the built-in rules as the crate embeds them: without their comments and without the
//! spaces that align their columns. The rule file is written for people; the copy compiled into
//! the program (and into the console's download) needs only the rules. Comment lines become empty
//! lines, so a syntax error still names the line of the file.

use std::fmt::Write as _;

fn main() {
    const SOURCE: &str = "rules/builtin.rules";
    println!("cargo:rerun-if-changed={SOURCE}");
    let text = std::fs::read_to_string(SOURCE).unwrap_or_else(|e| panic!("{SOURCE}: {e}"));
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let line = line.trim();
        if !line.starts_with('#') {
            // `@scope id pattern` or `id pattern`: the tokens before the pattern lose their padding.
            let tokens = if line.starts_with('@') { 2 } else { 1 };
            let mut rest = line;
            for _ in 0..tokens {
                match rest.split_once(char::is_whitespace) {
                    Some((token, after)) => {
                        let _ = write!(out, "{token} ");
                        rest = after.trim_start();
                    }
                    None => break,
                }
            }
            out.push_str(rest);
        }
        out.push('\n');
    }
    let path = std::path::Path::new(&std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into())).join("builtin.rules");
    std::fs::write(&path, out).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}
