//! The writers' escaping (`corral_core::safe`) on any text: what it returns
//! can never break out of where it is written.
#![no_main]

use std::path::{Component, Path};

use corral_core::safe;
use libfuzzer_sys::fuzz_target;

fn no_command_line(text: &str) {
    assert!(!text.contains("##["), "{text:?}");
    for line in text.split('\n') {
        assert!(
            !line.trim_start_matches([' ', '\t']).starts_with("::"),
            "{line:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    let terminal = safe::terminal(&text);
    assert!(!terminal
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t'));
    no_command_line(&terminal);
    let line = safe::one_line(&text);
    assert!(!line.chars().any(char::is_control));
    no_command_line(&line);

    // One plain component: never `.`, `..`, a separator or a control character.
    let name = safe::file_name(&text);
    let mut parts = Path::new(name.as_ref()).components();
    assert!(matches!(parts.next(), Some(Component::Normal(_))) && parts.next().is_none());
    assert!(name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-.%_".contains(&b)));
    assert!(name.len() <= safe::MAX_FILE_NAME);

    // Plain, or one single-quoted word whose quotes are all `'\''`.
    let word = safe::shell_word(&text);
    if word != text {
        let inner = word
            .strip_prefix('\'')
            .and_then(|w| w.strip_suffix('\''))
            .unwrap();
        assert!(!inner.replace(r"'\''", "").contains('\''));
    } else {
        assert!(
            !text.is_empty()
                && text
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./=:@%+,".contains(&b))
        );
    }

    // XML 1.0 characters only, and markup only as entities.
    let xml = safe::xml(&text);
    assert!(!xml.chars().any(
        |c| matches!(c, '<' | '>' | '"' | '\'' | '\u{FFFE}' | '\u{FFFF}')
            || (c.is_control() && c != '\u{7f}' && !('\u{80}'..='\u{9f}').contains(&c))
    ));
    for (at, _) in xml.match_indices('&') {
        let entity = &xml[at..];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#9;", "&#10;", "&#13;"]
                .iter()
                .any(|e| entity.starts_with(e))
        );
    }

    // A table cell: one line, no unescaped `|`, no markup.
    let cell = safe::markdown_cell(&text);
    assert!(!cell.contains('\n') && !cell.contains('<'));
    let bytes = cell.as_bytes();
    for (at, b) in bytes.iter().enumerate() {
        if *b == b'|' {
            let backslashes = bytes[..at]
                .iter()
                .rev()
                .take_while(|&&c| c == b'\\')
                .count();
            assert!(backslashes % 2 == 1, "{cell}");
        }
    }

    // An RFC 3986 path: unreserved characters, `/` and `%XX` only.
    let uri = safe::uri_path(&text);
    let ub = uri.as_bytes();
    let mut i = 0;
    while i < ub.len() {
        if ub[i] == b'%' {
            assert!(ub[i + 1].is_ascii_hexdigit() && ub[i + 2].is_ascii_hexdigit());
            i += 3;
        } else {
            assert!(ub[i].is_ascii_alphanumeric() || b"-._~/".contains(&ub[i]));
            i += 1;
        }
    }

    // Graph labels: quotes cannot end them, and they stay on one line.
    let dot = safe::dot_string(&text);
    let db = dot.as_bytes();
    for (at, b) in db.iter().enumerate() {
        if *b == b'"' {
            let backslashes = db[..at].iter().rev().take_while(|&&c| c == b'\\').count();
            assert!(backslashes % 2 == 1, "{dot}");
        }
    }
    assert!(!dot.contains('\n'));
    let mermaid = safe::mermaid_label(&text);
    assert!(!mermaid.contains(['"', '\n', '<', '>']));

    // JSON in an HTML script element: nothing that ends or changes the
    // element, and the same value read back.
    let value = serde_json::json!({ "name": text, "names": [text, text] });
    let json = safe::script_json(&value.to_string()).into_owned();
    assert!(!json.contains(['<', '>', '&', '\u{2028}', '\u{2029}']));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&json).unwrap(),
        value
    );
});
