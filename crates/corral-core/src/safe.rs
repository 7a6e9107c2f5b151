//! Values taken from input, made safe for where Corral writes them.
//!
//! Corral's input is often written by the people it is meant to catch, so a
//! name or a message from a manifest, a cluster or a cloud account may hold
//! shell syntax, path separators, terminal escapes or markup. Every writer
//! goes through this one module: a path component ([`file_name`]), a shell
//! word ([`shell_word`]), a terminal or CI log ([`terminal`], [`one_line`]),
//! XML ([`xml`]), Markdown ([`markdown_cell`], [`markdown_code`]) and a URI
//! path ([`uri_path`]).

use std::borrow::Cow;
use std::fmt::Write;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

/// Is `name` a DNS-1123 label (`[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63
/// characters), as namespace names and most other Kubernetes names must be?
pub fn is_dns1123_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

/// Is `name` a DNS-1123 subdomain (dot-separated labels, at most 253
/// characters), as the names of most Kubernetes objects must be?
pub fn is_dns1123_subdomain(name: &str) -> bool {
    name.len() <= 253 && name.split('.').all(is_dns1123_label)
}

/// One path component for `name`: itself when it is made only of ASCII
/// letters, digits, `-` and `.` (every valid Kubernetes name is), and is not
/// `.` or `..`; otherwise every other byte is percent-encoded (`/` is `%2F`,
/// `_` is `%5F`) and an all-dots name has its dots encoded. So no name can
/// leave the directory it is written in, none holds a control character or
/// NUL, and different names give different components (`_` stays free to
/// separate them). The empty name is `_`. A component longer than
/// [`MAX_FILE_NAME`] bytes (a valid 253-character name, or one encoded
/// threefold) keeps its start and ends in `-` and a hash of the whole name
/// (SHA-256's first 8 bytes), so it can be written on any file system,
/// stays distinct, and a valid Kubernetes name stays one.
pub fn file_name(name: &str) -> Cow<'_, str> {
    const KEEP: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.');
    if name.is_empty() {
        return Cow::Borrowed("_");
    }
    let encoded: Cow<'_, str> = if name.bytes().all(|b| b == b'.') {
        Cow::Owned("%2E".repeat(name.len()))
    } else {
        utf8_percent_encode(name, KEEP).into()
    };
    if encoded.len() <= MAX_FILE_NAME {
        return encoded;
    }
    let digest = Sha256::digest(name.as_bytes());
    let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    // The encoding is ASCII: any byte index is a character boundary.
    Cow::Owned(format!(
        "{}-{hash}",
        &encoded[..MAX_FILE_NAME - hash.len() - 1]
    ))
}

/// The longest component [`file_name`] makes, in bytes: three of them
/// joined, with an extension (`ns-workload-container.coverage.json`), stay
/// under the 255 bytes that Linux file systems allow in a name.
pub const MAX_FILE_NAME: usize = 75;

/// `word` as one POSIX shell word: itself when it holds only characters no
/// shell gives a meaning to, else single-quoted (a `'` inside becomes `'\''`).
pub fn shell_word(word: &str) -> Cow<'_, str> {
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"-_./=:@%+,".contains(&b);
    if !word.is_empty() && word.bytes().all(plain) {
        return Cow::Borrowed(word);
    }
    Cow::Owned(format!("'{}'", word.replace('\'', r"'\''")))
}

/// Characters a terminal or a reader's eye could be fooled by: control
/// characters (C0, DEL, C1) and Unicode's bidirectional overrides and
/// isolates ("Trojan Source").
fn deceptive(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Text for a terminal or a CI log. As kubectl does since CVE-2021-25743,
/// every control character but line feed and tab is shown escaped (ESC as
/// `\u{1b}`, CR as `\r`), so input cannot move the cursor, rewrite earlier
/// lines, retitle the window or hide text; and a line that GitHub Actions
/// would read as a workflow command (`::` after leading blanks) has its first
/// colon escaped (`\u{3a}`), as is the second `#` of the older `##[` form
/// (`#\u{23}[`) wherever it stands, so input cannot set outputs, masks or
/// environment variables of the job that runs Corral.
pub fn terminal(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// [`terminal`] text on one line: line feeds and tabs escaped too, for a
/// value written inside a line (a comment, a log line, a table cell).
pub fn one_line(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

/// GitHub Actions' older command syntax, `##[command]`, which its runner
/// still reads anywhere in a line.
const LEGACY_COMMAND: &str = "##[";

fn escape(text: &str, one_line: bool) -> Cow<'_, str> {
    let kept = |c: char| !one_line && (c == '\n' || c == '\t');
    let command_line = |line: &str| line.trim_start_matches([' ', '\t']).starts_with("::");
    let clean = !text.chars().any(|c| deceptive(c) && !kept(c))
        && (one_line && !command_line(text) || !one_line && !text.split('\n').any(command_line))
        && !text.contains(LEGACY_COMMAND);
    if clean {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    // Only blanks so far on this line: a `::` here starts a command.
    let mut blanks_only = true;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && blanks_only && chars.peek() == Some(&':') {
            out.push_str("\\u{3a}");
            blanks_only = false;
            continue;
        }
        if deceptive(c) && !kept(c) {
            let _ = write!(out, "{}", c.escape_debug());
        } else {
            out.push(c);
        }
        blanks_only = (c == '\n' && !one_line) || (blanks_only && (c == ' ' || c == '\t'));
    }
    Cow::Owned(out.replace(LEGACY_COMMAND, "#\\u{23}["))
}

/// Text for XML character data or a double- or single-quoted attribute
/// value: markup characters as entities, line breaks and tabs as character
/// references (kept by attribute normalisation), and the characters XML 1.0
/// cannot hold at all (other C0 controls, U+FFFE, U+FFFF) shown escaped
/// (`\u{1b}`), so the document stays well-formed for any input.
pub fn xml(text: &str) -> Cow<'_, str> {
    let special = |c: char| {
        matches!(
            c,
            '&' | '<' | '>' | '"' | '\'' | '\u{FFFE}' | '\u{FFFF}' | '\u{0}'..='\u{1F}'
        )
    };
    if !text.chars().any(special) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if special(c) => {
                let _ = write!(out, "{}", c.escape_debug());
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Text for a cell of a Markdown table (GitHub Flavored Markdown): on one
/// line, HTML markup and `|` escaped, so input cannot end the cell, the
/// table or a `<details>` block, nor add links, images or mentions' markup.
pub fn markdown_cell(text: &str) -> String {
    markdown(text, true)
}

/// `text` as inline code in a Markdown table cell: `<code>`, whose content
/// is escaped as HTML (so a backtick in a file name cannot end it).
pub fn markdown_code(text: &str) -> String {
    format!("<code>{}</code>", markdown(text, false))
}

/// One line of `text` for a table cell: HTML's markup characters as
/// entities, `|` escaped, and, outside code, Markdown's own markup too.
fn markdown(text: &str, markup: bool) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in one_line(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("\\|"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '!' | '#' | '~' if markup => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// `text` inside a Graphviz double-quoted string: `\` and `"` escaped, on
/// one line, so it cannot end the string and add attributes or statements.
pub fn dot_string(text: &str) -> String {
    one_line(text).replace('\\', "\\\\").replace('"', "\\\"")
}

/// `text` inside a Mermaid `["..."]` label: quotes and markup as Mermaid's
/// entity codes (`#quot;`, `#lt;`, `#gt;`, `#35;` for `#`), on one line, so it
/// cannot end the label and add `click` callbacks, links or HTML.
pub fn mermaid_label(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in one_line(text).chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '#' => out.push_str("#35;"),
            c => out.push(c),
        }
    }
    out
}

/// A slash-separated path as the path of an RFC 3986 URI reference: each
/// segment percent-encoded but for unreserved characters, so `%`, space,
/// `#`, `?`, CR, LF and `:` (which in a first segment would read as a
/// scheme) are all encoded, and the slashes kept.
pub fn uri_path(path: &str) -> String {
    const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    path.split('/')
        .map(|segment| utf8_percent_encode(segment, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// JSON text to sit inside an HTML `<script type="application/json">`
/// element: `<`, `>` and `&` as JSON's `\u` escapes (valid only inside
/// strings, where JSON alone can hold them), so no `</script>` or `<!--`
/// can end or change the element; U+2028 and U+2029 too, which old
/// script parsers took for line ends. The text parses to the same value.
pub fn script_json(json: &str) -> Cow<'_, str> {
    let special = |c: char| matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}');
    if !json.chars().any(special) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 64);
    for c in json.chars() {
        match c {
            c if special(c) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_end_its_element() {
        let value =
            serde_json::json!({"name": "</script><script>alert(1)</script><!-- & \u{2028}"});
        let text = script_json(&value.to_string()).into_owned();
        for bad in ["<", ">", "&", "\u{2028}"] {
            assert!(!text.contains(bad), "{text}");
        }
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            value
        );
    }

    #[test]
    fn kubernetes_names() {
        assert!(is_dns1123_label("shop-1"));
        for bad in ["", "-a", "a-", "Shop", "a_b", "a.b", &"a".repeat(64)] {
            assert!(!is_dns1123_label(bad), "{bad}");
        }
        assert!(is_dns1123_subdomain("widgets.example.com"));
        assert!(!is_dns1123_subdomain("a..b"));
        assert!(!is_dns1123_subdomain("shop$(touch /tmp/x)"));
    }

    #[test]
    fn file_names_stay_in_their_directory() {
        assert_eq!(file_name("web-1.v2"), "web-1.v2");
        assert_eq!(file_name(".."), "%2E%2E");
        assert_eq!(file_name("."), "%2E");
        assert_eq!(file_name(""), "_");
        assert_eq!(file_name("../../etc/passwd"), "..%2F..%2Fetc%2Fpasswd");
        assert_eq!(file_name("a\0b\nc\x1b"), "a%00b%0Ac%1B");
        assert_eq!(file_name("a_b"), "a%5Fb");
        assert_eq!(file_name("100%"), "100%25");
        for hostile in [
            "..",
            "/",
            "a/../b",
            "x\0",
            "\u{202E}gpj.exe",
            "C:\\x",
            "~root",
        ] {
            let name = file_name(hostile);
            let path = std::path::Path::new(name.as_ref());
            let mut parts = path.components();
            assert!(
                matches!(parts.next(), Some(std::path::Component::Normal(_)))
                    && parts.next().is_none(),
                "{hostile:?} -> {name:?}"
            );
            assert!(!name.chars().any(|c| c.is_control() || c == '/'));
        }
        // Different names, different files.
        assert_ne!(file_name("a/b"), file_name("a%2Fb"));
        assert_ne!(file_name("a_b"), file_name("a%5Fb"));
        // Long names fit, and stay apart.
        let long = "a".repeat(253);
        let other = format!("{}b", "a".repeat(252));
        assert_eq!(file_name(&long).len(), MAX_FILE_NAME);
        assert!(file_name(&long).starts_with("aaaa"));
        assert_ne!(file_name(&long), file_name(&other));
        assert_eq!(file_name(&"/".repeat(100)).len(), MAX_FILE_NAME);
        assert_eq!(
            file_name(&"a".repeat(MAX_FILE_NAME)),
            "a".repeat(MAX_FILE_NAME)
        );
    }

    /// Runs `sh -c 'printf "%s\n" WORD'` and returns what the shell made of it.
    fn through_shell(word: &str) -> String {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf '%s' {}", shell_word(word)))
            .output()
            .expect("sh");
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn shell_words_are_taken_literally() {
        assert_eq!(shell_word("shop"), "shop");
        assert_eq!(
            shell_word("pod-security.kubernetes.io/enforce=baseline"),
            "pod-security.kubernetes.io/enforce=baseline"
        );
        let dir = tempfile::tempdir().unwrap();
        let canary = dir.path().join("x");
        for hostile in [
            format!("shop$(touch {})", canary.display()),
            format!("`touch {}`", canary.display()),
            format!("a'; touch {}; '", canary.display()),
            format!("a\ntouch {}", canary.display()),
            "".into(),
            "*".into(),
            "~".into(),
            "a b\tc".into(),
            "$HOME".into(),
            "'".into(),
            "\\".into(),
        ] {
            assert_eq!(through_shell(&hostile), hostile);
        }
        assert!(!canary.exists());
    }

    #[test]
    fn terminal_text_cannot_drive_the_terminal_or_the_ci_runner() {
        assert_eq!(terminal("plain\ttext\nnext"), "plain\ttext\nnext");
        assert_eq!(terminal("a\x1b]0;title\x07b"), "a\\u{1b}]0;title\\u{7}b");
        assert_eq!(terminal("ok\rFAKE"), "ok\\rFAKE");
        assert_eq!(terminal("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(terminal("x\u{202E}cod.exe"), "x\\u{202e}cod.exe");
        assert_eq!(
            terminal("name\n::set-output name=x::1"),
            "name\n\\u{3a}:set-output name=x::1"
        );
        assert_eq!(terminal("  ::add-mask::x"), "  \\u{3a}:add-mask::x");
        assert_eq!(terminal("a ##[error]x"), "a #\\u{23}[error]x");
        // Only at the start of a line.
        assert_eq!(terminal("a::b"), "a::b");
        assert_eq!(one_line("a\nb\tc"), "a\\nb\\tc");
        assert_eq!(one_line("::error::x"), "\\u{3a}:error::x");
        for hostile in ["\x1b[2J", "a\r\n::warning::x", "\u{7f}", "\u{85}"] {
            let safe = terminal(hostile);
            assert!(!safe.chars().any(|c| c.is_control() && c != '\n'));
            assert!(!safe.lines().any(|l| l.trim_start().starts_with("::")));
        }
    }

    #[test]
    fn xml_is_well_formed_for_any_text() {
        assert_eq!(xml("plain"), "plain");
        assert_eq!(
            xml("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;"
        );
        assert_eq!(xml("a\x1b\0b\u{FFFE}"), "a\\u{1b}\\0b\\u{fffe}");
        assert_eq!(xml("1\n2\r\t"), "1&#10;2&#13;&#9;");
    }

    #[test]
    fn markdown_cannot_break_out_of_its_cell() {
        assert_eq!(
            markdown_cell("a|b\n</details><img src=x>"),
            "a\\|b\\\\n&lt;/details&gt;&lt;img src=x&gt;"
        );
        assert_eq!(markdown_cell("[x](http://e)"), "\\[x\\](http://e)");
        assert_eq!(markdown_code("a`b|c<"), "<code>a`b\\|c&lt;</code>");
    }

    #[test]
    fn graph_labels_cannot_end_their_quotes() {
        assert_eq!(
            dot_string("a\"];\n\"x\" -> \"y\\"),
            "a\\\"];\\\\n\\\"x\\\" -> \\\"y\\\\"
        );
        assert_eq!(
            mermaid_label("x\"]\nclick v0 href \"javascript:alert(1)\"<b>#"),
            "x#quot;]\\nclick v0 href #quot;javascript:alert(1)#quot;#lt;b#gt;#35;"
        );
    }

    #[test]
    fn uri_paths_are_valid_uri_references() {
        assert_eq!(uri_path("deploy/web.yaml"), "deploy/web.yaml");
        assert_eq!(
            uri_path("c:x/100% a#b?c\r\n.yaml"),
            "c%3Ax/100%25%20a%23b%3Fc%0D%0A.yaml"
        );
        assert_eq!(uri_path("café.yaml"), "caf%C3%A9.yaml");
        assert_eq!(uri_path("/abs/x"), "/abs/x");
    }
}
